"""Finding the Python files of a tree: default excludes, configured excludes and .gitignore."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from async_pitfalls_lint.config import DEFAULT_EXCLUDES
from async_pitfalls_lint.launchers import launch_kind

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool


def display_path(path: Path | str) -> str:
    """How reports show a path: relative to the working folder ('/' separated) when inside it,
    absolute otherwise, so every path of a report resolves the same way."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.getcwd())
    return absolute if relative.startswith("..") else relative.replace(os.sep, "/")


def _glob_to_regex(glob: str) -> str:
    """Translate one gitignore glob (with `**`) into a regex over '/'-separated paths."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "*":
            if glob[index : index + 2] == "**":
                index += 2
                if glob[index : index + 1] == "/":
                    index += 1
                    parts.append("(?:.*/)?")
                else:
                    parts.append(".*")
                continue
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                parts.append(re.escape(char))
            else:
                body = glob[index + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                parts.append(f"[{body}]")
                index = end
        elif char == "\\" and index + 1 < len(glob):
            index += 1
            parts.append(re.escape(glob[index]))
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def parse_gitignore(lines: Iterable[str]) -> list[_Rule]:
    rules = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        line = line.rstrip(" ")
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _glob_to_regex(line)
        pattern = f"^{body}(?:/.*)?$" if anchored else f"^(?:.*/)?{body}(?:/.*)?$"
        rules.append(_Rule(re.compile(pattern, re.DOTALL), negated, directory_only))
    return rules


class IgnoreRules:
    """The .gitignore files met on the way down a tree, each applying below its folder."""

    def __init__(self) -> None:
        self._by_folder: dict[str, list[_Rule]] = {}

    def load(self, folder: str) -> None:
        path = os.path.join(folder, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                rules = parse_gitignore(handle)
        except OSError:
            return
        if rules:
            self._by_folder[folder] = rules

    def ignored(self, path: str, is_dir: bool) -> bool:
        result = False
        for folder, rules in self._by_folder.items():
            if not (path == folder or path.startswith(folder + os.sep)):
                continue
            if path == folder:
                continue
            # Both are absolute and normalised: slicing is relpath without its cost.
            relative = path[len(folder) + 1 :].replace(os.sep, "/")
            for rule in rules:
                if rule.directory_only and not is_dir and "/" not in relative:
                    continue
                if rule.regex.match(relative):
                    result = not rule.negated
        return result


def _excluded_name(name: str, patterns: Iterable[str]) -> bool:
    return _exclusion(tuple(patterns)).match(name) is not None


@functools.cache
def _exclusion(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a list of globs (fnmatchcase semantics): one match per walked entry."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


def is_virtualenv(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def iter_python_files(
    roots: Iterable[Path],
    exclude: Iterable[str] = (),
    use_gitignore: bool = True,
    suffixes: tuple[str, ...] = PYTHON_SUFFIXES,
) -> Iterator[Path]:
    """Python files under each root (files given directly are always yielded), sorted, once."""
    excludes = (*DEFAULT_EXCLUDES, *exclude)
    seen: set[str] = set()
    for root in roots:
        if root.is_file() or not root.exists():
            key = os.path.abspath(root)
            if key not in seen:
                seen.add(key)
                yield root
            continue
        absolute = os.path.abspath(root)
        # Walked paths start with the absolute root: slicing is relpath without its cost.
        prefix = len(absolute if absolute.endswith(os.sep) else absolute + os.sep)
        for path in _walked(absolute, excludes, use_gitignore, suffixes):
            if path not in seen:
                seen.add(path)
                yield root / path[prefix:]


def python_file_paths(root: str, exclude: Iterable[str] = ()) -> list[str]:
    """The absolute paths of the Python (`.py`) files under a folder, sorted as walked."""
    walked = _walked(os.path.abspath(root), (*DEFAULT_EXCLUDES, *exclude), True, PYTHON_SUFFIXES)
    return [path for path in walked if path.endswith(".py")]


_WalkKey = tuple[str, tuple[str, ...], bool, tuple[str, ...]]
_WALKS: dict[_WalkKey, list[str]] = {}
_LAUNCH_FILES: dict[_WalkKey, list[str]] = {}


def _walked(
    root: str, excludes: tuple[str, ...], use_gitignore: bool, suffixes: tuple[str, ...]
) -> list[str]:
    """Every Python file under a folder, walked once per process (the CLI's walk and the
    project's own scan are usually the same folder). The same walk notes the files that
    start the application (Dockerfiles, Procfiles, ...: see launchers.py)."""
    key = (root, excludes, use_gitignore, suffixes)
    known = _WALKS.get(key)
    if known is None:
        ignore = IgnoreRules()
        if use_gitignore:
            for parent in _enclosing_repository_folders(root):
                ignore.load(parent)
        launch: list[str] = []
        known = list(_walk(root, excludes, ignore, use_gitignore, suffixes, set(), launch))
        _WALKS[key] = known
        _LAUNCH_FILES[key] = launch
    return known


def iter_launch_files(root: Path, exclude: Iterable[str] = ()) -> list[str]:
    """The files under `root` that may say how the application is started, found by the
    same walk (and with the same excludes) as its Python files."""
    key = (os.path.abspath(root), (*DEFAULT_EXCLUDES, *exclude), True, PYTHON_SUFFIXES)
    _walked(*key)
    return list(_LAUNCH_FILES.get(key, []))


def _enclosing_repository_folders(root: str) -> list[str]:
    """The folders above `root` whose .gitignore applies to it: up to the enclosing git
    repository's top, outermost first (none when `root` is not inside a repository)."""
    if os.path.exists(os.path.join(root, ".git")):
        return []
    folders = []
    for parent in Path(root).parents:
        folders.append(os.fspath(parent))
        if (parent / ".git").exists():
            return list(reversed(folders))
    return []


def clear_walk_cache() -> None:
    """Forget walked folders (tests, long-lived processes after files were added)."""
    _WALKS.clear()
    _LAUNCH_FILES.clear()


def _may_read(entry: os.DirEntry[str]) -> bool:
    """Whether a walked entry should be read: a regular file, or a symlink that leads nowhere
    (dangling, or a loop), which is then reported as unreadable. FIFOs, sockets and devices
    named `*.py` are skipped: reading one could block forever or never end."""
    try:
        if entry.is_file():
            return True
        if not entry.is_symlink():
            return False
        os.stat(entry.path)
    except OSError:
        return True
    return False


def _walk(
    root: str,
    excludes: tuple[str, ...],
    ignore: IgnoreRules,
    use_gitignore: bool,
    suffixes: tuple[str, ...],
    seen: set[str],
    launch: list[str],
) -> Iterator[str]:
    """Absolute paths of the files under `root` with one of `suffixes`, in sorted order."""
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
        except OSError:
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in visited:  # symlink loops
            continue
        visited.add(identity)
        if use_gitignore:
            ignore.load(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            name = entry.name
            full = entry.path  # absolute: the walk starts at an absolute, normalised folder
            try:
                is_dir = entry.is_dir()
            except OSError:  # a symlink loop: kept as a file, reported as unreadable
                is_dir = False
            if _excluded_name(name, excludes) or (use_gitignore and ignore.ignored(full, is_dir)):
                continue
            if is_dir:
                if not is_virtualenv(entry.path):
                    subfolders.append(entry.path)
            elif name.endswith(suffixes) and full not in seen and _may_read(entry):
                seen.add(full)
                yield full
            elif launch_kind(name) is not None and entry.is_file():
                launch.append(full)
        stack.extend(reversed(subfolders))
