"""The `routes` command: every route and websocket of a service, where it runs, what it
depends on, and what blocks the event loop on its behalf.

A route's findings are those of every function that runs for it on the event loop: the route
itself when it is `async def`, its dependencies (and theirs), and the project coroutines any of
those call, await or hand over. Findings are the ones `check` reports, with the same
selection and `# noqa` handling, so the two commands always agree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.config import Settings
from async_pitfalls_lint.facts import FunctionFacts, Ref
from async_pitfalls_lint.files import display_path, iter_python_files
from async_pitfalls_lint.model import Finding, ProjectInfo
from async_pitfalls_lint.routes import Handler
from async_pitfalls_lint.runner import check_one, group_by_project, project_info, warm

EVENT_LOOP = "event loop"
THREADPOOL = "threadpool"
LIBRARY = "library"
_ROUTE_KINDS = ("route", "websocket")
_MAX_DEPENDENCY_DEPTH = 12

FunctionKey = tuple[str, str]  # (absolute path, qualname)


@dataclass(frozen=True)
class Dependency:
    """A dependency a route declares (directly or through other dependencies)."""

    name: str
    path: str  # display path; empty for library dependencies
    line: int
    runs_in: str  # event loop, threadpool or library


@dataclass
class RouteEntry:
    kind: str  # route or websocket
    method: str
    route: str
    function: str
    path: str
    line: int
    runs_in: str
    dependencies: list[Dependency] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def sort_key(self) -> tuple[int, int, str, int, str]:
        """Worst first: most findings, then event-loop routes, then by location."""
        return (
            -len(self.findings),
            0 if self.runs_in == EVENT_LOOP else 1,
            self.path,
            self.line,
            self.route,
        )


@dataclass(frozen=True)
class RootEntry:
    """A folder imports were resolved from besides the project root and src/."""

    path: str  # display path
    origin: str  # detected or configured
    placement: str  # first, last or inside (roots.py)
    reason: str


@dataclass
class Inventory:
    routes: list[RouteEntry] = field(default_factory=list)
    files_checked: int = 0
    projects: list[ProjectInfo] = field(default_factory=list)
    source_roots: list[RootEntry] = field(default_factory=list)


def root_entries(analysis: Analysis) -> list[RootEntry]:
    return [
        RootEntry(display_path(Path(root.folder)), root.origin, root.placement, root.reason)
        for root in analysis.project.source_roots()
    ]


def source_roots_of(paths: Iterable[Path], settings: Settings) -> list[RootEntry]:
    """The source roots of every project the paths belong to (for `check --verbose`)."""
    files = list(iter_python_files(paths, settings.exclude))
    return [
        entry
        for analysis, _ in group_by_project(files, settings)
        for entry in root_entries(analysis)
    ]


def build_inventory(paths: Iterable[Path], settings: Settings, jobs: int = 1) -> Inventory:
    files = list(iter_python_files(paths, settings.exclude))
    inventory = Inventory(files_checked=len(files))
    for analysis, group in group_by_project(files, settings):
        inventory.source_roots.extend(root_entries(analysis))
        warm(analysis, group, jobs)
        wanted = {os.path.abspath(file) for file in group}
        routes = _ProjectRoutes(analysis)
        inventory.projects.append(project_info(analysis))
        for handler in analysis.index.all_handlers():
            # A project decorator's wrapper is part of its route's entry, not a route of its own.
            if handler.kind in _ROUTE_KINDS and handler.path in wanted and not handler.wrapper:
                inventory.routes.append(routes.entry(handler))
    inventory.routes.sort(key=RouteEntry.sort_key)
    return inventory


class _ProjectRoutes:
    """Route entries for one project, with per-file findings computed once."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._findings: dict[str, dict[str, list[Finding]]] = {}

    def entry(self, handler: Handler) -> RouteEntry:
        function = self._function((handler.path, handler.qualname))
        dependencies: list[Dependency] = []
        on_loop: list[FunctionKey] = []
        key = (handler.path, handler.qualname)
        finder = self.analysis.routes
        if handler.is_async:
            on_loop.append(key)
            # The async wrappers of project decorators run on the loop for the route.
            on_loop.extend(
                (wrapper.path, wrapper.qualname) for wrapper in finder.decorator_wrappers(handler)
            )
        if function is not None:
            # Dependencies of the router or app the route is on come first, as FastAPI runs them.
            outer = self._dependency_targets(finder.router_dependencies(handler))
            self._dependencies(key, function, dependencies, on_loop, {key}, 0, outer)
        findings: list[Finding] = []
        seen: set[tuple[str, int, int, str]] = set()
        for member in self._with_reached_coroutines(on_loop):
            for finding in self._findings_in(member):
                identity = (finding.path, finding.line, finding.column, finding.code)
                if identity not in seen:
                    seen.add(identity)
                    findings.append(finding)
        findings.sort(key=Finding.sort_key)
        return RouteEntry(
            kind=handler.kind,
            method=handler.method or ("WS" if handler.kind == "websocket" else ""),
            route=handler.route_path,
            function=handler.name,
            path=display_path(Path(handler.path)),
            line=handler.line,
            runs_in=EVENT_LOOP if handler.is_async else THREADPOOL,
            dependencies=dependencies,
            findings=findings,
        )

    # -- dependencies ---------------------------------------------------------------------------
    def _dependencies(
        self,
        key: FunctionKey,
        function: FunctionFacts,
        into: list[Dependency],
        on_loop: list[FunctionKey],
        seen: set[FunctionKey],
        depth: int,
        outer: Iterable[tuple[str, Ref]] = (),
    ) -> None:
        if depth > _MAX_DEPENDENCY_DEPTH:
            return
        path = key[0]
        for target_path, target in (*outer, *self._declared(path, function)):
            value = self.analysis.resolver.eval(target_path, target)
            if value is None:
                continue
            found: FunctionKey | None = None
            if value[0] == "pf":
                found = (value[1], value[2])
            elif value[0] == "pi":
                found = self.analysis.resolver.find_method(value[1], value[2], "__call__")
            elif value[0] in ("x", "xi") and isinstance(value[1], str):
                name = value[1].rsplit(".", 1)[-1]
                library = Dependency(name, "", 0, LIBRARY)
                if library not in into:
                    into.append(library)
                continue
            if found is None or found in seen:
                continue
            seen.add(found)
            facts = self._function(found)
            if facts is None:
                continue
            runs_in = EVENT_LOOP if facts.is_async else THREADPOOL
            name = found[1].split("#", 1)[0].replace(".<locals>", "")
            into.append(Dependency(name, display_path(Path(found[0])), facts.line, runs_in))
            if facts.is_async:
                on_loop.append(found)
            self._dependencies(found, facts, into, on_loop, seen, depth + 1)

    def _declared(self, path: str, function: FunctionFacts) -> list[tuple[str, Ref]]:
        """The dependency refs a function declares: `Depends(...)` defaults, `Annotated`
        metadata (also through aliases) and a route decorator's `dependencies=[...]`."""
        found: list[tuple[str, Ref]] = []
        for param in function.params:
            default = param.default
            if default is not None and default[0] == "c" and self._is_marker(path, default[1]):
                target = default[2][0] if default[2] else param.annotation
                if target is not None:
                    found.append((path, target))
                continue
            found.extend(self._from_annotation(path, param.annotation, 0))
        for decorator in function.decorators:
            if decorator is None or decorator[0] != "c":
                continue
            for keyword, value in decorator[3]:
                if keyword == "dependencies" and value is not None and value[0] == "l":
                    for item in value[1]:
                        if (
                            item is not None
                            and item[0] == "c"
                            and self._is_marker(path, item[1])
                            and item[2]
                        ):
                            found.append((path, item[2][0]))
        return found

    def _dependency_targets(self, items: list[tuple[str, Ref]]) -> list[tuple[str, Ref]]:
        """The dependencies `Depends(x)` items of a `dependencies=[...]` list name."""
        return [
            (path, item[2][0])
            for path, item in items
            if item[0] == "c" and item[2] and self._is_marker(path, item[1])
        ]

    def _from_annotation(
        self, path: str, annotation: Ref | None, depth: int
    ) -> list[tuple[str, Ref]]:
        if annotation is None or depth > 4:
            return []
        if annotation[0] == "t":
            inner, marker_call = annotation[1], annotation[2]
            if marker_call is None:
                return []
            if marker_call[0] == "c" and self._is_marker(path, marker_call[1]):
                target = marker_call[2][0] if marker_call[2] else inner
                return [(path, target)] if target is not None else []
            return [(path, marker_call)]
        if annotation[0] in ("n", "a"):
            value = self.analysis.resolver.eval(path, annotation, annotation=True)
            if value is not None and value[0] == "alias":
                return self._from_annotation(value[1], value[2], depth + 1)
        return []

    def _is_marker(self, path: str, callee: Ref | None) -> bool:
        return self.analysis.resolver.is_dependency_marker(path, callee)

    # -- coroutines and findings ------------------------------------------------------------------
    def _with_reached_coroutines(self, start: list[FunctionKey]) -> list[FunctionKey]:
        """`start` and every project coroutine they call, await or pass along, transitively."""
        order = list(dict.fromkeys(start))
        seen = set(order)
        for key in start:
            for target in self.analysis.index.coroutines_reached_from(*key):
                if target not in seen:
                    seen.add(target)
                    order.append(target)
        return order

    def _function(self, key: FunctionKey) -> FunctionFacts | None:
        facts = self.analysis.project.facts_for(key[0])
        return facts.functions.get(key[1]) if facts is not None else None

    def _findings_in(self, key: FunctionKey) -> list[Finding]:
        path, qualname = key
        by_function = self._findings.get(path)
        if by_function is None:
            by_function = self._findings_by_function(path)
            self._findings[path] = by_function
        return by_function.get(qualname, [])

    def _findings_by_function(self, path: str) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in check_one(self.analysis, Path(path)).findings:
            grouped.setdefault(finding.function, []).append(finding)
        return grouped
