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
from collections import deque
from dataclasses import dataclass

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
from async_pitfalls_lint.project import FACTS_CODEC, Project, interface_digest
from async_pitfalls_lint.routes import Handler, RouteFinder


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
        self._reasons: dict[tuple[str, str], Reason] | None = None
        # Typed values call sites pass to each coroutine's unannotated parameters (a few).
        self.arguments: dict[tuple[str, str], list[Arguments]] = {}
        self.handlers: list[Handler] = []
        self._by_path: dict[str, dict[str, Reason]] = {}
        self._scheduled: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def reasons_in(self, path: str) -> dict[str, Reason]:
        """Event-loop functions of one module, by qualname."""
        if self.scope == "all":
            return self._all_coroutines(path)
        self._build()
        return self._by_path.get(path, {})

    def all_handlers(self) -> list[Handler]:
        """Every handler (sync and async) registered anywhere in the project."""
        self._build()
        return list(self.handlers)

    def reason_for(self, path: str, qualname: str) -> Reason | None:
        """Why a function runs on the event loop, or None when it does not (default scope)."""
        return self._build().get((path, qualname))

    def _all_coroutines(self, path: str) -> dict[str, Reason]:
        facts = self.project.facts_for(path)
        if facts is None:
            return {}
        return {
            qualname: Reason(Handler(path, qualname, "coroutine", True, line=function.line))
            for qualname, function in facts.functions.items()
            if function.is_async
        }

    def _build(self) -> dict[tuple[str, str], Reason]:
        if self._reasons is not None:
            return self._reasons
        if not self.project.uses_framework() and not self.routes.kb.extra_route_decorators:
            self._reasons = {}  # nothing mentions FastAPI or Starlette: nothing is a handler
            return self._reasons
        cache = self.project.cache
        key = self.project.layout_key("index", repr(self.routes.kb.extra_route_decorators))
        cached = cache.get(key, INDEX_CODEC) if cache is not None else None
        if cached is not None:
            handlers, reasons, arguments, files = cached
            changed = self._changed_since(files)
            if changed is not None:
                # No file changed in a way the index can see (flake8 workers, reruns, edits
                # that change no facts but positions): the index still holds.
                self.handlers, reasons = _moved(self.project, changed, handlers, reasons)
                self.arguments = arguments
                self._index(reasons)
                if changed and cache is not None:
                    for path in changed:
                        files[path] = (self.project.file_key(path) or "", *files[path][1:])
                    cache.put(key, INDEX_CODEC, (self.handlers, reasons, self.arguments, files))
                self.project.save_state()
                return reasons
        self.project.reads = set()
        try:
            reasons = self._scan_project()
            reads = self.project.reads
        finally:
            self.project.reads = None
        if cache is not None:
            files = {}
            for path in self.project.python_files():
                file_key = self.project.file_key(path)
                if file_key is None:
                    break
                files[path] = (file_key, self.project.scan_digest(path), path in reads)
            else:
                cache.put(key, INDEX_CODEC, (self.handlers, reasons, self.arguments, files))
            self.project.save_state()
        return reasons

    def ready(self) -> bool:
        """Whether the index is built or can be had from the cache without scanning."""
        if self._reasons is not None:
            return True
        cache = self.project.cache
        if cache is None:
            return False
        key = self.project.layout_key("index", repr(self.routes.kb.extra_route_decorators))
        cached = cache.get(key, INDEX_CODEC)
        if cached is None:
            return False
        return self._changed_since(cached[3], parse=_READY_PARSES) is not None

    def _changed_since(
        self, files: dict[str, _FileRecord], parse: int | None = None
    ) -> list[str] | None:
        """The files that changed since the index was built, when none of the changes can
        change it: same files, same text-prefilter results, no file that may edit sys.path,
        and facts that differ at most by positions for every file the build looked at.
        None when the index must be built again. `parse` bounds how many changed files the
        build looked at are summarised to tell (more count as changes that matter)."""
        project = self.project
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
                old = project.cache.get(old_key, FACTS_CODEC)
                if old is None:
                    return None
                new = interface_digest(project.facts_for(path), project.problem_for(path))
                if interface_digest(*old) != new:
                    return None
            changed.append(path)
        return changed

    def _index(self, reasons: dict[tuple[str, str], Reason]) -> None:
        self._reasons = reasons
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
        self.handlers = handlers
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
            with self.resolver.frame_for(None, arguments):
                edges = self._edges(path, qualname)
            for target, target_arguments, how in edges:
                if target not in reasons:
                    reasons[target] = Reason(reason.handler, (*reason.via, _name(qualname)), how)
                    queue.append((*target, None))
                    for wrapper in self._async_wrappers(*target):
                        if wrapper not in reasons:  # awaiting the coroutine awaits its wrapper
                            reasons[wrapper] = reasons[target]
                            queue.append((*wrapper, None))
                seen = self.arguments.setdefault(target, [])
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
        offloads = self.routes.kb.offloads
        for handler in handlers:
            if handler.is_async:
                continue
            facts = self.project.facts_for(handler.path)
            function = facts.functions.get(handler.qualname) if facts is not None else None
            for site in function.calls if function is not None else ():
                offload = offloads.get(
                    qualified_name(self.resolver.eval(handler.path, site.callee))
                )
                if offload is None or offload.runs_in != "background":
                    continue
                task = self.resolver.eval(handler.path, site.arg(offload.position))
                if task is None or task[0] != "pf":
                    continue
                task_facts = self.project.facts_for(task[1])
                coroutine = task_facts.functions.get(task[2]) if task_facts is not None else None
                if coroutine is not None and coroutine.is_async:
                    found.append(
                        Handler(task[1], task[2], "background_task", True, line=coroutine.line)
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
# The whole-project index: handlers, reasons, arguments, and what each file held when it was
# built: content key, text-prefilter digest, whether the build read its facts.
_FileRecord = tuple[str, str, bool]
_Index = tuple[
    list[Handler],
    dict[tuple[str, str], Reason],
    dict[tuple[str, str], list[Arguments]],
    dict[str, _FileRecord],
]
INDEX_CODEC: Codec[_Index] = Codec("index", _Index)
_PRIORITY = {"route": 0, "websocket": 1, "middleware": 2, "dependency": 3}


def _moved(
    project: Project,
    changed: list[str],
    handlers: list[Handler],
    reasons: dict[tuple[str, str], Reason],
) -> tuple[list[Handler], dict[tuple[str, str], Reason]]:
    """Handlers of files whose code only moved, with the line their function has now."""
    if not changed:
        return handlers, reasons
    moved = set(changed)

    def fresh(handler: Handler) -> Handler:
        if handler.path not in moved:
            return handler
        facts = project.facts_for(handler.path)
        function = facts.functions.get(handler.qualname) if facts is not None else None
        if function is None or function.line == handler.line:
            return handler
        return dataclasses.replace(handler, line=function.line)

    return [fresh(handler) for handler in handlers], {
        key: dataclasses.replace(reason, handler=fresh(reason.handler))
        if reason.handler.path in moved
        else reason
        for key, reason in reasons.items()
    }


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
