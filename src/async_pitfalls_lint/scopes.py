"""Which coroutines run on the event loop, and why.

With `scope = "fastapi"` (the default) the roots are the async handlers FastAPI and Starlette
call (routes.py), found across the whole project; every project coroutine they call or await,
or hand over as a callable (`add_task(send_email)`), runs on the loop too, transitively and
across modules. Plain `def` handlers run in the threadpool and are not roots. With
`scope = "all"` every `async def` is event-loop code. A coroutine reached through a receiver
chosen at run time (`await self.store.commit()` with `store` a GitStore or a DbStore) runs on
the loop whichever candidate it is: each one is followed, up to `max-candidates`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from dataclasses import dataclass

from async_pitfalls_lint.cache import Bundle
from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.facts import CallSite, Ref
from async_pitfalls_lint.names import (
    Arguments,
    Resolver,
    Value,
    candidates,
    qualified_name,
    receiver_of,
)
from async_pitfalls_lint.project import FACTS_KIND, Observation, Project
from async_pitfalls_lint.routes import Handler, RouteFinder
from async_pitfalls_lint.surface import (
    SurfaceRecord,
    edges_digest,
    surface_digest,
    variant_digest,
)


@dataclass(frozen=True)
class Reason:
    """Why a function runs on the event loop: the handler it serves, and the way there."""

    handler: Handler
    via: tuple[str, ...] = ()  # names of the coroutines between the handler and this function
    # How the last of them reached this one: "" called or awaited, "task" started as a task
    # (`asyncio.create_task(...)`), "background" handed to BackgroundTasks, "passed" handed to
    # another call as a callable.
    how: str = ""

    @property
    def is_handler(self) -> bool:
        return not self.via

    def describe(self, name: str) -> str:
        if not self.via:
            return self.handler.describe()
        handler = self.handler.describe()
        if self.how == "task":
            return f"coroutine {name}() started as a task from {handler}"
        if self.how == "background":
            return f"background task {name}() scheduled by {handler}"
        if self.how == "passed":
            return f"coroutine {name}() passed on from {handler}"
        return f"coroutine {name}() awaited from {handler}"


def _name(qualname: str) -> str:
    return qualname.split("#", 1)[0].replace(".<locals>", "")


class EventLoopIndex:
    def __init__(
        self, project: Project, resolver: Resolver, routes: RouteFinder, scope: str
    ) -> None:
        self.project = project
        self.resolver = resolver
        self.routes = routes
        self.scope = scope
        self._built = False
        # Typed values call sites pass to each coroutine's unannotated parameters (a few).
        self._arguments: dict[tuple[str, str], list[Arguments]] = {}
        self._handlers: list[Handler] = []
        self._by_path: dict[str, dict[str, Reason]] = {}
        self._scheduled: dict[tuple[str, str], list[tuple[str, str]]] = {}
        # Digests of the edges of each event-loop function, one per frame (surface.py).
        self._edge_variants: dict[tuple[str, str], list[str]] = {}
        # The index as the cache holds it, decoded one file at a time (None: built here).
        self._stored: StoredIndex | None = None
        self._validated: list[str] | None = None
        self._read_stored = False
        self._layout_key: str | None = None

    def reasons_in(self, path: str) -> dict[str, Reason]:
        """Event-loop functions of one module, by qualname."""
        if self.scope == "all":
            return self._all_coroutines(path)
        self._build()
        if self._stored is not None:
            return self._stored.reasons_in(path)
        return self._by_path.get(path, {})

    def arguments_for(self, path: str, qualname: str) -> list[Arguments]:
        """Typed values callers pass to a coroutine's unannotated parameters."""
        self._build()
        if self._stored is not None:
            return self._stored.arguments_for(path, qualname)
        return self._arguments.get((path, qualname), [])

    def all_handlers(self) -> list[Handler]:
        """Every handler (sync and async) registered anywhere in the project."""
        self._build()
        if self._stored is not None:
            return self._stored.handlers()
        return list(self._handlers)

    def reason_for(self, path: str, qualname: str) -> Reason | None:
        """Why a function runs on the event loop, or None when it does not (default scope)."""
        return self.reasons_in(path).get(qualname) if self.scope != "all" else None

    def _all_coroutines(self, path: str) -> dict[str, Reason]:
        facts = self.project.facts_for(path)
        if facts is None:
            return {}
        return {
            qualname: Reason(Handler(path, qualname, "coroutine", True, line=function.line))
            for qualname, function in facts.functions.items()
            if function.is_async
        }

    def _key(self) -> str:
        """The index's cache key (the project's layout), computed once: an index object serves
        one generation of the project's files."""
        if self._layout_key is None:
            extra = repr(self.routes.kb.extra_route_decorators)
            self._layout_key = self.project.layout_key("index", extra)
        return self._layout_key

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        if not self.project.uses_framework() and not self.routes.kb.extra_route_decorators:
            return  # nothing mentions FastAPI or Starlette: nothing is a handler
        stored = self._cached()
        changed = self._validated if stored is not None else None
        if stored is not None and changed is None:
            changed = self._changed_since(stored)
        if stored is not None and changed is not None:
            self._use(stored, changed)
            return
        cache = self.project.cache
        lock = cache.try_lock(self._key()) if cache is not None else None
        if cache is not None and lock is None and cache.locked(self._key()):
            stored = self._built_elsewhere()
            changed = self._changed_since(stored) if stored is not None else None
            if stored is not None and changed is not None:
                self._use(stored, changed)
                return
            lock = cache.try_lock(self._key())
        try:
            self._build_here()
        finally:
            if lock is not None:
                lock.release()

    def _use(self, stored: StoredIndex, changed: list[str]) -> None:
        """Use a stored index: no file changed in a way it can see (flake8 workers, reruns,
        edits that change no facts but positions)."""
        stored.moved(self.project, changed)
        self._stored = stored
        if changed and self.project.cache is not None:
            self.project.cache.put_bundle(self._key(), INDEX_KIND, stored.updated(changed))
        self.project.save_state()

    def _built_elsewhere(self) -> StoredIndex | None:
        """The index another process is building (it holds the lock): meanwhile, summarise
        candidate files it has not reached yet (from the end of its list), so its parse is
        shared; then wait for its entry."""
        cache = self.project.cache
        assert cache is not None
        key = self._key()
        candidates = [
            path for path in self.project.python_files() if self.project.is_candidate(path)
        ]
        for path in reversed(candidates):
            if not cache.locked(key):
                break
            found = self.project.file_key(path)
            if found is not None and not cache.has(found, FACTS_KIND):
                self.project.facts_for(path)
        deadline = time.monotonic() + _WAIT_FOR_BUILD
        while cache.locked(key) and time.monotonic() < deadline:
            time.sleep(0.05)
        bundle = cache.get_bundle(key, INDEX_KIND)
        return StoredIndex.parse(bundle) if bundle is not None else None

    def _build_here(self) -> None:
        self._fresh_pass()
        self.project.reads = set()
        self.project.observed = {}
        try:
            self._scan_project()
            reads, observed = self.project.reads, self.project.observed
        finally:
            self.project.reads = None
            self.project.observed = None
        if self.project.cache is not None:
            files: dict[str, _FileRecord] = {}
            for path in self.project.python_files():
                file_key = self.project.file_key(path)
                if file_key is None:
                    break
                files[path] = (file_key, self.project.scan_digest(path), path in reads)
            else:
                parts = _stored_parts(self._handlers, self._by_path, self._arguments, files)
                parts[_SURFACE_PART] = _SURFACE_CODEC.dumps(self._surfaces(observed))
                self.project.cache.put_bundle(self._key(), INDEX_KIND, parts)
            self.project.save_state()

    def _cached(self) -> StoredIndex | None:
        """The index the cache holds for the project's layout, read once."""
        if not self._read_stored:
            self._read_stored = True
            cache = self.project.cache
            bundle = cache.get_bundle(self._key(), INDEX_KIND) if cache is not None else None
            self._stored = StoredIndex.parse(bundle) if bundle is not None else None
        stored, self._stored = self._stored, None
        return stored

    def ready(self) -> bool:
        """Whether the index is built or can be had from the cache without scanning."""
        if self._built:
            return True
        if self.project.cache is None:
            return False
        stored = self._cached()
        if stored is None:
            return False
        self._stored = stored  # kept for _build
        self._validated = self._changed_since(stored, parse=_READY_PARSES)
        return self._validated is not None

    def _changed_since(self, stored: StoredIndex, parse: int | None = None) -> list[str] | None:
        """The files that changed since the index was built, when none of the changes can
        change it: same files, same text-prefilter results, no file that may edit sys.path,
        and, for every file the build looked at, facts that differ at most by positions or
        by function bodies the index does not see (`_body_edit`). None when the index must
        be built again. `parse` bounds how many changed files the build looked at are
        summarised to tell (more count as changes that matter)."""
        project = self.project
        files = stored.files
        body_edits: list[tuple[str, str]] = []
        current = project.python_files()
        if len(current) != len(files):
            return None
        changed = []
        for path in current:
            record = files.get(path)
            if record is None:
                return None
            old_key, old_scan, read = record
            key = project.file_key(path)
            if key is None:
                return None
            if key == old_key:
                continue
            if project.launch_hint(path) or project.scan_digest(path) != old_scan:
                return None
            if read:
                if parse is not None:
                    parse -= 1
                if (parse is not None and parse < 0) or project.cache is None:
                    return None
                old_interface = project.cached_interface(old_key)
                if old_interface is None:
                    return None
                if old_interface != project.interface_of(path):
                    body_edits.append((path, old_key))
            changed.append(path)
        if body_edits and not all(self._body_edit(stored, *edit) for edit in body_edits):
            return None
        return changed

    def _body_edit(self, stored: StoredIndex, path: str, old_key: str) -> bool:
        """Whether a file's facts changed only inside function bodies, in ways the index does
        not see: the surface (surface.py) is the same, each of its event-loop functions has
        the same edges in every frame the build derived them in, and reading bodies gives
        what the build observed, where it observed anything in this file, and nothing new."""
        surfaces, recorded = stored.surfaces(), stored.observations()
        old = self.project.cached_facts(old_key)
        if surfaces is None or recorded is None or old is None:
            return False
        observations, edges = surfaces.get(path, ([], {}))
        facts, problem, _ = self.project.summary_for(path)
        if old[1] != problem or surface_digest(*old) != surface_digest(facts, problem):
            return False
        self._fresh_pass()
        self.project.observed = {}
        try:
            for qualname, expected in edges.items():
                frames = [None, *stored.arguments_for(path, qualname)]
                variants = [variant_digest(f, self._edges_in(path, qualname, f)) for f in frames]
                if edges_digest(variants) != expected:
                    return False
            for kind, qualname, detail, _ in observations:
                self._observe_again(kind, path, qualname, detail)
            seen = self.project.observed
        finally:
            self.project.observed = None
        return all(recorded.get(key) == digest for key, digest in seen.items())

    def _observe_again(self, kind: str, path: str, qualname: str, detail: str) -> None:
        """Read a body again as the build did, so that what it gives is observed."""
        if kind == "result":
            self.resolver.function_result(path, qualname)
        elif kind == "item":
            self.resolver.returned_item(path, qualname, int(detail))
        elif kind == "scheduled":
            with self.resolver.frame_for(None, None):
                self._scheduled_by(path, qualname, int(detail))
        elif kind == "background":
            self._background_tasks_of(path, qualname)
        else:  # "local": a router bound in a function (routes.py)
            self.routes.is_local(path, qualname, detail)

    def _edges_in(self, path: str, qualname: str, arguments: Arguments | None) -> list[Edge]:
        with self.resolver.frame_for(None, arguments):
            return self._edges(path, qualname)

    def _fresh_pass(self) -> None:
        """Derive afresh, so that every body read is observed (names.Resolver.forget_values)."""
        self.resolver.forget_values()
        self._scheduled.clear()

    def _surfaces(self, observed: dict[Observation, str]) -> dict[str, SurfaceRecord]:
        """Per file: what reading its bodies gave, and its functions' edge digests."""
        found: dict[str, SurfaceRecord] = {}
        for (kind, path, qualname, detail), digest in sorted(observed.items()):
            found.setdefault(path, ([], {}))[0].append((kind, qualname, detail, digest))
        for (path, qualname), variants in self._edge_variants.items():
            found.setdefault(path, ([], {}))[1][qualname] = edges_digest(variants)
        return found

    def _index(self, reasons: dict[tuple[str, str], Reason]) -> None:
        for (where, qualname), reason in reasons.items():
            self._by_path.setdefault(where, {})[qualname] = reason

    def _scan_project(self) -> dict[tuple[str, str], Reason]:
        candidates = [
            path for path in self.project.python_files() if self.project.is_candidate(path)
        ]
        # flake8 runs one such scan per worker process: starting each at a different file lets
        # the workers share parsed facts through the disk cache instead of parsing everything.
        start = os.getpid() % len(candidates) if candidates else 0
        for path in candidates[start:] + candidates[:start]:
            self.routes.note_include_prefixes(path)
        handlers: list[Handler] = []
        for path in candidates:
            handlers.extend(self.routes.handlers_in(path))
        self._handlers = handlers
        reasons: dict[tuple[str, str], Reason] = {}
        queue: deque[tuple[str, str, Arguments | None]] = deque()
        handlers.extend(self._background_tasks_of_sync_handlers(handlers))
        for handler in sorted(handlers, key=_handler_priority):
            key = (handler.path, handler.qualname)
            # Starlette runs sync startup/shutdown handlers directly on the loop, not in a thread,
            # and python-socketio's AsyncServer calls sync event handlers on the loop too.
            runs_on_loop = handler.is_async or handler.kind in ("event_handler", "socketio")
            if runs_on_loop and key not in reasons:
                reasons[key] = Reason(handler)
                queue.append((*key, None))
        while queue:
            path, qualname, arguments = queue.popleft()
            reason = reasons[(path, qualname)]
            edges = self._edges_in(path, qualname, arguments)
            self._edge_variants.setdefault((path, qualname), []).append(
                variant_digest(arguments, edges)
            )
            for target, target_arguments, how in edges:
                if target not in reasons:
                    reasons[target] = Reason(reason.handler, (*reason.via, _name(qualname)), how)
                    queue.append((*target, None))
                    for wrapper in self._async_wrappers(*target):
                        if wrapper not in reasons:  # awaiting the coroutine awaits its wrapper
                            reasons[wrapper] = reasons[target]
                            queue.append((*wrapper, None))
                seen = self._arguments.setdefault(target, [])
                if (
                    target_arguments is not None
                    and target_arguments not in seen
                    and len(seen) < _MAX_BINDINGS
                ):
                    seen.append(target_arguments)
                    queue.append((*target, target_arguments))
        self._index(reasons)
        return reasons

    def _async_wrappers(self, path: str, qualname: str) -> list[tuple[str, str]]:
        """The async wrappers the project's own decorators put around a coroutine."""
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        if function is None or not function.decorators:
            return []
        return [
            (wrapper_path, wrapper.qualname)
            for wrapper_path, wrapper in self.resolver.decorator_wrappers(path, function)
            if wrapper.is_async
        ]

    def _background_tasks_of_sync_handlers(self, handlers: list[Handler]) -> list[Handler]:
        """Coroutines a threadpool handler schedules with BackgroundTasks: Starlette awaits
        them on the event loop after the response."""
        found = []
        for handler in handlers:
            if not handler.is_async:
                found.extend(self._background_tasks_of(handler.path, handler.qualname))
        return found

    def _background_tasks_of(self, path: str, qualname: str) -> list[Handler]:
        found = []
        offloads = self.routes.kb.offloads
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        for site in function.calls if function is not None else ():
            offload = offloads.get(qualified_name(self.resolver.eval(path, site.callee)))
            if offload is None or offload.runs_in != "background":
                continue
            task = self.resolver.eval(path, site.arg(offload.position))
            if task is None or task[0] != "pf":
                continue
            task_facts = self.project.facts_for(task[1])
            coroutine = task_facts.functions.get(task[2]) if task_facts is not None else None
            if coroutine is not None and coroutine.is_async:
                found.append(
                    Handler(task[1], task[2], "background_task", True, line=coroutine.line)
                )
        # Positions left out: a body edit moves the task's line with its file, not its place.
        self.project.observe(
            "background", path, qualname, "", [(task.path, task.qualname) for task in found]
        )
        return found

    def coroutines_reached_from(self, path: str, qualname: str) -> list[tuple[str, str]]:
        """The function and every project coroutine it calls, awaits or hands over, transitively
        (breadth first, each once)."""
        order = [(path, qualname)]
        seen = set(order)
        for key in order:
            for target in self._coroutines_used_by(*key):
                if target not in seen:
                    seen.add(target)
                    order.append(target)
        return order

    def _coroutines_used_by(self, path: str, qualname: str) -> list[tuple[str, str]]:
        return [target for target, _, _ in self._edges(path, qualname)]

    def _edges(self, path: str, qualname: str) -> list[Edge]:
        """Project coroutines a function calls, awaits or hands over, each with the typed values
        the call passes to its unannotated parameters (evaluated in the current frame) and how
        it is reached (see Reason.how)."""
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        if function is None:
            return []
        found: list[Edge] = []
        handovers = [self._handover(path, site) for site in function.calls]
        started = {
            (argument[1], argument[2])
            for site, how in zip(function.calls, handovers, strict=True)
            if how == "task"
            for argument in (site.arg(0, "coro"),)
            if argument is not None and argument[0] == "c"
        }
        for site, how in zip(function.calls, handovers, strict=True):
            called = "task" if (site.callee, site.args) in started else ""
            self._collect(path, site.callee, found, site, called)
            for argument in (*site.args, *(value for _, value in site.kwargs)):
                if argument is not None and argument[0] in ("n", "a"):
                    self._collect(path, argument, found, None, how)
            found.extend((target, None, "task") for target in self._scheduled_through(path, site))
        for site in function.lambda_calls:
            self._collect(path, site.callee, found, site, "")
        for bindings in function.locals.values():
            for bound in bindings:
                # Dispatch tables: `handlers = {"join": on_join}`, then `await handlers[kind]()`.
                for item in _table_items(bound):
                    self._collect(path, item, found, None, "")
        return found

    def _scheduled_through(self, path: str, site: CallSite) -> list[tuple[str, str]]:
        """Coroutines a project sync function called here starts (`create_task(notify())`
        inside a helper): they run on this loop too. Followed a few sync calls deep."""
        value = self.resolver.eval(path, site.callee)
        if value is None or value[0] != "pf" or site.awaited:
            return []
        return self._scheduled_by(value[1], value[2], _SCHEDULING_DEPTH)

    def _scheduled_by(self, path: str, qualname: str, depth: int) -> list[tuple[str, str]]:
        key = (path, qualname)
        known = self._scheduled.get(key)
        if known is not None:
            return known
        self._scheduled[key] = []  # a cycle of sync helpers schedules nothing more
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        if function is None or function.is_async or function.is_generator or depth <= 0:
            return []
        found: list[tuple[str, str]] = []
        with self.resolver.frame_for(None, None):
            for site in function.calls:
                # The callee, and coroutine functions handed over (`start(worker)`).
                handed = [a for a in (*site.args, *(v for _, v in site.kwargs)) if a is not None]
                for position, ref in enumerate([site.callee, *handed]):
                    value = self.resolver.eval(path, ref)
                    if value is None or value[0] != "pf":
                        continue
                    callee = self.project.facts_for(value[1])
                    target = callee.functions.get(value[2]) if callee is not None else None
                    if target is None:
                        continue
                    if target.is_async:
                        found.append((value[1], value[2]))
                    elif position == 0:
                        found.extend(self._scheduled_by(value[1], value[2], depth - 1))
        self._scheduled[key] = found
        self.project.observe("scheduled", path, qualname, str(depth), found)
        return found

    def _handover(self, path: str, site: CallSite) -> str:
        """What a call does with the callables and coroutines passed to it."""
        callee = qualified_name(self.resolver.eval(path, site.callee))
        kb = self.routes.kb
        if callee in kb.task_starters:
            return "task"
        offload = kb.offloads.get(callee)
        if offload is not None and offload.runs_in == "background":
            return "background"
        return "passed"

    def _collect(
        self,
        path: str,
        ref: Ref | None,
        into: list[Edge],
        site: CallSite | None,
        how: str,
    ) -> None:
        members = candidates(self.resolver.eval(path, ref))
        if len(members) > self.resolver.max_candidates:
            return
        for value in members:
            self._collect_value(path, value, into, site, how)

    def _collect_value(
        self,
        path: str,
        value: Value,
        into: list[Edge],
        site: CallSite | None,
        how: str,
    ) -> None:
        targets: list[tuple[str, str]] = []
        if value[0] == "pf":
            targets.append((value[1], value[2]))
            targets.extend((path, qualname) for path, qualname, _ in self.resolver.overrides(value))
        elif value[0] == "pi" and site is not None:
            method = self.resolver.find_method(value[1], value[2], "__call__")
            if method is not None:
                targets.append(method)
        for target in targets:
            facts = self.project.facts_for(target[0])
            function = facts.functions.get(target[1]) if facts is not None else None
            if function is None or not function.is_async:
                continue
            arguments = None
            if site is not None:
                receiver = receiver_of(value) if value[0] == "pf" else None
                arguments = self.resolver.bind_arguments(path, site, target[0], function, receiver)
            into.append((target, arguments, how))


Edge = tuple[tuple[str, str], Arguments | None, str]  # (path, qualname), arguments, how
_MAX_BINDINGS = 3
# Changed files `ready()` summarises to tell whether the cached index holds: an editor's few;
# beyond that the parallel summarising of a full build is the cheaper way.
_READY_PARSES = 16
_SCHEDULING_DEPTH = 3
# How long a process waits for another's index build before building one itself (seconds).
_WAIT_FOR_BUILD = 600.0
# The whole-project index, as the cache keeps it: a bundle (cache.Bundle) of one part per file
# (the handlers registered in it, the reasons of its event-loop functions, with each reason's
# handler named by its file and position there, and the typed arguments passed to its
# coroutines), the order of all handlers, and what each file held when the index was built:
# content key, text-prefilter digest, whether the build read its facts.
_FileRecord = tuple[str, str, bool]
_StoredReason = tuple[str, int, tuple[str, ...], str]  # handler file, position, via, how
_Part = tuple[list[Handler], dict[str, _StoredReason], dict[str, list[Arguments]]]
INDEX_KIND = "index"
_PART_CODEC: Codec[_Part] = Codec("index-part", _Part)
_FILES_CODEC: Codec[dict[str, _FileRecord]] = Codec("index-files", dict[str, _FileRecord])
_ORDER_CODEC: Codec[list[tuple[str, int]]] = Codec("index-order", list[tuple[str, int]])
_SURFACE_CODEC: Codec[dict[str, SurfaceRecord]] = Codec("index-surface", dict[str, SurfaceRecord])
# Part names that cannot be file paths (those are absolute).
_FILES_PART = ":files"
_SURFACE_PART = ":surface"
_ORDER_PART = ":order"
_EMPTY_PART: _Part = ([], {}, {})
_PRIORITY = {"route": 0, "websocket": 1, "middleware": 2, "dependency": 3}


def _stored_parts(
    handlers: list[Handler],
    by_path: dict[str, dict[str, Reason]],
    arguments: dict[tuple[str, str], list[Arguments]],
    files: dict[str, _FileRecord],
) -> dict[str, bytes]:
    per_file: dict[str, _Part] = {}
    position: dict[Handler, tuple[str, int]] = {}

    def part(path: str) -> _Part:
        return per_file.setdefault(path, ([], {}, {}))

    def place(handler: Handler) -> tuple[str, int]:
        found = position.get(handler)
        if found is None:
            listed = part(handler.path)[0]
            found = position[handler] = (handler.path, len(listed))
            listed.append(handler)
        return found

    order = [place(handler) for handler in handlers]
    for path, reasons in by_path.items():
        stored = part(path)[1]
        for qualname, reason in reasons.items():
            stored[qualname] = (*place(reason.handler), reason.via, reason.how)
    for (path, qualname), passed in arguments.items():
        if passed:
            part(path)[2][qualname] = passed
    parts = {path: _PART_CODEC.dumps(value) for path, value in per_file.items()}
    parts[_ORDER_PART] = _ORDER_CODEC.dumps(order)
    parts[_FILES_PART] = _FILES_CODEC.dumps(files)
    return parts


class StoredIndex:
    """An index read from the cache, each file's part decoded when first needed: a run that
    checks one file reads the parts of that file and of the handlers that reach it."""

    def __init__(self, bundle: Bundle, files: dict[str, _FileRecord]) -> None:
        self._bundle = bundle
        self.files = files
        self._parts: dict[str, _Part] = {}
        self._reasons: dict[str, dict[str, Reason]] = {}
        self._moved: set[str] = set()
        self._project: Project | None = None
        self._surfaces: dict[str, SurfaceRecord] | None = None
        self._surfaces_read = False
        self._observations: dict[Observation, str] | None = None

    @classmethod
    def parse(cls, bundle: Bundle) -> StoredIndex | None:
        files = bundle.part(_FILES_PART, _FILES_CODEC)
        return cls(bundle, files) if files is not None else None

    def moved(self, project: Project, changed: list[str]) -> None:
        """Files whose code only moved: their handlers get the line their function has now."""
        self._project = project
        self._moved = set(changed)

    def _part(self, path: str) -> _Part:
        known = self._parts.get(path)
        if known is None:
            known = self._bundle.part(path, _PART_CODEC) if path in self.files else None
            if known is None:
                known = _EMPTY_PART
            elif path in self._moved and self._project is not None:
                known = (_fresh_lines(self._project, path, known[0]), *known[1:])
            self._parts[path] = known
        return known

    def _handler(self, path: str, position: int) -> Handler:
        listed = self._part(path)[0]
        if not 0 <= position < len(listed):
            raise LookupError(f"index names handler {position} of {path}, which it lacks")
        return listed[position]

    def reasons_in(self, path: str) -> dict[str, Reason]:
        known = self._reasons.get(path)
        if known is None:
            known = {
                qualname: Reason(self._handler(where, position), via, how)
                for qualname, (where, position, via, how) in self._part(path)[1].items()
            }
            self._reasons[path] = known
        return known

    def arguments_for(self, path: str, qualname: str) -> list[Arguments]:
        return self._part(path)[2].get(qualname, [])

    def surfaces(self) -> dict[str, SurfaceRecord] | None:
        """What the build recorded to tell body edits (None: a bundle without the record),
        decoded once."""
        if not self._surfaces_read:
            self._surfaces_read = True
            self._surfaces = self._bundle.part(_SURFACE_PART, _SURFACE_CODEC)
        return self._surfaces

    def observations(self) -> dict[Observation, str] | None:
        """Every body read the build observed, by key (Project.observe), with its digest."""
        surfaces = self.surfaces()
        if surfaces is None:
            return None
        if self._observations is None:
            self._observations = {
                (kind, where, qualname, detail): digest
                for where, (found, _) in surfaces.items()
                for kind, qualname, detail, digest in found
            }
        return self._observations

    def handlers(self) -> list[Handler]:
        order = self._bundle.part(_ORDER_PART, _ORDER_CODEC) or []
        return [self._handler(path, position) for path, position in order]

    def updated(self, changed: list[str]) -> dict[str, bytes]:
        """The bundle's parts with the changed files' current keys and handler lines."""
        assert self._project is not None
        parts = {name: self._bundle.raw(name) or b"" for name in self._bundle.names()}
        for path in changed:
            if path in parts:
                parts[path] = _PART_CODEC.dumps(self._part(path))
            record = self.files[path]
            self.files[path] = (self._project.file_key(path) or "", *record[1:])
        parts[_FILES_PART] = _FILES_CODEC.dumps(self.files)
        return parts


def _fresh_lines(project: Project, path: str, handlers: list[Handler]) -> list[Handler]:
    facts = project.facts_for(path)
    if facts is None:
        return handlers
    fresh = []
    for handler in handlers:
        function = facts.functions.get(handler.qualname)
        line = function.line if function is not None else handler.line
        fresh.append(dataclasses.replace(handler, line=line) if line != handler.line else handler)
    return fresh


def _handler_priority(handler: Handler) -> tuple[int, str, int]:
    return (_PRIORITY.get(handler.kind, 4), handler.path, handler.line)


def _table_items(ref: Ref | None) -> list[Ref]:
    if ref is None:
        return []
    if ref[0] == "l":
        return [item for item in ref[1] if item is not None and item[0] in ("n", "a")]
    if ref[0] == "m":
        return [value for _, value in ref[1] if value is not None and value[0] in ("n", "a")]
    return []
