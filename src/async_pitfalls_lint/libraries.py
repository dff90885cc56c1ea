"""Blocking inferred from the installed source of third-party libraries.

No hand-written knowledge base lists every SDK. When event-loop code calls into an installed
third-party library that the knowledge base says nothing about, the library's own Python source
is summarised with the machinery used for project code (facts, resolution, blocking chains):
a library function that, within a bounded depth, reaches a known blocking primitive (sockets,
`http.client`, `open`, `subprocess`, `time.sleep`, thread waits) or a knowledge-base entry of
another library is blocking, with the category of what it reaches. An awaited library coroutine
is followed like a project coroutine: its sync calls block the loop, its awaits of real async
I/O do not.

Precision guards: the knowledge base always wins (a package it mentions is never inferred, so
its advice and `except` lists stand); the standard library, the framework and logging libraries
are not inferred; constructing a library object is configuration, not work; calls under an
"is it already cached" branch run once; native extensions and unreadable sources stay unknown.

Cost: a library is parsed only when event-loop code calls it and the knowledge base is silent;
verdicts are cached on disk per package and distribution version, so a warm run parses nothing.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.config import Settings
from async_pitfalls_lint.environment import Environment
from async_pitfalls_lint.facts import ref_text
from async_pitfalls_lint.knowledge import KnowledgeBase
from async_pitfalls_lint.model import ChainStep
from async_pitfalls_lint.names import Resolver, Value, receiver_of
from async_pitfalls_lint.project import Project
from async_pitfalls_lint.summaries import CallClassifier, Chain

if TYPE_CHECKING:
    from async_pitfalls_lint.cache import DiskCache

# How deep inference follows calls inside libraries (across packages included).
LIBRARY_DEPTH = 8
_NATIVE_SUFFIXES = (".so", ".pyd")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__", "builtins"}


@dataclass(frozen=True)
class LibraryVerdict:
    """Why calling a library function blocks: what it reaches, and the way there."""

    origin: str  # the library function called, as the application names it
    category: str
    resolved: str  # the blocking primitive reached
    what: str
    steps: tuple[ChainStep, ...]  # calls inside the library, paths relative to site-packages
    gil: str = ""  # for CPU work: whether what it reaches holds the GIL (knowledge.GIL_*)

    @property
    def provenance(self) -> str:
        last = self.steps[-1] if self.steps else None
        where = f" ({last.path}:{last.line})" if last is not None else ""
        return f"{self.origin} → {self.resolved}{where}"


@dataclass
class PackageSummary:
    """What is known of one package, by call key: whether calling blocks (None: it does not)
    and what it returns (None: unknown). Cached on disk per package and version."""

    verdicts: dict[str, LibraryVerdict | None] = field(default_factory=dict)
    results: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)
    # The `async def` methods of a class (by qualified name) that subclasses may override.
    async_methods: dict[str, list[str]] = field(default_factory=dict)


_SUMMARY: Codec[PackageSummary] = Codec("library", PackageSummary)


class LibraryProject(Project):
    """One library package (or one unit of a namespace package) seen as a project: imports of
    other top-level packages stay external, so they go through the knowledge base first."""

    def __init__(self, site: str, unit: str, settings: Settings) -> None:
        super().__init__(Path(site), settings.replace(cache=False))
        self.unit = unit

    def resolve_import(
        self, importer: str, level: int, dotted: str
    ) -> tuple[str | None, tuple[str, ...]]:
        if not level and not _within(dotted, self.unit):
            return None, ()
        return super().resolve_import(importer, level, dotted)

    def _bases(self, importer: str) -> list[str]:  # noqa: ARG002 - every import is rooted here
        return [self.root]

    def python_files(self) -> list[str]:
        return []  # never walked: library instances are taken as the class they are built as

    def files_naming_base(self, name: str) -> list[str]:  # noqa: ARG002 - see python_files
        return []


def _within(dotted: str, unit: str) -> bool:
    return dotted == unit or dotted.startswith(unit + ".")


@dataclass
class _Package:
    unit: str
    site: str
    fingerprint: str
    project: LibraryProject
    resolver: Resolver
    classifier: CallClassifier
    summary: PackageSummary = field(default_factory=PackageSummary)
    loaded: bool = False

    @property
    def anchor(self) -> str:
        """An importer path inside the site folder (absolute imports ignore its location)."""
        return os.path.join(self.site, "__init__.py")


class LibraryIndex:
    """Inference over the libraries of one environment, lazily, memoised and cached."""

    def __init__(
        self,
        environment: Environment,
        kb: KnowledgeBase,
        settings: Settings,
        severity: dict[str, int],
        cache: DiskCache | None,
    ) -> None:
        self.environment = environment
        self.kb = kb
        self.settings = settings
        self.severity = severity
        self.cache = cache
        self._packages: dict[str, _Package | None] = {}
        self._namespaces: set[str] = set()
        self._active: set[str] = set()
        self._depth = 0

    # -- what the analysis asks -----------------------------------------------------------------
    def blocking(self, value: Value, awaited: bool) -> LibraryVerdict | None:
        """The verdict for calling (or awaiting the call of) an external value, or None."""
        key = _call_key(value, awaited)
        package = self._package_of(value)
        if key is None or package is None:
            return None
        self._load_summary(package)
        verdicts = package.summary.verdicts
        if key in verdicts:
            return verdicts[key]
        if key in self._active or self._depth >= LIBRARY_DEPTH:
            return None  # a cycle or a chain too deep: unknown, and not recorded as final
        self._active.add(key)
        self._depth += 1
        try:
            verdict = self._infer(package, value, awaited)
        finally:
            self._depth -= 1
            self._active.discard(key)
        if self._depth == 0 or verdict is not None:
            verdicts[key] = verdict
            self._store_summary(package)
        return verdict

    def result_of(self, callee: Value) -> Value | None:
        """What calling a library function or method returns, as an external instance
        (`websocket.create_connection(...)` is a `websocket._core.WebSocket`)."""
        key = _call_key(callee, False)
        package = self._package_of(callee)
        if key is None or package is None:
            return None
        self._load_summary(package)
        results = package.summary.results
        if key in results:
            return results[key]
        active = f"returns {key}"
        if active in self._active:
            return None  # a result defined through itself stays unknown
        self._active.add(active)
        try:
            target = self._callee(package, callee)
            result: Value | None = None
            if target is not None and target[0] == "pf":
                returned = package.resolver.function_result(target[1], target[2])
                result = self._exported(package, returned)
        finally:
            self._active.discard(active)
        results[key] = result
        self._store_summary(package)
        return result

    def async_methods(self, base: str) -> frozenset[str]:
        """The `async def` methods a library class defines or inherits within its package: a
        project subclass overriding one of them is called by the library on the event loop."""
        package = self._package_of(("x", base))
        if package is None:
            return frozenset()
        self._load_summary(package)
        known = package.summary.async_methods
        if base not in known:
            known[base] = []  # a class defined through itself has none
            found: set[str] = set()
            target = self._callee(package, ("x", base))
            if target is not None and target[0] == "pc":
                for entry in package.resolver.class_mro(target[1], target[2]):
                    if isinstance(entry, tuple):  # external bases of its own are not followed
                        found.update(_own_async_methods(package.project, *entry))
            known[base] = sorted(found)
            self._store_summary(package)
        return frozenset(known[base])

    # -- inference ------------------------------------------------------------------------------
    def _infer(self, package: _Package, value: Value, awaited: bool) -> LibraryVerdict | None:
        target = self._callee(package, value)
        if target is None:
            return None
        if target[0] in ("x", "xi"):  # re-exported from another package
            return self.blocking(target, awaited) if self._package_of(target) else None
        if target[0] == "pi":
            method = package.resolver.find_method(target[1], target[2], "__call__")
            if method is None:
                return None
            target = ("pf", *method, (target[1], target[2], "__call__", True))
        if target[0] != "pf":
            return None  # a class (constructing is configuration), a module, a constant
        function = package.classifier.function(target[1], target[2])
        if function is None:
            return None
        receiver = receiver_of(target)
        if function.is_async:
            if not awaited:
                return None  # a coroutine object is made; it runs where it is awaited
            chain = self._coroutine_chain(package, target[1], target[2], receiver, 0)
        else:
            if awaited:
                return None  # awaiting a sync function's result: an awaitable it returned
            chains = package.classifier.chains_for(target[1], target[2], 1, receiver)
            chain = _most_severe(chains, self.severity)
        if chain is None:
            return None
        return LibraryVerdict(
            _origin(value),
            chain.category,
            chain.resolved,
            chain.entry.what,
            chain.steps,
            chain.entry.gil,
        )

    def _coroutine_chain(
        self,
        package: _Package,
        path: str,
        qualname: str,
        receiver: tuple[str, str, bool] | None,
        depth: int,
    ) -> Chain | None:
        """The first blocking chain inside a library coroutine: its sync calls, and the library
        coroutines it awaits (real async I/O underneath does not block)."""
        function = package.classifier.function(path, qualname)
        if function is None or depth > LIBRARY_DEPTH:
            return None
        display = package.project.display(path)
        with package.resolver.frame_for(receiver if function.class_qualname else None):
            for site in function.calls:
                if site.memoised or site.once:
                    continue
                found = package.classifier.classify(path, site, depth + 1)
                step = ChainStep(_label(site.callee), display, site.line, site.column + 1)
                if found.kind == "blocking" and found.entry is not None:
                    return Chain((step,), found.entry, found.resolved)
                if found.kind == "helper" and found.chain is not None:
                    return Chain((step, *found.chain.steps), found.chain.entry, found.resolved)
                if found.kind == "coroutine" and found.target is not None:
                    inner = self._coroutine_chain(
                        package, *found.target, _receiver(found.value), depth + 1
                    )
                    if inner is not None:
                        return Chain((step, *inner.steps), inner.entry, inner.resolved)
        return None

    def _callee(self, package: _Package, value: Value) -> Value | None:
        """An external value (`("x", name)` or `("xi", type, path)`) in the library's terms."""
        resolver = package.resolver
        if value[0] == "x":
            return resolver.import_value(package.anchor, 0, value[1])
        if value[0] != "xi":
            return None
        current = resolver.import_value(package.anchor, 0, value[1])
        if current is None:
            return None
        if current[0] == "pc":
            current = ("pi", current[1], current[2], True)
        elif current[0] == "x":
            return ("xi", current[1], value[2])  # a type re-exported from another package
        for name in value[2]:
            current = resolver.attribute(current, name)
            if current is None:
                return None
        return current

    def _exported(self, package: _Package, value: Value | None) -> Value | None:
        """A library-world instance as the application sees it: an external instance named
        by the module it is defined in."""
        if value is None or value[0] not in ("xi", "pi"):
            return None
        if value[0] == "xi":
            return value
        relative = os.path.relpath(value[1], package.site)
        if relative.startswith(".."):
            return None
        parts = relative.split(os.sep)
        parts[-1] = parts[-1].removesuffix(".py")
        if parts[-1] == "__init__":
            parts.pop()
        return ("xi", ".".join([*parts, value[2].split("#", 1)[0]]), ())

    # -- packages -------------------------------------------------------------------------------
    def _package_of(self, value: Value) -> _Package | None:
        if value[0] not in ("x", "xi") or not isinstance(value[1], str):
            return None
        parts = value[1].split(".")
        top = parts[0]
        if not top or top in _STDLIB or top.startswith("_"):
            return None
        if top not in self._packages and top not in self._namespaces:
            package, namespace = self._locate(top)
            if namespace:
                self._namespaces.add(top)
            else:
                self._packages[top] = package
        if top not in self._namespaces:
            return self._packages[top]
        # A namespace package (`google`): each sub-package is a unit of its own.
        if len(parts) < 2:
            return None
        unit = f"{top}.{parts[1]}"
        if unit not in self._packages:
            self._packages[unit] = self._namespace_unit(top, parts[1])
        return self._packages[unit]

    def _locate(self, top: str) -> tuple[_Package | None, bool]:
        """The package a top-level name imports, or whether it is a namespace folder."""
        for site in self.environment.site_packages:
            folder = os.path.join(site, top)
            if os.path.isfile(os.path.join(folder, "__init__.py")) or os.path.isfile(
                folder + ".py"
            ):
                return self._package(site, top), False
            if os.path.isdir(folder):
                return None, True
            if _native(site, top):
                return None, False  # compiled: unknown, the knowledge base covers what it must
        return None, False

    def _namespace_unit(self, top: str, name: str) -> _Package | None:
        for site in self.environment.site_packages:
            folder = os.path.join(site, top, name)
            if os.path.isdir(folder) or os.path.isfile(folder + ".py"):
                return self._package(site, f"{top}.{name}")
        return None

    def _package(self, site: str, unit: str) -> _Package | None:
        if self.kb.mentions(unit) or self.kb.not_inferred(unit):
            return None  # the knowledge base decides for the libraries it knows
        project = LibraryProject(site, unit, self.settings)
        resolver = Resolver(project, self.kb, libraries=self)
        classifier = CallClassifier(
            project,
            resolver,
            self.kb,
            LIBRARY_DEPTH,
            self.severity,
            libraries=self,
            library_code=True,
        )
        return _Package(unit, site, _fingerprint(site, unit), project, resolver, classifier)

    # -- the disk cache -------------------------------------------------------------------------
    def _cache_key(self, package: _Package) -> str:
        digest = hashlib.blake2b(
            f"{package.site}\0{package.unit}\0{package.fingerprint}".encode(), digest_size=16
        )
        return f"library-{package.unit}-{digest.hexdigest()}"

    def _load_summary(self, package: _Package) -> None:
        if package.loaded:
            return
        package.loaded = True
        if self.cache is not None:
            stored = self.cache.get(self._cache_key(package), _SUMMARY)
            if stored is not None:
                package.summary = stored

    def _store_summary(self, package: _Package) -> None:
        if self.cache is not None:
            self.cache.put(self._cache_key(package), _SUMMARY, package.summary)


def _own_async_methods(project: Project, path: str, qualname: str) -> list[str]:
    facts = project.facts_for(path)
    cls = facts.classes.get(qualname) if facts is not None else None
    if facts is None or cls is None:
        return []
    return [
        name
        for name, function_qualname in cls.methods.items()
        if (function := facts.functions.get(function_qualname)) is not None and function.is_async
    ]


def _native(site: str, top: str) -> bool:
    try:
        names = os.listdir(site)
    except OSError:
        return False
    return any(name.startswith(top + ".") and name.endswith(_NATIVE_SUFFIXES) for name in names)


def _fingerprint(site: str, unit: str) -> str:
    """The distribution(s) and version(s) that installed a package (from `*.dist-info` names
    and their `top_level.txt`), or the package folder's modification time when none says."""
    top = unit.split(".", 1)[0]
    found: list[str] = []
    try:
        names = sorted(os.listdir(site))
    except OSError:
        names = []
    for name in names:
        if not name.endswith(".dist-info"):
            continue
        try:
            with open(os.path.join(site, name, "top_level.txt"), encoding="utf-8") as handle:
                tops = {line.strip() for line in handle}
        except OSError:
            tops = set()
        if top in tops or name.split("-", 1)[0].lower().replace("-", "_") == top.lower():
            found.append(name.removesuffix(".dist-info"))
    if found:
        return "+".join(found)
    try:
        return str(os.stat(os.path.join(site, top)).st_mtime_ns)
    except OSError:
        return "unknown"


def _call_key(value: Value, awaited: bool) -> str | None:
    prefix = "await " if awaited else ""
    if value[0] == "x" and isinstance(value[1], str):
        return f"{prefix}{value[1]}"
    if value[0] == "xi" and isinstance(value[1], str):
        return f"{prefix}{value[1]}:{'.'.join(value[2])}"
    return None


def _origin(value: Value) -> str:
    if value[0] == "xi":
        return ".".join([value[1], *value[2]])
    return str(value[1])


def _label(callee: tuple[object, ...] | None) -> str:
    return ref_text(callee)


def _receiver(value: Value | None) -> tuple[str, str, bool] | None:
    return receiver_of(value) if value is not None and value[0] == "pf" else None


def _most_severe(chains: dict[str, Chain], severity: dict[str, int]) -> Chain | None:
    if not chains:
        return None
    return max(chains.values(), key=lambda chain: severity.get(chain.category, 0))
