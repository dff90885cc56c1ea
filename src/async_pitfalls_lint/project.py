"""A project: its root, how module names map to files, and the facts of each file on demand.

flake8 and pre-commit hand us one file (or a few) at a time, so other modules are read and
summarised when the analysis first needs them, once per file content: facts are kept in memory
for the life of the process and on disk across runs (see cache.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from async_pitfalls_lint.cache import DiskCache, content_key, default_cache_dir
from async_pitfalls_lint.codec import Codec, CodecError
from async_pitfalls_lint.config import Settings, find_project_root
from async_pitfalls_lint.facts import ModuleFacts
from async_pitfalls_lint.files import clear_walk_cache, iter_launch_files, python_file_paths
from async_pitfalls_lint.filestate import (
    FileState,
    FileTable,
    ScanRow,
    pack_scan,
    scan_flag,
    unpack_scan,
)
from async_pitfalls_lint.roots import (
    ROOTS_CODEC,
    SourceRoot,
    configured_roots,
    detect_roots,
    placement_lists,
)
from async_pitfalls_lint.source import (
    SourceProblem,
    decode_source,
    parse_source,
    run_with_big_stack,
    syntax_problem,
)

# Files that can register event-loop code: handlers are `async def`, and registrations,
# dependencies and middleware name one of these words.
_CANDIDATE = re.compile(
    rb"async|fastapi|starlette|Depends|Security|add_api_route|add_route|add_websocket_route"
    rb"|add_api_websocket_route|add_middleware|add_exception_handler|add_event_handler|Route\("
    rb"|Middleware\(|lifespan|on_startup|on_shutdown|on_event|exception_handler|socketio"
)
_FRAMEWORK = re.compile(rb"fastapi|starlette|socketio")
_CLASS_BASES = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.MULTILINE)
_IDENTIFIER = re.compile(rb"[A-Za-z_]\w*")
# Files that may put a folder on sys.path or start a server on an import string (roots.py).
_LAUNCH_HINTS = (b"sys.path", b"addsitedir", b"uvicorn", b"granian")
_TOP_IMPORT = re.compile(
    rb"^(?:from[ \t]+([A-Za-z_]\w*)[ \t.]|import[ \t]+([A-Za-z_]\w*))", re.MULTILINE
)


@dataclass(frozen=True)
class _TextScan:
    """What a cheap look at a file's bytes tells, before (or instead of) parsing it."""

    candidate: bool  # may register or contain event-loop code
    framework: bool  # mentions FastAPI, Starlette or python-socketio
    asynchronous: bool  # mentions `async` at all
    base_names: frozenset[str]  # identifiers in its `class X(...)` base lists
    launch_hint: bool  # mentions sys.path or a server that takes an import string
    top_imports: frozenset[str]  # first names of its unindented absolute imports


_NO_TEXT = _TextScan(False, False, False, frozenset(), False, frozenset())


def _scan_row(data: bytes) -> ScanRow:
    return _scan_fields(_scan_text(data))


def _scan_fields(scan: _TextScan) -> ScanRow:
    """What the text prefilters saw, as plain data (cached in the file table, digested)."""
    return (
        scan.candidate,
        scan.framework,
        scan.asynchronous,
        sorted(scan.base_names),
        scan.launch_hint,
        sorted(scan.top_imports),
    )


def _from_row(row: ScanRow) -> _TextScan:
    return _TextScan(row[0], row[1], row[2], frozenset(row[3]), row[4], frozenset(row[5]))


def _scan_text(data: bytes) -> _TextScan:
    names: set[str] = set()
    for bases in _CLASS_BASES.findall(data):
        names.update(token.decode("ascii", "replace") for token in _IDENTIFIER.findall(bases))
    imports = frozenset(
        (module or name).decode("ascii") for module, name in _TOP_IMPORT.findall(data)
    )
    return _TextScan(
        _CANDIDATE.search(data) is not None,
        _FRAMEWORK.search(data) is not None,
        b"async" in data,
        frozenset(names),
        any(hint in data for hint in _LAUNCH_HINTS),
        imports,
    )


def scan_digest(scan: _TextScan) -> str:
    """What the text prefilters saw in a file, as one canonical string (short enough not to
    need hashing, which would cost more than the rest when 5,000 files are looked at)."""
    return pack_scan(_scan_fields(scan))


_EMPTY = ModuleFacts()
# What the cache keeps of one file's content: its facts, or why it cannot be analysed.
FACTS_CODEC: Codec[tuple[ModuleFacts | None, str | None]] = Codec(
    "facts", tuple[ModuleFacts | None, str | None]
)
FACTS_KIND = FACTS_CODEC.name


def interface_digest(facts: ModuleFacts | None, problem: str | None) -> str:
    """A digest of a module's facts with every source position left out.

    Two contents of a file with the same digest differ only by where things are (an edit that
    moves lines, a comment, blank lines), in the same order: whatever is derived from the facts
    without looking at positions is the same for both. The cache keeps positions apart from
    the rest of an entry (codec.py), so this is the digest of the entry's bytes up to them."""
    return FACTS_CODEC.interface(FACTS_CODEC.dumps((facts, problem)))


@dataclass
class _Loaded:
    key: str
    facts: ModuleFacts | None
    problem: str | None
    interface: str = ""


def analyse_text(text: str, encoding: str = "utf-8") -> ModuleFacts:
    """Parse and summarise source text (raises SourceProblem)."""

    from async_pitfalls_lint.extract import extract  # noqa: PLC0415 - libcst, when parsing

    def work() -> ModuleFacts:
        parsed = parse_source(text)
        try:
            return extract(parsed.module, text, encoding, parsed.tree)
        except RecursionError:
            raise SourceProblem("nesting too deep to analyse") from None

    return run_with_big_stack(work)


# A file's facts, its problem, and the digest of its facts without positions.
Summary = tuple[ModuleFacts | None, str | None, str]
Observation = tuple[str, str, str, str]  # kind, path, qualname, detail (Project.observe)


def summarise_file(path: str, max_bytes: int) -> tuple[str, str, Summary, bytes]:
    """Read and summarise one file (run in worker processes): (path, key, summary, and the
    cache entry's payload, encoded here so that the parent only writes it)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return path, "", (None, f"cannot read file: {error.strerror or error}", ""), b""
    summary, payload = _summarise(data, max_bytes)
    return path, content_key(data), summary, payload


def _summarise(data: bytes, max_bytes: int) -> tuple[Summary, bytes]:
    try:
        source = decode_source(data, max_bytes)
        facts: ModuleFacts | None = analyse_text(source.text, source.encoding)
        problem = None
    except SourceProblem as error:
        facts, problem = None, str(error)
    payload = FACTS_CODEC.dumps((facts, problem))
    return (facts, problem, FACTS_CODEC.interface(payload)), payload


class Project:
    """Module resolution and per-file facts for one project root."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = os.path.abspath(root)
        self.settings = settings
        self._loaded: dict[str, _Loaded] = {}
        self._overrides: dict[str, bytes] = {}
        self._exists: dict[str, bool] = {}
        self._is_dir: dict[str, bool] = {}
        self._files: list[str] | None = None
        self._scans: dict[str, _TextScan] = {}
        self._framework: bool | None = None
        self._base_index: dict[str, list[str]] | None = None
        self._launch_files: list[str] | None = None
        self._roots: list[SourceRoot] | None = None
        self._first_roots: tuple[str, ...] = ()
        self._last_roots: tuple[str, ...] = ()
        self._inside_roots: tuple[str, ...] = ()
        cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(self.root)
        self.cache: DiskCache | None = (
            DiskCache(cache_dir, namespace=self.root) if settings.cache else None
        )
        self.files = FileTable(self.cache, "files-table", _scan_row)
        # Paths whose facts were asked for while this is a set (see EventLoopIndex).
        self.reads: set[str] | None = None
        # While this is a dict: what resolution found reading function bodies for other code's
        # sake (what a function returns, schedules...), by (kind, path, qualname, detail), as
        # a digest of the value. The index's build records them (surface.py).
        self.observed: dict[Observation, str] | None = None
        self.parse_count = 0
        self.generation = 0

    # -- files ----------------------------------------------------------------------------------
    def set_content(self, path: str, data: bytes) -> None:
        """Use `data` instead of the file on disk (flake8's lines, stdin)."""
        path = os.path.abspath(path)
        self._overrides[path] = data
        self._scans.pop(path, None)
        self.files.forget(path)
        self._framework = None
        self._base_index = None
        if self._files is not None and path not in self._files and path.endswith(".py"):
            self._files.append(path)  # an editor buffer not yet saved to disk
        loaded = self._loaded.get(path)
        if loaded is not None and loaded.key != content_key(data):
            del self._loaded[path]
            self.generation += 1  # what was derived from the old content is stale
            self._roots = None  # the buffer may edit sys.path

    def file_changed(self, path: str) -> None:
        """Forget a file's content (the unsaved content `set_content` gave too): the next look
        reads the disk. For long-lived processes (the language server) told that a file was
        changed, created or deleted, or that an editor closed its buffer."""
        path = os.path.abspath(path)
        self._overrides.pop(path, None)
        self._scans.pop(path, None)
        self.files.forget(path)
        self._framework = None
        self._base_index = None
        folder = path
        while self._inside(folder) and folder != self.root:
            self._exists.pop(folder, None)
            self._is_dir.pop(folder, None)
            folder = os.path.dirname(folder)
        exists = os.path.isfile(path)
        if self._files is not None and (path in self._files) != exists:
            clear_walk_cache()  # created or deleted: the project's file list is stale
            self._files = None
            self._launch_files = None
        self._loaded.pop(path, None)
        self.generation += 1  # what was derived from the old content is stale
        self._roots = None

    def read_bytes(self, path: str) -> bytes | None:
        override = self._overrides.get(path)
        if override is not None:
            return override
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def file_key(self, path: str) -> str | None:
        """The content key of a file as the analysis sees it (None: unreadable)."""
        override = self._overrides.get(path)
        if override is not None:
            return content_key(override)
        loaded = self._loaded.get(path)
        if loaded is not None and loaded.key:
            return loaded.key
        found = self.files.state(path)
        return found.key if found is not None else None

    def _state(self, path: str) -> FileState | None:
        override = self._overrides.get(path)
        if override is not None:
            return FileState(
                content_key(override), len(override), override, pack_scan(_scan_row(override)), ""
            )
        return self.files.state(path)

    def observe(self, kind: str, path: str, qualname: str, detail: str, value: object) -> None:
        """Note what reading a function's body gave (see `observed`)."""
        if self.observed is not None:
            digest = hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest()
            self.observed[(kind, path, qualname, detail)] = digest

    def save_state(self) -> None:
        """Keep what this process learnt about the files for the next run."""
        self.files.save()

    def _load(self, path: str) -> _Loaded:
        if self.reads is not None:
            self.reads.add(path)
        loaded = self._loaded.get(path)
        if loaded is not None:
            return loaded
        if self._dir(path):  # a namespace package: a folder without __init__.py
            loaded = _Loaded("", _EMPTY, None)
            self._loaded[path] = loaded
            return loaded
        found = self._state(path)
        if found is None:
            loaded = _Loaded("", None, _unreadable(path))
            self._loaded[path] = loaded
            return loaded
        key, size, data = found.key, found.size, found.data
        too_large = size > self.settings.max_file_size  # a setting, so never cached
        use_cache = self.cache is not None and not too_large
        cached = self._cached_summary(key) if use_cache else None
        if cached is None:
            if data is None:  # the table knew the key; the facts must be computed after all
                data = self.read_bytes(path) or b""
                key = content_key(data)  # the same, unless the file changed meanwhile
            self.parse_count += 1
            cached, payload = _summarise(data, self.settings.max_file_size)
            if self.cache is not None and not too_large:
                self.cache.put_bytes(key, FACTS_CODEC.name, payload)
        loaded = _Loaded(key, *cached)
        self._loaded[path] = loaded
        if loaded.interface and path not in self._overrides:
            self.files.note_interface(path, key, loaded.interface)
        return loaded

    def preload(self, path: str, key: str, summary: Summary) -> None:
        """Install facts computed elsewhere (a worker process) for a file's current content."""
        path = os.path.abspath(path)
        self._loaded[path] = _Loaded(key, *summary)
        if summary[2] and path not in self._overrides:
            self.files.note_interface(path, key, summary[2])

    def _cached_summary(self, key: str) -> Summary | None:
        payload = self.cache.get_bytes(key, FACTS_CODEC.name) if self.cache is not None else None
        if payload is None:
            return None
        try:
            facts, problem = FACTS_CODEC.loads(payload)
        except CodecError:
            return None
        return facts, problem, FACTS_CODEC.interface(payload)

    def cached_facts(self, key: str) -> tuple[ModuleFacts | None, str | None] | None:
        """The facts and problem the cache holds for a content (None: it holds none)."""
        cached = self._cached_summary(key)
        return (cached[0], cached[1]) if cached is not None else None

    def cached_interface(self, key: str) -> str | None:
        """The facts digest of a content the cache holds facts for (None: it does not)."""
        payload = self.cache.get_bytes(key, FACTS_CODEC.name) if self.cache is not None else None
        return FACTS_CODEC.interface(payload) if payload is not None else None

    def cached(self, path: str) -> bool:
        """Whether the file's facts are in memory or in the disk cache (loading them if so)."""
        path = os.path.abspath(path)
        if path in self._loaded:
            return True
        if self.cache is None:
            return False
        found = self._state(path)
        if found is None or found.size > self.settings.max_file_size:
            return False
        key = found.key
        cached = self._cached_summary(key)
        if cached is not None:
            self.preload(path, key, cached)
            return True
        return False

    def facts_for(self, path: str) -> ModuleFacts | None:
        return self._load(path).facts

    def summary_for(self, path: str) -> Summary:
        loaded = self._load(path)
        return loaded.facts, loaded.problem, loaded.interface

    def interface_of(self, path: str) -> str:
        """The digest of a file's facts without positions (see interface_digest)."""
        loaded = self._load(path)
        if not loaded.interface:
            loaded.interface = interface_digest(loaded.facts, loaded.problem)
        return loaded.interface

    def interface_token(self, path: str) -> str:
        """What a file contributes to `facts_digest`. For a file that may hold event-loop code
        (every run parses those) it is the digest of its facts without positions, so an edit
        that only moves code there keeps it; for any other file, its content key (its facts
        are computed only when a chain reaches it). Which of the two a file gets depends on
        its content alone, never on what earlier runs happened to compute, so two runs over
        the same files always agree."""
        found = self._state(path)
        if found is None:
            return "unreadable"
        if not scan_flag(found.scan, "candidate"):
            return "k" + found.key
        if found.interface:
            return "i" + found.interface
        interface = self.interface_of(path)
        if path not in self._overrides:
            self.files.note_interface(path, found.key, interface)
        return "i" + interface

    def facts_digest(self, extra: str = "") -> str | None:
        """A digest of what every project file's facts are, positions left out where cheap
        (`interface_token`), with the layout and the settings (None: a file is unreadable).
        Two runs with the same digest derive the same findings but for positions."""
        digest = hashlib.blake2b(self.layout_key("facts", extra).encode(), digest_size=20)
        for path in self.python_files():
            token = self.interface_token(path)
            if token == "unreadable":
                return None
            digest.update(f"{path}\0{token}\n".encode())
        return digest.hexdigest()

    def problem_for(self, path: str) -> str | None:
        return self._load(path).problem

    def _scan(self, path: str) -> _TextScan:
        known = self._scans.get(path)
        if known is None:
            found = self._state(path)
            row = unpack_scan(found.scan) if found is not None else None
            known = _from_row(row) if row is not None else _NO_TEXT
            self._scans[path] = known
        return known

    def layout_key(self, kind: str, extra: str = "") -> str:
        """A cache key for something derived from the project as a whole that is checked
        against each file's content separately: the settings, `extra`, which Python files
        exist, and the size and mtime of the files that say how the application starts."""
        digest = hashlib.blake2b(digest_size=20)
        # `source` only names the settings' file in messages (as the CLI or flake8 spelt it).
        settings = replace(self.settings, source="")
        digest.update(repr((kind, settings, extra)).encode())
        for path in sorted(self.python_files()):
            digest.update(f"{path}\n".encode())
        for path in self.launch_files():
            try:
                info = os.stat(path)
            except OSError:
                continue
            digest.update(f"{path}\0{info.st_mtime_ns}\0{info.st_size}\n".encode())
        return f"{kind}-{digest.hexdigest()}"

    def scan_digest(self, path: str) -> str:
        """What the text prefilters saw in the file (scan_digest), from the file table."""
        found = self._state(path)
        return found.scan if found is not None else scan_digest(_NO_TEXT)

    def is_candidate(self, path: str) -> bool:
        """Whether the file may register or contain event-loop code (a cheap text check)."""
        return self._scan(path).candidate

    def may_be_async(self, path: str) -> bool:
        return self._scan(path).asynchronous

    def launch_hint(self, path: str) -> bool:
        return self._scan(path).launch_hint

    def top_imports(self, path: str) -> frozenset[str]:
        return self._scan(path).top_imports

    def is_loaded(self, path: str) -> bool:
        return os.path.abspath(path) in self._loaded

    def quick_problem(self, path: str) -> str | None:
        """Whether a file we do not need to analyse is at least readable, decodable Python."""
        data = self.read_bytes(path)
        if data is None:
            return _unreadable(path)
        return syntax_problem(data, self.settings.max_file_size)

    def uses_framework(self) -> bool:
        """Whether any project file mentions FastAPI or Starlette (else nothing is a handler)."""
        if self._framework is None:
            self._framework = any(self._scan(path).framework for path in self.python_files())
        return self._framework

    def files_naming_base(self, name: str) -> list[str]:
        """Project files with a class whose base list mentions `name` (a subclass prefilter)."""
        if self._base_index is None:
            self._base_index = {}
            for path in self.python_files():
                for base in self._scan(path).base_names:
                    self._base_index.setdefault(base, []).append(path)
        return self._base_index.get(name, [])

    def python_files(self) -> list[str]:
        if self._files is None:
            self._files = python_file_paths(self.root, self.settings.exclude)
            self._files.extend(
                path for path in self._overrides if path.endswith(".py") and path not in self._files
            )
        return self._files

    def launch_files(self) -> list[str]:
        """Dockerfiles, compose files, Procfiles, ... of the project (see launchers.py)."""
        if self._launch_files is None:
            self._launch_files = iter_launch_files(Path(self.root), self.settings.exclude)
        return self._launch_files

    # -- source roots ---------------------------------------------------------------------------
    def source_roots(self) -> list[SourceRoot]:
        """The folders besides the root and src/ that imports are resolved from: the
        `source-roots` setting when it is set (even to []), else the detected ones."""
        if self._roots is None:
            self._roots = self._compute_roots()
            self._first_roots, self._last_roots, self._inside_roots = placement_lists(self._roots)
        return self._roots

    def _compute_roots(self) -> list[SourceRoot]:
        configured = self.settings.source_roots
        if configured is not None:
            return configured_roots(configured, self.root, self.settings.source)
        key = self.roots_key() if self.cache is not None else None
        if key is not None and self.cache is not None:
            cached = self.cache.get(key, ROOTS_CODEC)
            if cached is not None:
                return cached
        roots = detect_roots(self)
        if key is not None and self.cache is not None:
            self.cache.put(key, ROOTS_CODEC, roots)
        return roots

    def roots_key(self) -> str | None:
        """What detected roots depend on: the layout and launch files, what the prefilters
        saw in each Python file, and the content of those that may edit sys.path."""
        digest = hashlib.blake2b(self.layout_key("roots").encode(), digest_size=20)
        lines = []
        for path in self.python_files():
            packed = self.scan_digest(path)
            lines.append(f"{path}\0{packed}\n")
            if scan_flag(packed, "launch"):
                lines.append(f"{self.file_key(path)}\n")
        digest.update("".join(lines).encode())
        return f"roots-{digest.hexdigest()}"

    def display(self, path: str) -> str:
        try:
            relative = os.path.relpath(path, self.root)
        except ValueError:
            return path
        return path if relative.startswith("..") else relative.replace(os.sep, "/")

    # -- filesystem checks (memoised) -----------------------------------------------------------
    def _file(self, path: str) -> bool:
        known = self._exists.get(path)
        if known is None:
            known = path in self._overrides or os.path.isfile(path)
            self._exists[path] = known
        return known

    def _dir(self, path: str) -> bool:
        known = self._is_dir.get(path)
        if known is None:
            known = os.path.isdir(path)
            self._is_dir[path] = known
        return known

    # -- module resolution ----------------------------------------------------------------------
    def _inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + os.sep)

    def resolve_import(
        self, importer: str, level: int, dotted: str
    ) -> tuple[str | None, tuple[str, ...]]:
        """The project module an import names, and the attribute path left after it."""
        parts = tuple(part for part in dotted.split(".") if part)
        if level:
            folder = os.path.dirname(importer)
            for _ in range(level - 1):
                folder = os.path.dirname(folder)
            return self._resolve_from(folder, parts, relative=True)
        if not parts:
            return None, ()
        best: tuple[str | None, tuple[str, ...]] = (None, ())
        best_rank = (0, False)
        for base in self._bases(importer):
            if not (
                self._file(os.path.join(base, parts[0] + ".py"))
                or self._dir(os.path.join(base, parts[0]))
            ):
                continue
            module, rest = self._resolve_from(base, parts, relative=False)
            if module is None or module == importer:
                continue
            # Python prefers a module or a regular package anywhere on sys.path to a folder
            # without __init__.py (a namespace portion) at the same depth.
            rank = (len(parts) - len(rest), not self._dir(module))
            if rank > best_rank:
                best, best_rank = (module, rest), rank
        return best

    def _bases(self, importer: str) -> list[str]:
        """Folders an absolute import may be rooted at, in order: the source roots that hold
        the importer (innermost first), the other roots the application puts first on
        sys.path, the project root, src/, the folders down to the importer (a script
        run from a subfolder has that folder on sys.path), then appended roots. The base that
        resolves the longest module path wins; on a tie, the earlier one."""
        self.source_roots()
        # The roots holding the importer come first, innermost first: in a repository of
        # several services, each one's modules run with their own service's folder on sys.path.
        holding = sorted(
            (
                folder
                for folder in (*self._inside_roots, *self._first_roots)
                if importer.startswith(folder + os.sep)
            ),
            key=len,
            reverse=True,
        )
        front = [*holding, *self._first_roots]
        chain = self._importer_chain(importer)
        return list(dict.fromkeys((*front, *chain, *self._last_roots)))

    def _importer_chain(self, importer: str) -> list[str]:
        folder = os.path.dirname(os.path.abspath(importer))
        chain = []
        while self._inside(folder):
            # A regular package's folder is not on sys.path: `import openai` inside
            # services/openai.py means the library, not the module itself.
            if folder == self.root or not self._file(os.path.join(folder, "__init__.py")):
                chain.append(folder)
            if folder == self.root:
                break
            folder = os.path.dirname(folder)
        chain.reverse()
        source = os.path.join(self.root, "src")
        if source not in chain:
            chain.insert(1, source)
        return chain

    def _resolve_from(
        self, folder: str, parts: tuple[str, ...], relative: bool
    ) -> tuple[str | None, tuple[str, ...]]:
        module: str | None = None
        consumed = 0
        if relative:
            init = os.path.join(folder, "__init__.py")
            module = init if self._file(init) else folder
        current = folder
        for index, part in enumerate(parts):
            package = os.path.join(current, part)
            init = os.path.join(package, "__init__.py")
            plain = package + ".py"
            if self._dir(package) and self._file(init):
                module, consumed, current = init, index + 1, package
            elif self._file(plain):
                module, consumed = plain, index + 1
                break
            elif self._dir(package):
                module, consumed, current = package, index + 1, package
            else:
                break
        if module is None or not self._inside(module):
            return None, ()
        return module, parts[consumed:]

    def submodule(self, module: str, name: str) -> str | None:
        if module.endswith("__init__.py"):
            folder = os.path.dirname(module)
        elif self._dir(module):
            folder = module
        else:
            return None
        package = os.path.join(folder, name)
        init = os.path.join(package, "__init__.py")
        if self._file(init):
            return init
        if self._file(package + ".py"):
            return package + ".py"
        if self._dir(package):
            return package
        return None


def _unreadable(path: str) -> str:
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        return f"cannot read file: {error.strerror or error}"
    return "cannot read file"


def project_root_for(path: Path, settings: Settings, fallbacks: Sequence[str] = ()) -> Path:
    """The folder of the nearest project marker above the file; without one, the first of
    `fallbacks` (folders the user named: the folders given to check, the working folder) that
    holds the file, so that the modules of an application without pyproject.toml or .git
    still resolve each other; else the file's own folder."""
    if settings.project_root:
        return Path(settings.project_root)
    root = find_project_root(path.resolve() if path.exists() else Path(os.path.abspath(path)))
    if root is not None:
        return root
    absolute = os.path.abspath(path)
    for folder in fallbacks:
        if absolute.startswith(folder.rstrip(os.sep) + os.sep):
            return Path(folder)
    return path.parent if not path.is_dir() else path


def fallback_roots(folders: Iterable[str | os.PathLike[str]] = ()) -> tuple[str, ...]:
    """The folders `project_root_for` falls back on: the given ones (outermost first), then
    the working folder, never the home folder or a filesystem root (too much to walk)."""
    home = os.path.abspath(os.path.expanduser("~"))
    found: list[str] = []
    for folder in [*sorted({os.path.abspath(f) for f in folders}, key=len), os.getcwd()]:
        if folder not in found and folder != home and os.path.dirname(folder) != folder:
            found.append(folder)
    return tuple(found)
