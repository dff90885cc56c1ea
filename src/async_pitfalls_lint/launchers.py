"""How the application is started: server targets read from the files that start it.

Dockerfiles, docker-compose files, Procfiles, Makefiles, justfiles, shell scripts and
`pyproject.toml` scripts name the module a server imports (`uvicorn app.main:app`, `fastapi run
app/main.py`, `gunicorn -k uvicorn.workers.UvicornWorker main:app`, `python -m app.main`) and,
more or less directly, the folder it is started from (`WORKDIR`, `working_dir`, `cd backend &&`,
`--app-dir`). Each command becomes a `Launch`: the target and the folders of the repository that
may be that working folder, the most likely first. Which one is right is decided by the caller,
by looking for the target's module in each (roots.py). The only disk access is checking that
the files a Dockerfile copies exist, to find its build context and where they land.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from async_pitfalls_lint._toml import TOMLDecodeError, load_toml_bytes

SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "daphne")
_TARGET = re.compile(
    r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(.*\))?$"
)
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)?)?$")
_FOLDER_OPTIONS = {"--app-dir": "app_dir", "--chdir": "app_dir", "--working-dir": "app_dir"}
_PATH_OPTIONS = {"--pythonpath": "python_path"}
_FASTAPI_VALUED = {
    "--host", "--port", "--workers", "--root-path", "--app", "--forwarded-allow-ips",
    "--entrypoint", "-e", "--reload-dir",
}  # fmt: skip
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)=(.*)$", re.DOTALL)
_EXPANSION = re.compile(r"\$\{([A-Za-z_]\w*)(?::?-([^}]*))?\}|\$([A-Za-z_]\w*)")
_SCRIPT_DIR = "\x00script-dir\x00"
_SCRIPT_DIR_FORMS = re.compile(
    r"""\$\(\s*cd\s+"?\$\(\s*dirname\s+(?:--\s+)?"?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\}|BASH_SOURCE)"?\s*\)"?\s*(?:&&|;)\s*pwd(?:\s+-P)?\s*\)"""
    r"""|\$\(\s*dirname\s+(?:--\s+)?"?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\}|BASH_SOURCE)"?\s*\)"""
    r"""|\$\{0%/\*\}"""
)
_SHELLS = ("sh", "bash", "dash", "zsh", "ash")


@dataclass(frozen=True)
class Target:
    """What a server is asked to import, relative to the folder it is started from."""

    text: str  # shown to the user: "uvicorn app.main:app"
    module: str | None = None  # "app.main"
    file: str | None = None  # `fastapi run PATH`
    default_files: bool = False  # `fastapi run` without a path: main.py, app/main.py, ...
    app_dir: str | None = None  # --app-dir, gunicorn --chdir, granian --working-dir
    python_path: tuple[str, ...] = ()  # gunicorn --pythonpath


@dataclass(frozen=True)
class Launch:
    target: Target
    cwds: tuple[str, ...]  # absolute folders that may be the working folder, likeliest first
    path: str  # the file that says so
    line: int


# -- file kinds ------------------------------------------------------------------------------------
def launch_kind(name: str) -> str | None:
    """Which reader a file name calls for (None for files that do not start applications)."""
    lower = name.lower()
    if lower in ("dockerfile", "containerfile") or lower.endswith(
        (".dockerfile", ".containerfile")
    ):
        return "dockerfile"
    if lower.startswith(("dockerfile.", "containerfile.")):
        return "dockerfile"
    if lower == "procfile" or lower.startswith("procfile."):
        return "procfile"
    if lower.endswith((".yml", ".yaml")) and (
        lower.startswith(("docker-compose", "compose")) or ".compose." in lower
    ):
        return "compose"
    if lower in ("makefile", "gnumakefile") or lower.endswith(".mk"):
        return "makefile"
    if lower in ("justfile", ".justfile"):
        return "justfile"
    if lower.endswith((".sh", ".bash")):
        return "shell"
    if lower == "pyproject.toml":
        return "pyproject"
    return None


def launches_in(path: str, text: str, root: str, exists: Callable[[str], bool]) -> list[Launch]:
    """Every server target `path` starts, with its candidate working folders."""
    kind = launch_kind(os.path.basename(path))
    folder = os.path.dirname(os.path.abspath(path))
    if kind == "dockerfile":
        return _Dockerfile(path, root, exists).read(text)
    if kind == "compose":
        return _compose(path, text, root)
    if kind == "procfile":
        return _lines(path, text, root, [folder], _procfile_command)
    if kind in ("makefile", "justfile"):
        return _lines(path, text, root, [folder], _recipe_command)
    if kind == "shell":
        shell = _Shell(path, root, [folder, root], script_dir=folder)
        return list(shell.run_script(text))
    if kind == "pyproject":
        return _pyproject(path, text)
    return []


# -- commands --------------------------------------------------------------------------------------
def targets_in_words(words: list[str]) -> list[Target]:
    """The server target of one simple command (wrappers such as `uv run`, `poetry run`,
    `exec`, `opentelemetry-instrument` and environment assignments are looked through)."""
    for index, word in enumerate(words):
        name = posixpath.basename(word)
        if name in SERVERS:
            target = _server_target(name, words[index + 1 :])
            return [target] if target is not None else []
        if name == "fastapi":
            target = _fastapi_target(words[index + 1 :])
            return [target] if target is not None else []
        if _PYTHON.match(name) and index + 2 < len(words) and words[index + 1] == "-m":
            module = words[index + 2]
            if module in SERVERS:
                target = _server_target(module, words[index + 3 :])
                return [target] if target is not None else []
            if module == "fastapi":
                target = _fastapi_target(words[index + 3 :])
                return [target] if target is not None else []
            if _MODULE.match(module):
                return [Target(f"python -m {module}", module=module)]
            return []
    return []


def _server_target(server: str, arguments: list[str]) -> Target | None:
    options: dict[str, Any] = {"app_dir": None, "python_path": ()}
    found: str | None = None
    folder_option = ""
    index = 0
    while index < len(arguments):
        word = arguments[index]
        option, _, inline = word.partition("=")
        field_name = _FOLDER_OPTIONS.get(option) or _PATH_OPTIONS.get(option)
        if field_name is not None:
            value = (
                inline if inline else (arguments[index + 1] if index + 1 < len(arguments) else "")
            )
            index += 1 if inline else 2
            if field_name == "python_path":
                options["python_path"] = (*options["python_path"], *value.split(","))
            else:
                options["app_dir"] = value
                folder_option = f"{option} {value}"
            continue
        match = _TARGET.match(word)
        if found is None and match is not None and not word.startswith("-"):
            found = word
        index += 1
    if found is None:
        return None
    module = found.split(":", 1)[0]
    shown = " ".join(part for part in (server, folder_option, found) if part)
    return Target(shown, module=module, **options)


def _fastapi_target(arguments: list[str]) -> Target | None:
    words = iter(arguments)
    command = next((word for word in words if not word.startswith("-")), None)
    if command not in ("run", "dev"):
        return None
    path: str | None = None
    rest = list(words)
    index = 0
    while index < len(rest):
        word = rest[index]
        option, _, inline = word.partition("=")
        if option in ("--entrypoint", "-e"):
            value = inline or (rest[index + 1] if index + 1 < len(rest) else "")
            if _TARGET.match(value) or _MODULE.match(value):
                module = value.split(":", 1)[0]
                return Target(f"fastapi {command} --entrypoint {value}", module=module)
            return None
        if word.startswith("-"):
            index += 1 if inline or option not in _FASTAPI_VALUED else 2
            continue
        if path is None:
            path = word
        index += 1
    if path is None:
        return Target(f"fastapi {command}", default_files=True)
    if "$" in path:
        return None
    return Target(f"fastapi {command} {path}", file=path)


class _Shell:
    """Commands run one after the other in one shell: `cd` moves every candidate folder."""

    def __init__(
        self,
        path: str,
        root: str,
        cwds: list[str],
        script_dir: str | None = None,
        absolute: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.path = path
        self.root = root
        self.start = list(cwds)
        self.cwds = list(cwds)
        self.script_dir = script_dir
        self.absolute = absolute or self._inside_root
        self.variables: dict[str, str] = {}

    def _inside_root(self, folder: str) -> list[str]:
        folder = os.path.normpath(folder)
        inside = folder == self.root or folder.startswith(self.root + os.sep)
        return [folder] if inside else []

    def run_script(self, text: str) -> Iterator[Launch]:
        for number, line in _logical_lines(text):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            yield from self.run(stripped, number)

    def run(self, line: str, number: int) -> Iterator[Launch]:
        for command in split_commands(_SCRIPT_DIR_FORMS.sub(_SCRIPT_DIR, line)):
            words = self._words(command)
            if not words:
                continue
            if all(_ASSIGNMENT.match(word) for word in words):
                for word in words:
                    match = _ASSIGNMENT.match(word)
                    assert match is not None
                    self.variables[match.group(1)] = match.group(2)
                continue
            while words and _ASSIGNMENT.match(words[0]):
                words = words[1:]
            if words and words[0] in ("cd", "pushd"):
                self._cd(words[1] if len(words) > 1 else None)
                continue
            for target in targets_in_words(words):
                yield Launch(target, tuple(dict.fromkeys(self.cwds)), self.path, number)
            if (
                words[0] in _SHELLS
                and len(words) > 2
                and words[1].startswith("-")
                and "c" in words[1]
            ):
                yield from self.run(words[2], number)

    def _words(self, command: str) -> list[str]:
        expanded = _EXPANSION.sub(self._expand, command)
        return _split_words(expanded.split(" #", 1)[0])

    def _expand(self, match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        known = self.variables.get(name)
        if known is not None:
            return known
        default = match.group(2)
        return default if default is not None else match.group(0)

    def _cd(self, argument: str | None) -> None:
        if argument is None or argument in ("-", "~") or "$" in argument or "`" in argument:
            self.cwds = list(self.start)  # somewhere we cannot know: fall back to the guesses
            return
        if argument.startswith(_SCRIPT_DIR):
            if self.script_dir is None:
                self.cwds = list(self.start)
                return
            rest = argument[len(_SCRIPT_DIR) :].lstrip("/")
            self.cwds = [os.path.normpath(os.path.join(self.script_dir, rest))]
            return
        if argument.startswith("~"):
            self.cwds = list(self.start)
            return
        if posixpath.isabs(argument):
            self.cwds = self.absolute(argument) or list(self.start)
            return
        self.cwds = [os.path.normpath(os.path.join(cwd, argument)) for cwd in self.cwds]


def split_commands(line: str) -> list[str]:
    """A shell line split at `&&`, `||`, `;`, `|` and `&`, outside quotes and `$(...)`."""
    commands: list[str] = []
    current: list[str] = []
    quote: str | None = None
    depth = 0
    index = 0
    while index < len(line):
        char = line[index]
        if quote is not None:
            if char == "\\" and quote == '"' and index + 1 < len(line):
                current.append(line[index : index + 2])
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "\\" and index + 1 < len(line):
            current.append(line[index : index + 2])
            index += 2
            continue
        elif line.startswith("$(", index):
            depth += 1
            current.append("$(")
            index += 2
            continue
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0 and char in ";|&":
            commands.append("".join(current))
            current = []
            while index + 1 < len(line) and line[index + 1] in "|&":
                index += 1
            index += 1
            continue
        current.append(char)
        index += 1
    commands.append("".join(current))
    return [command.strip() for command in commands if command.strip()]


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered by their first physical line;
    comment lines are dropped, also inside a continuation (as Docker does)."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("#"):
            continue
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _lines(
    path: str,
    text: str,
    root: str,
    cwds: list[str],
    command_of: Callable[[str], str | None],
) -> list[Launch]:
    """Files whose every command runs in a fresh shell in the file's folder."""
    launches: list[Launch] = []
    for number, line in _logical_lines(text):
        command = command_of(line)
        if command:
            shell = _Shell(path, root, cwds, script_dir=os.path.dirname(os.path.abspath(path)))
            launches.extend(shell.run(command, number))
    return launches


def _procfile_command(line: str) -> str | None:
    name, separator, command = line.partition(":")
    if not separator or not re.match(r"^[\w-]+$", name.strip()):
        return None
    return command.strip()


def _recipe_command(line: str) -> str | None:
    """A Makefile or justfile recipe line (indented), without its `@`/`-` prefixes."""
    if not line[:1].isspace():
        return None
    return line.strip().lstrip("@-+ ").strip() or None


# -- Dockerfiles -----------------------------------------------------------------------------------
@dataclass
class _Stage:
    workdir: str | None = "/"
    copies: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # (sources, dest)
    entrypoint: list[str] | None = None


class _Dockerfile:
    def __init__(self, path: str, root: str, exists: Callable[[str], bool]) -> None:
        self.path = os.path.abspath(path)
        self.root = root
        self.exists = exists
        self.folder = os.path.dirname(self.path)

    def read(self, text: str) -> list[Launch]:
        stages: dict[str, _Stage] = {}
        stage = _Stage()
        commands: list[tuple[int, str, list[str] | str, _Stage]] = []
        for number, line in _logical_lines(text):
            instruction, _, rest = line.strip().partition(" ")
            keyword = instruction.upper()
            rest = rest.strip()
            if keyword == "FROM":
                stage = self._from(rest, stages)
            elif keyword == "WORKDIR":
                stage.workdir = _join_container(stage.workdir, rest)
            elif keyword in ("COPY", "ADD"):
                self._copy(stage, rest)
            elif keyword in ("CMD", "ENTRYPOINT"):
                command = _exec_form(rest)
                if keyword == "ENTRYPOINT":
                    stage.entrypoint = command if isinstance(command, list) else None
                elif isinstance(command, list) and stage.entrypoint:
                    commands.append((number, keyword, stage.entrypoint + command, _snapshot(stage)))
                commands.append((number, keyword, command, _snapshot(stage)))
        context = self._context([source for _, _, _, s in commands for source in _sources(s)])
        launches: list[Launch] = []
        for number, _keyword, command, snapshot in commands:
            launches.extend(self._launches(number, command, snapshot, context))
        return launches

    def _from(self, rest: str, stages: dict[str, _Stage]) -> _Stage:
        words = [word for word in rest.split() if not word.startswith("--")]
        base = stages.get(words[0].lower()) if words else None
        stage = _snapshot(base) if base is not None else _Stage()
        if len(words) >= 3 and words[1].lower() == "as":
            stages[words[2].lower()] = stage
        return stage

    def _copy(self, stage: _Stage, rest: str) -> None:
        form = _exec_form(rest)
        words = form if isinstance(form, list) else _split_words(form)
        flags = [word for word in words if word.startswith("--")]
        arguments = [word for word in words if not word.startswith("--")]
        if any(flag.startswith("--from") for flag in flags) or len(arguments) < 2:
            return
        dest = _join_container(stage.workdir, arguments[-1])
        if dest is None:
            return
        if arguments[-1].endswith("/") or arguments[-1] in (".", "./"):
            dest = dest.rstrip("/") + "/"
        stage.copies.append((tuple(arguments[:-1]), dest))

    def _context(self, sources: list[str]) -> str:
        """The build context: the nearest folder (the Dockerfile's, then its parents up to the
        project root) where the files the Dockerfile copies exist."""
        candidates = []
        folder = self.folder
        while True:
            candidates.append(folder)
            if folder == self.root or not folder.startswith(self.root + os.sep):
                break
            folder = os.path.dirname(folder)
        plain = [source for source in sources if not re.search(r"[*?\[$]", source)]
        if not plain:
            return self.folder
        best, best_score = self.folder, -1
        for candidate in candidates:
            score = sum(1 for source in plain if self.exists(os.path.join(candidate, source)))
            if score == len(plain):
                return candidate
            if score > best_score:
                best, best_score = candidate, score
        return best

    def _launches(
        self, number: int, command: list[str] | str, stage: _Stage, context: str
    ) -> Iterator[Launch]:
        def to_repo(container: str) -> list[str]:
            return _repo_folders(container, stage.copies, context)

        cwds = [*(to_repo(stage.workdir) if stage.workdir else []), context, self.folder]
        shell = _Shell(self.path, self.root, list(dict.fromkeys(cwds)), absolute=to_repo)
        if isinstance(command, list):
            if (
                len(command) > 2
                and posixpath.basename(command[0]) in _SHELLS
                and command[1].startswith("-")
            ):
                yield from shell.run(command[2], number)
                return
            for target in targets_in_words(command):
                yield Launch(target, tuple(shell.cwds), self.path, number)
            return
        yield from shell.run(command, number)


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quotes: good enough for spotting a target
        return text.split()


def _snapshot(stage: _Stage) -> _Stage:
    return _Stage(stage.workdir, list(stage.copies), stage.entrypoint)


def _sources(stage: _Stage) -> list[str]:
    return [source for sources, _ in stage.copies for source in sources]


def _exec_form(rest: str) -> list[str] | str:
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            return rest
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return rest


def _join_container(current: str | None, path: str) -> str | None:
    path = path.strip().strip('"').strip("'")
    if not path or "$" in path:
        return None
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    if current is None:
        return None
    return posixpath.normpath(posixpath.join(current, path))


def _repo_folders(
    container: str, copies: list[tuple[tuple[str, ...], str]], context: str
) -> list[str]:
    """The repository folders a container folder holds, from the COPY instructions (the
    latest first): `COPY ./backend /app` puts backend/ at /app; `COPY ./backend/app
    /code/app` puts backend/ (in part) at /code."""
    container = posixpath.normpath(container)
    found: list[str] = []
    for sources, dest in reversed(copies):
        into_folder = dest.endswith("/") or len(sources) > 1
        for source in sources:
            found.extend(
                _holding(container, source, posixpath.normpath(dest), into_folder, context)
            )
    return list(dict.fromkeys(found))


def _holding(container: str, source: str, dest: str, into_folder: bool, context: str) -> list[str]:
    """Where the container folder is in the repository, as far as copying `source` (relative
    to the build context) to `dest` tells."""
    if posixpath.isabs(source) or re.search(r"[*?\[$]", source):
        return []
    clean = posixpath.normpath(source)
    local = os.path.normpath(os.path.join(context, clean))
    if not os.path.isdir(local):
        # A file copied into the working folder: its folder is the working folder.
        landed = posixpath.join(dest, posixpath.basename(clean)) if into_folder else dest
        next_to = posixpath.dirname(landed) == container
        same_name = posixpath.basename(landed) == posixpath.basename(clean)
        return [os.path.dirname(local)] if next_to and same_name else []
    if container == dest or container.startswith(dest.rstrip("/") + "/"):
        return [os.path.normpath(os.path.join(local, posixpath.relpath(container, dest)))]
    if dest.startswith(container.rstrip("/") + "/"):
        parts = posixpath.relpath(dest, container).split("/")
        local_parts = [] if clean == "." else clean.split("/")
        if local_parts[-len(parts) :] == parts:
            return [os.path.normpath(os.path.join(local, *([".."] * len(parts))))]
    return []


# -- docker-compose --------------------------------------------------------------------------------
def _compose(path: str, text: str, root: str) -> list[Launch]:
    document = parse_yaml_subset(text)
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        return []
    folder = os.path.dirname(os.path.abspath(path))
    launches: list[Launch] = []
    for service in services.values():
        if isinstance(service, dict):
            launches.extend(_compose_service(path, folder, root, service))
    return [_located(launch, text) for launch in launches]


def _located(launch: Launch, text: str) -> Launch:
    """The line of a target read from a structured file (the first line naming it)."""
    needle = launch.target.module or launch.target.file or launch.target.text.split()[-1]
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return Launch(launch.target, launch.cwds, launch.path, number)
    return launch


def _compose_service(path: str, folder: str, root: str, service: dict[str, Any]) -> list[Launch]:
    mounts = _mounts(folder, service.get("volumes"))
    context = _build_context(folder, service.get("build"))

    def to_repo(container: str) -> list[str]:
        return _mounted(container, mounts)

    cwds: list[str] = []
    working_dir = service.get("working_dir")
    if isinstance(working_dir, str) and working_dir:
        cwds.extend(to_repo(posixpath.normpath(working_dir)))
    if context is not None:
        cwds.append(context)
    cwds.extend(host for host, _ in mounts if os.path.isdir(host))
    cwds.append(folder)
    launches: list[Launch] = []
    line = 0
    for key in ("entrypoint", "command"):
        command = service.get(key)
        shell = _Shell(path, root, list(dict.fromkeys(cwds)), absolute=to_repo)
        if isinstance(command, str):
            launches.extend(shell.run(command, line))
        elif isinstance(command, list) and all(isinstance(item, str) for item in command):
            if (
                len(command) > 2
                and posixpath.basename(command[0]) in _SHELLS
                and command[1].startswith("-")
            ):
                launches.extend(shell.run(command[2], line))
            else:
                launches.extend(
                    Launch(target, tuple(shell.cwds), path, line)
                    for target in targets_in_words(list(command))
                )
    return launches


def _mounts(folder: str, volumes: Any) -> list[tuple[str, str]]:
    """Bind mounts of the project's own folders: (host folder, container folder)."""
    mounts = []
    for volume in volumes if isinstance(volumes, list) else []:
        source = target = None
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) >= 2:
                source, target = parts[0], parts[1]
        elif isinstance(volume, dict):
            source, target = volume.get("source"), volume.get("target")
        if (
            isinstance(source, str)
            and isinstance(target, str)
            and source.startswith((".", "/"))
            and "$" not in source
            and posixpath.isabs(target)
        ):
            mounts.append(
                (os.path.normpath(os.path.join(folder, source)), posixpath.normpath(target))
            )
    return mounts


def _mounted(container: str, mounts: list[tuple[str, str]]) -> list[str]:
    found = []
    for host, target in mounts:
        if container == target or container.startswith(target.rstrip("/") + "/"):
            found.append(os.path.normpath(os.path.join(host, posixpath.relpath(container, target))))
    return found


def _build_context(folder: str, build: Any) -> str | None:
    context = build.get("context") if isinstance(build, dict) else build
    if isinstance(context, str) and context and "$" not in context and "://" not in context:
        return os.path.normpath(os.path.join(folder, context))
    return None


def parse_yaml_subset(text: str) -> Any:
    """The block mappings, block and flow lists, plain and quoted scalars and `|`/`>` block
    scalars that compose files are written in; anchors, tags and flow mappings are read as
    plain text. Not a YAML parser: enough to read `services.*.command`."""
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            lines.append((-1, raw))
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw))
    value, _ = _yaml_node(lines, 0, 0)
    return value


def _yaml_node(lines: list[tuple[int, str]], index: int, indent: int) -> tuple[Any, int]:
    index = _skip_blank(lines, index)
    if index >= len(lines) or lines[index][0] < indent:
        return None, index
    own = lines[index][0]
    if lines[index][1].strip().startswith("- ") or lines[index][1].strip() == "-":
        return _yaml_list(lines, index, own)
    return _yaml_mapping(lines, index, own)


def _yaml_list(lines: list[tuple[int, str]], index: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while index < len(lines):
        index = _skip_blank(lines, index)
        if index >= len(lines) or lines[index][0] != indent:
            break
        body = lines[index][1].strip()
        if not body.startswith("-"):
            break
        rest = body[1:].strip()
        if not rest:
            value, index = _yaml_node(lines, index + 1, indent + 1)
            items.append(value)
        elif re.match(r"^[\w.-]+\s*:(\s|$)", rest) and not rest.startswith(("'", '"')):
            # "- key: value" starts a mapping indented past the dash
            inner = indent + (len(body) - len(rest))
            lines[index] = (inner, " " * inner + rest)
            value, index = _yaml_mapping(lines, index, inner)
            items.append(value)
        else:
            items.append(_yaml_scalar(rest))
            index += 1
    return items, index


def _yaml_mapping(
    lines: list[tuple[int, str]], index: int, indent: int
) -> tuple[dict[str, Any], int]:
    mapping: dict[str, Any] = {}
    while index < len(lines):
        index = _skip_blank(lines, index)
        if index >= len(lines) or lines[index][0] != indent:
            break
        body = lines[index][1].strip()
        match = re.match(r"""^("[^"]*"|'[^']*'|[^:#]+?)\s*:(?:\s+(.*))?$""", body)
        if match is None:
            index += 1
            continue
        key = match.group(1).strip("\"'")
        rest = (match.group(2) or "").strip()
        if rest.startswith(("&", "!")) and " " not in rest:
            rest = ""  # an anchor or a tag alone: the value follows on the next lines
        if rest in ("|", ">", "|-", ">-", "|+", ">+"):
            value, index = _block_scalar(lines, index + 1, indent, folded=rest.startswith(">"))
            mapping[key] = value
        elif rest and not rest.startswith("#"):
            mapping[key] = _yaml_scalar(rest)
            index += 1
        else:
            value, index = _yaml_node(lines, index + 1, indent + 1)
            mapping[key] = value
    return mapping, index


def _block_scalar(
    lines: list[tuple[int, str]], index: int, indent: int, folded: bool
) -> tuple[str, int]:
    parts = []
    while index < len(lines) and (lines[index][0] > indent or lines[index][0] == -1):
        parts.append(lines[index][1].strip())
        index += 1
    return (" " if folded else "\n").join(part for part in parts if part), index


def _skip_blank(lines: list[tuple[int, str]], index: int) -> int:
    while index < len(lines) and lines[index][0] == -1:
        index += 1
    return index


def _yaml_scalar(text: str) -> Any:
    text = re.sub(r"\s+#.*$", "", text) if not text.startswith(("'", '"')) else text
    if text.startswith("[") and text.endswith("]"):
        return [_unquote(item) for item in _flow_items(text[1:-1])]
    return _unquote(text)


def _flow_items(body: str) -> list[str]:
    items, current, quote = [], [], None
    for char in body:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            current.append(char)
        elif char == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ("'", '"'):
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner.replace('\\"', '"')
    return text


# -- pyproject.toml --------------------------------------------------------------------------------
def _pyproject(path: str, text: str) -> list[Launch]:
    try:
        data = load_toml_bytes(text.encode("utf-8"))
    except (TOMLDecodeError, UnicodeError):
        return []
    folder = os.path.dirname(os.path.abspath(path))
    cwds = [folder, *_package_folders(folder, data)]
    launches = []
    for table_name, scripts in (
        ("[project.scripts]", _table(data, "project", "scripts")),
        ("[tool.poetry.scripts]", _table(data, "tool", "poetry", "scripts")),
    ):
        for name, reference in scripts.items():
            if isinstance(reference, str) and _TARGET.match(reference.replace(" ", "")):
                module = reference.split(":", 1)[0].strip()
                target = Target(f"{table_name} {name} = {reference}", module=module)
                launches.append(Launch(target, tuple(dict.fromkeys(cwds)), path, 0))
    return [_located(launch, text) for launch in launches]


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    current: Any = data
    for key in keys:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def _package_folders(folder: str, data: dict[str, Any]) -> list[str]:
    """Where the distribution's packages live: src/, setuptools' `package-dir`, poetry's
    `packages = [{include = ..., from = ...}]`."""
    found = [os.path.join(folder, "src")]
    package_dir = _table(data, "tool", "setuptools").get("package-dir")
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        found.insert(0, os.path.normpath(os.path.join(folder, package_dir[""])))
    packages = _table(data, "tool", "poetry").get("packages")
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and isinstance(package.get("from"), str):
            found.append(os.path.normpath(os.path.join(folder, package["from"])))
    return list(dict.fromkeys(found))
