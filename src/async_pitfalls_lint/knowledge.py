"""The knowledge base: blocking library calls, the types that lead to them, and FastAPI itself.

Everything here is data from `data/blocking.toml` and `data/fastapi.toml`, plus the user's
`extra-blocking` and `allow` settings. Lookups are by qualified name and are memoised.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from async_pitfalls_lint._toml import load_package_data

CATEGORIES = ("sleep", "http", "file", "db", "subprocess", "cpu", "wait", "fsmeta")
# Whether CPU-heavy work lets other threads run while it computes: it decides between a thread
# (`asyncio.to_thread`) and a process pool, and whether APL301 applies.
GIL_HOLDS = "holds"
GIL_RELEASES = "releases"
GIL_VALUES = (GIL_HOLDS, GIL_RELEASES)


@dataclass(frozen=True)
class BlockingEntry:
    """Why one qualified name blocks, and what to use instead."""

    pattern: str
    group: str
    category: str
    why: str
    alternative: str
    fix: str
    what: str = ""
    on_handle: bool = False  # a call on a file handle: on an in-memory buffer it is no I/O
    # Keyword arguments whose literal value makes the call harmless (`check_deliverability`
    # = False): written so, the call does not block; left out or computed, it may.
    unless: tuple[tuple[str, object], ...] = ()
    in_libraries: bool = True  # whether reaching it inside a library's code means blocking
    gil: str = ""  # CPU work only: GIL_HOLDS or GIL_RELEASES while it runs

    @property
    def holds_gil(self) -> bool:
        return self.gil == GIL_HOLDS

    plain_def: bool = False  # making the route or dependency a plain `def` is also a remedy


@dataclass(frozen=True)
class TypeInfo:
    name: str
    bases: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    returns: Mapping[str, str] = field(default_factory=dict)
    subscript: str | None = None
    div: str | None = None
    pipe: str | None = None
    fluent: bool = False
    project_attributes: bool = False


@dataclass(frozen=True)
class Registration:
    kind: str
    position: int
    keyword: str


@dataclass(frozen=True)
class Offload:
    position: int
    runs_in: str
    pool: int | None = None


@dataclass(frozen=True)
class ClassHandler:
    kind: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class EventServer:
    """A server class whose registered handlers run on the event loop (python-socketio)."""

    kind: str
    decorators: frozenset[str]
    registrations: Mapping[str, Registration]


@dataclass
class _Group:
    entry: BlockingEntry
    exact: set[str]
    patterns: list[tuple[str, Glob]]
    excluded: list[str]
    gil_of: dict[str, str] = field(default_factory=dict)  # listed name or pattern -> its GIL

    def entry_for(self, listed: str) -> BlockingEntry:
        """The group's entry for one of its listed names or patterns."""
        gil = self.gil_of.get(listed, self.entry.gil)
        return dataclasses.replace(self.entry, pattern=listed, gil=gil)

    def excludes(self, name: str) -> bool:
        last = name.rsplit(".", 1)[-1]
        return any(fnmatch.fnmatchcase(last, glob) for glob in self.excluded)


class KnowledgeBase:
    """Read-only view over the blocking-call data and the FastAPI model."""

    def __init__(
        self,
        blocking: Mapping[str, Any],
        framework: Mapping[str, Any],
        extra_blocking: Mapping[str, str] | None = None,
        allow: Iterable[str] = (),
        extra_route_decorators: Iterable[str] = (),
    ) -> None:
        self._aliases: dict[str, str] = {}
        self._types: dict[str, TypeInfo] = {}
        self._made_by: dict[str, str] = {}
        self._load_types(blocking.get("types", {}))
        for alias, target in blocking.get("module_aliases", {}).items():
            self._aliases[alias] = target
        self._groups = [self._load_group(raw) for raw in blocking.get("group", [])]
        self.in_memory = frozenset(blocking.get("in_memory", ()))
        self.buffer_openers = frozenset(blocking.get("buffer_openers", ()))
        self.locators = frozenset(blocking.get("locators", ()))
        self._not_inferred = frozenset(blocking.get("not_inferred", ()))
        if extra_blocking:
            self._groups.extend(self._user_groups(extra_blocking))
        self._allow = [Glob(name) for name in allow]
        self._load_framework(framework, extra_route_decorators)
        self._mentioned = _prefixes(self._names(blocking, framework))

    # -- loading ------------------------------------------------------------------------------
    def _load_types(self, raw_types: Mapping[str, Any]) -> None:
        for name, raw in raw_types.items():
            info = TypeInfo(
                name=name,
                bases=tuple(raw.get("bases", ())),
                attributes=dict(raw.get("attributes", {})),
                returns=dict(raw.get("returns", {})),
                subscript=raw.get("subscript"),
                div=raw.get("div"),
                pipe=raw.get("pipe"),
                fluent=bool(raw.get("fluent", False)),
                project_attributes=bool(raw.get("project_attributes", False)),
            )
            self._types[name] = info
            for alias in raw.get("aliases", ()):
                self._aliases[alias] = name
            for maker in raw.get("made_by", ()):
                self._made_by[maker] = name

    @staticmethod
    def _load_group(raw: Mapping[str, Any]) -> _Group:
        entry = BlockingEntry(
            pattern="",
            group=str(raw["id"]),
            category=str(raw["category"]),
            why=str(raw.get("why", "")),
            alternative=str(raw.get("alternative", "")),
            fix=str(raw.get("fix", "none")),
            what=str(raw.get("what", "")),
            on_handle=bool(raw.get("on_handle", False)),
            unless=tuple(sorted((str(k), v) for k, v in raw.get("unless", {}).items())),
            in_libraries=bool(raw.get("in_libraries", True)),
            gil=str(raw.get("gil", "")),
            plain_def=bool(raw.get("plain_def", False)),
        )
        if entry.category not in CATEGORIES:
            raise ValueError(f"group {entry.group}: unknown category {entry.category!r}")
        calls = [str(name) for name in raw.get("calls", ())]
        gil_of = {str(name): str(gil) for name, gil in raw.get("gil_of", {}).items()}
        _check_gil(entry, calls, gil_of)
        exact: set[str] = set()
        patterns: list[tuple[str, Glob]] = []
        for name in calls:
            if "*" in name or "?" in name or "[" in name:
                patterns.append((name, Glob(name)))
            else:
                exact.add(name)
        return _Group(entry, exact, patterns, list(raw.get("except", ())), gil_of)

    def _user_groups(self, extra: Mapping[str, str]) -> list[_Group]:
        groups = []
        for name, category in extra.items():
            entry = BlockingEntry(
                pattern=name,
                group="user",
                category=category,
                why="is configured as blocking (extra-blocking)",
                alternative="",
                fix="to-thread",
                # Unknown work: advise (and check offloading) as for pure-Python code.
                gil=GIL_HOLDS if category == "cpu" else "",
            )
            is_glob = "*" in name
            groups.append(
                _Group(
                    entry,
                    set() if is_glob else {name},
                    [(name, Glob(name))] if is_glob else [],
                    [],
                )
            )
        return groups

    def _load_framework(self, raw: Mapping[str, Any], extra_decorators: Iterable[str]) -> None:
        self.app_types = frozenset(raw.get("app_types", ()))
        self.dependency_markers = frozenset(raw.get("dependency_markers", ()))
        self.thread_pools = frozenset(raw.get("thread_pools", ()))
        self.process_pools = frozenset(raw.get("process_pools", ()))
        self.memoizing_decorators = frozenset(raw.get("memoizing_decorators", ()))
        self.offloading_decorators = frozenset(raw.get("offloading_decorators", ()))
        self.decorator_kinds: dict[str, str] = {}
        for kind, names in raw.get("decorators", {}).items():
            for name in names:
                self.decorator_kinds[name] = kind
        self.registrations = {
            name: Registration(str(v["kind"]), int(v["position"]), str(v["keyword"]))
            for name, v in raw.get("registrations", {}).items()
        }
        self.constructors = {
            name: Registration(str(v["kind"]), int(v["position"]), str(v["keyword"]))
            for name, v in raw.get("constructors", {}).items()
        }
        self.app_keywords: dict[str, str] = dict(raw.get("app_keywords", {}))
        self.class_handlers = {
            name: ClassHandler(str(v["kind"]), tuple(v["methods"]))
            for name, v in raw.get("class_handlers", {}).items()
        }
        self.offloads = {
            name: Offload(int(v["position"]), str(v["runs_in"]), v.get("pool"))
            for name, v in raw.get("offload", {}).items()
        }
        self.event_servers = {
            name: EventServer(
                str(v["kind"]),
                frozenset(v.get("decorators", ())),
                {
                    method: Registration(str(v["kind"]), int(r["position"]), str(r["keyword"]))
                    for method, r in v.get("registrations", {}).items()
                },
            )
            for name, v in raw.get("event_servers", {}).items()
        }
        self.task_starters: dict[str, int] = {
            name: int(v["position"]) for name, v in raw.get("task_starters", {}).items()
        }
        self.extra_route_decorators = frozenset(extra_decorators)

    # -- names and types ----------------------------------------------------------------------
    @lru_cache(maxsize=8192)  # noqa: B019 - the knowledge base lives as long as the process
    def canonical(self, name: str) -> str:
        """The canonical spelling of a qualified name (type aliases, module aliases)."""
        if name in self._aliases:
            return self._aliases[name]
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            target = self._aliases.get(prefix)
            if target is not None:
                return target + "." + ".".join(parts[cut:])
        return name

    def type_info(self, name: str) -> TypeInfo | None:
        return self._types.get(name)

    def is_type(self, name: str) -> bool:
        return name in self._types

    def event_server(self, type_name: str) -> EventServer | None:
        """The event server a type is (through known aliases and bases), if any."""
        for name in self.mro(self.canonical(type_name)):
            server = self.event_servers.get(name)
            if server is not None:
                return server
        return None

    def mro(self, name: str) -> list[str]:
        order = [name]
        for type_name in order:
            info = self._types.get(type_name)
            if info is not None:
                order.extend(base for base in info.bases if base not in order)
        return order

    def result_of_call(self, callee: str) -> str | None:
        """The type of `callee(...)`'s result, for functions, classes and `Type.method` names."""
        made = self._made_by.get(callee)
        if made is not None:
            return made
        if callee in self._types:
            return callee
        owner, _, method = callee.rpartition(".")
        for type_name in self.mro(owner) if owner in self._types else ():
            info = self._types[type_name]
            if method in info.returns:
                return info.returns[method]
        return None

    def is_known_method(self, type_name: str, member: str) -> bool:
        qualified = f"{type_name}.{member}"
        return self.blocking(qualified) is not None or self.result_of_call(qualified) is not None

    def attribute_type(self, type_name: str, attribute: str) -> str | None:
        for name in self.mro(type_name):
            info = self._types.get(name)
            if info is None:
                continue
            if attribute in info.attributes:
                return info.attributes[attribute]
            if "*" in info.attributes and not attribute.startswith("_"):
                return info.attributes["*"]
        return None

    def subscript_type(self, type_name: str) -> str | None:
        info = self._types.get(type_name)
        return info.subscript if info else None

    def div_type(self, type_name: str) -> str | None:
        info = self._types.get(type_name)
        return info.div if info else None

    def pipe_type(self, type_name: str) -> str | None:
        """The type of `a | b` when either side is of `type_name` (LangChain's `prompt | llm`)."""
        for name in self.mro(type_name):
            info = self._types.get(name)
            if info is not None and info.pipe:
                return info.pipe
        return None

    def has_project_attributes(self, type_name: str) -> bool:
        """Whether the project assigns this type's attributes (`app.state.db = ...`)."""
        info = self._types.get(type_name)
        return info is not None and info.project_attributes

    def is_fluent(self, type_name: str) -> bool:
        return any(self._types[name].fluent for name in self.mro(type_name) if name in self._types)

    # -- what library inference may look at ---------------------------------------------------
    @staticmethod
    def _names(blocking: Mapping[str, Any], framework: Mapping[str, Any]) -> Iterable[str]:
        """Every qualified name the data mentions (callables, types, aliases, framework)."""
        for raw in blocking.get("group", []):
            yield from raw.get("calls", ())
        for name, raw in blocking.get("types", {}).items():
            yield name
            for key in ("aliases", "made_by"):
                yield from raw.get(key, ())
            for key in ("attributes", "returns"):
                yield from raw.get(key, {}).values()
        for alias, target in blocking.get("module_aliases", {}).items():
            yield alias
            yield target
        for key in ("in_memory", "buffer_openers", "locators"):
            yield from blocking.get(key, ())
        yield from _framework_names(framework)

    def mentions(self, package: str) -> bool:
        """Whether the knowledge base says anything about a package (`websocket`, or a unit of
        a namespace package: `google.oauth2`): then it, not inference, decides for it."""
        return package in self._mentioned

    def not_inferred(self, package: str) -> bool:
        """Packages never inferred: the framework (modelled in fastapi.toml), logging and
        tracing (they write to streams and files by design, off the request's critical path)."""
        top = package.split(".", 1)[0]
        return package in self._not_inferred or top in self._not_inferred

    # -- blocking calls -----------------------------------------------------------------------
    def is_allowed(self, name: str) -> bool:
        return any(pattern.match(name) for pattern in self._allow)

    @lru_cache(maxsize=16384)  # noqa: B019 - the knowledge base lives as long as the process
    def blocking(self, name: str) -> BlockingEntry | None:
        """The entry for a fully qualified callable name, or None when it does not block."""
        if self.is_allowed(name):
            return None
        for group in self._groups:
            if name in group.exact:
                return group.entry_for(name)
        if name.rsplit(".", 1)[-1].startswith("__"):
            return None  # protocol methods (`__enter__`) only block when listed by name
        for group in self._groups:
            if group.excludes(name):
                continue
            for glob, pattern in group.patterns:
                if pattern.match(name):
                    return group.entry_for(glob)
        return None

    def blocking_method(self, type_name: str, path: tuple[str, ...]) -> BlockingEntry | None:
        """The entry for calling `<instance of type_name>.<path>` (walking known base classes)."""
        suffix = ".".join(path) if path else "__call__"
        for name in self.mro(type_name):
            entry = self.blocking(f"{name}.{suffix}")
            if entry is not None:
                return entry
        return None

    def known_names(self) -> list[tuple[str, BlockingEntry]]:
        """Every listed name or pattern with its entry, for documentation."""
        rows: list[tuple[str, BlockingEntry]] = []
        for group in self._groups:
            rows.extend((name, group.entry_for(name)) for name in sorted(group.exact))
            rows.extend((glob, group.entry_for(glob)) for glob, _ in group.patterns)
        return rows

    def groups(self) -> list[BlockingEntry]:
        return [group.entry for group in self._groups]


def _framework_names(framework: Mapping[str, Any]) -> Iterable[str]:
    """The qualified names of the framework model (decorator and keyword names are bare words,
    not names of a package)."""
    found: list[str] = []
    for value in framework.values():
        if isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, str))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                found.append(str(key))
                if isinstance(item, (list, tuple)):
                    found.extend(entry for entry in item if isinstance(entry, str))
    return (name for name in found if "." in name)


def _prefixes(names: Iterable[str]) -> frozenset[str]:
    """Every dotted prefix of every name up to the first wildcard (`pandas.read_*` gives
    `pandas`)."""
    found: set[str] = set()
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            if any(char in parts[end - 1] for char in "*?["):
                break
            found.add(".".join(parts[:end]))
    return frozenset(found)


def _check_gil(entry: BlockingEntry, calls: list[str], gil_of: Mapping[str, str]) -> None:
    """CPU groups say whether their work holds the GIL; no other group does."""
    if entry.category != "cpu":
        if entry.gil or gil_of:
            raise ValueError(f"group {entry.group}: only CPU work has a GIL behaviour")
        return
    if entry.gil not in GIL_VALUES:
        raise ValueError(f"group {entry.group}: gil must be one of {GIL_VALUES}")
    for name, gil in gil_of.items():
        if name not in calls:
            raise ValueError(f"group {entry.group}: gil_of names {name!r}, which it does not list")
        if gil not in GIL_VALUES:
            raise ValueError(f"group {entry.group}: gil_of[{name!r}] must be one of {GIL_VALUES}")


class Glob:
    """A shell-style pattern over qualified names (fnmatch semantics, `*` crossing dots),
    compiled on the first name that has its literal prefix: a run looks up a few hundred names
    and most patterns never see one, so compiling them all up front would cost more than the
    lookups."""

    __slots__ = ("_pattern", "glob", "prefix")

    def __init__(self, glob: str) -> None:
        self.glob = glob
        cut = min((glob.find(char) for char in "*?[" if char in glob), default=len(glob))
        self.prefix = glob[:cut]
        self._pattern: re.Pattern[str] | None = None

    def match(self, name: str) -> bool:
        if not name.startswith(self.prefix):
            return False
        if self._pattern is None:
            self._pattern = re.compile(fnmatch.translate(self.glob), re.DOTALL)
        return self._pattern.match(name) is not None


@lru_cache(maxsize=1)
def _raw_data() -> tuple[dict[str, Any], dict[str, Any]]:
    return load_package_data("blocking.toml"), load_package_data("fastapi.toml")


def build_knowledge(
    extra_blocking: Mapping[str, str] | None = None,
    allow: Iterable[str] = (),
    extra_route_decorators: Iterable[str] = (),
) -> KnowledgeBase:
    blocking, framework = _raw_data()
    return KnowledgeBase(blocking, framework, extra_blocking, allow, extra_route_decorators)


@lru_cache(maxsize=1)
def default_knowledge() -> KnowledgeBase:
    return build_knowledge()
