"""Where the application's imports are rooted.

An application started from a sub-folder (`cd backend && uvicorn app.main:app`, a Dockerfile
`WORKDIR`, a `sys.path.insert(0, ...)` in its entry module) imports its own modules under names
the repository layout does not show. These folders are detected, once per project, from:

- `sys.path.insert/append/extend` and `site.addsitedir` calls whose folder can be computed from
  the file's own text (static_paths.py), in the Python files that mention them;
- server targets (`uvicorn`/`gunicorn`/`hypercorn`/`granian`/`daphne` `module:app`, `fastapi
  run|dev`, `python -m module`, `--app-dir`) in Dockerfiles, compose files, Procfiles, Makefiles,
  justfiles, shell scripts, `pyproject.toml` scripts (launchers.py) and in `uvicorn.run(...)`
  calls; a target only counts when its module exists in the folder it names, so a folder is
  kept only when the application really imports from it;
- folders without `__init__.py` whose modules import each other by bare name (a flat service
  folder: `deploy/server.py` doing `from auth import ...` next to `deploy/auth.py`).

Each root has a placement: FIRST roots are tried before the project root (the working folder
of a server, an inserted folder, `source-roots`), LAST roots after every other base (appended
folders), INSIDE roots first but only for the modules under them (a script's own folder, a flat
folder), since only those run with it on `sys.path`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.launchers import Launch, Target, launches_in
from async_pitfalls_lint.static_paths import read_module

FIRST = "first"
LAST = "last"
INSIDE = "inside"
_PLACEMENT_RANK = {INSIDE: 0, LAST: 1, FIRST: 2}  # a folder found twice keeps the widest
MAX_LAUNCH_FILE_BYTES = 256 * 1024
MAX_SCANNED_MODULE_BYTES = 1024 * 1024
# What `fastapi run` imports when it is given no path (fastapi-cli's defaults, in order).
FASTAPI_DEFAULT_FILES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")


@dataclass(frozen=True)
class SourceRoot:
    """A folder imports are resolved from, and why."""

    folder: str  # absolute
    placement: str  # FIRST, LAST or INSIDE
    origin: str  # "detected" or "configured"
    reason: str  # "Dockerfile:12: uvicorn app.main:app"


ROOTS_CODEC: Codec[list[SourceRoot]] = Codec("roots", list[SourceRoot])


class ProjectView(Protocol):
    """What detection needs from a project (project.Project provides it)."""

    root: str

    def python_files(self) -> list[str]: ...

    def launch_files(self) -> list[str]: ...

    def read_bytes(self, path: str) -> bytes | None: ...

    def launch_hint(self, path: str) -> bool: ...

    def top_imports(self, path: str) -> frozenset[str]: ...

    def display(self, path: str) -> str: ...


def configured_roots(folders: tuple[str, ...], root: str, source: str) -> list[SourceRoot]:
    where = os.path.basename(source) if source else "configuration"
    return [
        SourceRoot(
            os.path.normpath(os.path.join(root, folder)),
            FIRST,
            "configured",
            f"source-roots in {where}",
        )
        for folder in folders
    ]


def detect_roots(project: ProjectView) -> list[SourceRoot]:
    """Every folder the application imports from besides the project root and src/."""
    return _Detector(project).run()


class _Detector:
    def __init__(self, project: ProjectView) -> None:
        self.project = project
        self.root = os.path.abspath(project.root)
        self.found: dict[str, SourceRoot] = {}
        self._files: dict[str, bool] = {}
        self._holders: set[str] | None = None

    def run(self) -> list[SourceRoot]:
        for root in (*self._from_python(), *self._from_launch_files(), *self._flat_folders()):
            self._keep(root)
        order = list(self.found.values())
        return sorted(order, key=lambda root: -_PLACEMENT_RANK[root.placement])

    def _keep(self, candidate: SourceRoot) -> None:
        if not self._usable(candidate.folder):
            return
        known = self.found.get(candidate.folder)
        if known is None or _PLACEMENT_RANK[candidate.placement] > _PLACEMENT_RANK[known.placement]:
            self.found[candidate.folder] = candidate

    def _usable(self, folder: str) -> bool:
        """Inside the project, not the root or src/ (always bases), and holding project
        modules (which excludes site-packages, virtualenvs and ignored folders)."""
        if folder in (self.root, os.path.join(self.root, "src")):
            return False
        if not folder.startswith(self.root + os.sep):
            return False
        if self._holders is None:
            self._holders = set()
            for path in self.project.python_files():
                folder_of = os.path.dirname(path)
                while folder_of.startswith(self.root + os.sep) and folder_of not in self._holders:
                    self._holders.add(folder_of)
                    folder_of = os.path.dirname(folder_of)
        return folder in self._holders

    def _is_file(self, path: str) -> bool:
        known = self._files.get(path)
        if known is None:
            known = os.path.isfile(path)
            self._files[path] = known
        return known

    # -- Python files ---------------------------------------------------------------------------
    def _from_python(self) -> Iterator[SourceRoot]:
        for path in self.project.python_files():
            if not self.project.launch_hint(path):
                continue
            data = self.project.read_bytes(path)
            if data is None or len(data) > MAX_SCANNED_MODULE_BYTES:
                continue
            try:
                edits, servers = read_module(data, path, self.root)
            except Exception:  # detection is best effort: one odd file must not end the run
                continue
            own_folder = os.path.dirname(path)
            where = self.project.display(path)
            for edit in edits:
                placement = INSIDE if edit.folder == own_folder else (FIRST if edit.first else LAST)
                yield SourceRoot(
                    edit.folder, placement, "detected", f"{where}:{edit.line}: {edit.how}"
                )
            for server in servers:
                target = Target(
                    f'{server.how}("{server.target}")', module=server.target.split(":", 1)[0]
                )
                cwds = (
                    [server.app_dir] if server.app_dir is not None else self._folders_up(own_folder)
                )
                folder = self._resolve(Launch(target, tuple(cwds), path, server.line))
                if folder is not None:
                    placement = INSIDE if folder == own_folder else FIRST
                    yield SourceRoot(
                        folder, placement, "detected", f"{where}:{server.line}: {target.text}"
                    )

    def _folders_up(self, folder: str) -> list[str]:
        """A script's folder and the folders above it, up to the project root: where a
        `python path/to/run.py` may have been started from."""
        folders = []
        while folder == self.root or folder.startswith(self.root + os.sep):
            folders.append(folder)
            if folder == self.root:
                break
            folder = os.path.dirname(folder)
        return folders

    # -- launch files ---------------------------------------------------------------------------
    def _from_launch_files(self) -> Iterator[SourceRoot]:
        for path in self.project.launch_files():
            text = self._read_small(path)
            if text is None:
                continue
            where = self.project.display(path)
            try:
                launches = launches_in(path, text, self.root, os.path.exists)
            except Exception:  # detection is best effort: one odd file must not end the run
                continue
            for launch in launches:
                folder = self._resolve(launch)
                if folder is not None:
                    line = f":{launch.line}" if launch.line else ""
                    yield SourceRoot(
                        folder, FIRST, "detected", f"{where}{line}: {launch.target.text}"
                    )

    def _read_small(self, path: str) -> str | None:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_LAUNCH_FILE_BYTES + 1)
        except OSError:
            return None
        if len(data) > MAX_LAUNCH_FILE_BYTES:
            return None
        return data.decode("utf-8", errors="replace")

    def _resolve(self, launch: Launch) -> str | None:
        """The folder the target's module is imported from: for the first candidate working
        folder where the module exists (None when it exists in none of them)."""
        for cwd in launch.cwds:
            if not (cwd == self.root or cwd.startswith(self.root + os.sep)):
                continue
            folder = self.import_folder(launch.target, cwd)
            if folder is not None:
                return folder
        return None

    def import_folder(self, target: Target, cwd: str) -> str | None:
        base = os.path.normpath(os.path.join(cwd, target.app_dir)) if target.app_dir else cwd
        if target.module is not None:
            extra = (os.path.normpath(os.path.join(cwd, folder)) for folder in target.python_path)
            for folder in (base, *extra):
                if self._module_in(folder, target.module):
                    return folder
            return None
        names: tuple[str, ...] = (target.file,) if target.file is not None else ()
        if target.default_files:
            names = FASTAPI_DEFAULT_FILES
        for name in names:
            path = os.path.normpath(os.path.join(base, name))
            if path.endswith(".py") and self._is_file(path):
                return self._package_root(path)
        return None

    def _module_in(self, folder: str, dotted: str) -> bool:
        path = os.path.join(folder, *dotted.split("."))
        return (
            self._is_file(path + ".py")
            or self._is_file(os.path.join(path, "__init__.py"))
            or self._is_file(os.path.join(path, "__main__.py"))
        )

    def _package_root(self, path: str) -> str:
        """The folder `fastapi run path/to/main.py` puts on sys.path: the first one up from
        the file that is not a package."""
        folder = os.path.dirname(path)
        while folder != self.root and self._is_file(os.path.join(folder, "__init__.py")):
            folder = os.path.dirname(folder)
        return folder

    # -- flat folders ---------------------------------------------------------------------------
    def _flat_folders(self) -> Iterator[SourceRoot]:
        by_folder: dict[str, list[str]] = {}
        for path in self.project.python_files():
            by_folder.setdefault(os.path.dirname(path), []).append(path)
        for folder, files in by_folder.items():
            if len(files) < 2 or folder in (self.root, os.path.join(self.root, "src")):
                continue
            if self._is_file(os.path.join(folder, "__init__.py")):
                continue
            sibling = self._sibling_import(folder, files)
            if sibling is not None:
                path, name = sibling
                reason = f"{self.project.display(path)} imports {name} from its own folder"
                yield SourceRoot(folder, INSIDE, "detected", reason)

    def _sibling_import(self, folder: str, files: list[str]) -> tuple[str, str] | None:
        stems = {os.path.basename(path)[:-3] for path in files if path.endswith(".py")}
        for path in files:
            own = os.path.basename(path)[:-3]
            for name in sorted(self.project.top_imports(path)):
                if name == own:
                    continue
                if name in stems or self._is_file(os.path.join(folder, name, "__init__.py")):
                    return path, name
        return None


def placement_lists(
    roots: list[SourceRoot],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(first, last, inside) folders, each in detection order."""
    first = tuple(root.folder for root in roots if root.placement == FIRST)
    last = tuple(root.folder for root in roots if root.placement == LAST)
    inside = tuple(root.folder for root in roots if root.placement == INSIDE)
    return first, last, inside
