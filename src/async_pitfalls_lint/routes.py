"""FastAPI and Starlette discovery: which functions the framework calls, and how.

A handler is any function the framework invokes: route and websocket endpoints (decorators,
`add_api_route`, `Route(...)`), dependencies (`Depends`/`Security` anywhere, including
`Annotated` aliases and `dependencies=[...]`), middleware (`@app.middleware`,
`BaseHTTPMiddleware.dispatch`, ASGI classes given to `add_middleware`), exception handlers and
lifespan/startup/shutdown handlers. Apps and routers are recognised by type, through imports,
factories and subclasses; when a receiver cannot be resolved in a module that imports FastAPI or
Starlette, the decorator's shape (`@x.get("/path")`) decides.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from async_pitfalls_lint.facts import CallSite, FunctionFacts, ModuleFacts, Ref
from async_pitfalls_lint.knowledge import EventServer, KnowledgeBase, Registration
from async_pitfalls_lint.names import Resolver, Value, candidates
from async_pitfalls_lint.project import Project

_FRAMEWORK_PREFIXES = ("fastapi", "starlette")
_PATH_KINDS = ("route", "websocket")


@dataclass(frozen=True)
class Handler:
    """A function the framework calls, and why."""

    path: str
    qualname: str
    # route, websocket, dependency, middleware, exception_handler, event_handler, lifespan,
    # socketio (python-socketio event handlers), background_task, coroutine, callback (an
    # override of a library class's async method, which the library awaits)
    kind: str
    is_async: bool
    method: str = ""
    route_path: str = ""
    line: int = 0
    # An async wrapper a project decorator puts around the route: it runs for the route, but it
    # is not the route (it awaits it, so it cannot become a plain def).
    wrapper: bool = False

    @property
    def can_be_plain_def(self) -> bool:
        """FastAPI runs a plain `def` route or dependency in its threadpool; every other handler
        (middleware, lifespan, startup, exception handlers, websockets, tasks) must stay async
        or would run on the loop anyway."""
        return self.kind in ("route", "dependency") and not self.wrapper

    @property
    def name(self) -> str:
        return self.qualname.split("#", 1)[0].replace(".<locals>", "")

    def describe(self) -> str:
        name = self.name
        kind = self.kind
        prefix = "async " if self.is_async else ""
        if self.wrapper:
            target = " ".join(part for part in (self.method, self.route_path) if part)
            around = f"{kind} {target}" if target else kind
            return f"{prefix}decorator wrapper {name} (around {around})"
        if kind == "route":
            target = " ".join(part for part in (self.method, self.route_path) if part)
            return f"{prefix}route {target} ({name})" if target else f"{prefix}route {name}"
        if kind == "websocket":
            return (
                f"{prefix}websocket {self.route_path} ({name})"
                if self.route_path
                else f"{prefix}websocket {name}"
            )
        if kind == "socketio":
            event = f" {self.route_path!r}" if self.route_path else ""
            return f"{prefix}socket.io handler{event} ({name})"
        labels = {
            "dependency": "dependency",
            "middleware": "middleware",
            "exception_handler": "exception handler",
            "event_handler": "startup/shutdown handler",
            "lifespan": "lifespan handler",
            "background_task": "background task",
            "coroutine": "function",
            "callback": "library callback",
        }
        return f"{prefix}{labels.get(kind, kind)} {name}"


class RouteFinder:
    """Finds the handlers a module registers (handlers may live in other modules)."""

    def __init__(self, project: Project, resolver: Resolver, kb: KnowledgeBase) -> None:
        self.project = project
        self.resolver = resolver
        self.kb = kb
        self._include_prefixes: dict[tuple[str, str], str] = {}
        # include_router calls: router binding -> (including app/router binding, the call's
        # `dependencies=[...]` items with the module they are written in).
        self._includes: (
            dict[tuple[str, str], list[tuple[tuple[str, str] | None, list[tuple[str, Ref]]]]] | None
        ) = None

    # -- entry point ----------------------------------------------------------------------------
    def handlers_in(self, path: str) -> list[Handler]:
        facts = self.project.facts_for(path)
        if facts is None:
            return []
        framework = _imports_framework(facts)
        found: list[Handler] = []
        for function in facts.functions.values():
            for decorator in function.decorators:
                handler = self._from_decorator(path, function, decorator, framework)
                if handler is not None:
                    found.append(handler)
                    found.extend(self._decorator_wrappers(path, function, handler))
        for _scope, site in facts.registrations:
            found.extend(self._from_registration(path, site, framework))
        for _scope, marker, dependency in facts.dependencies:
            handler = self._from_dependency(path, marker, dependency, framework)
            if handler is not None:
                found.append(handler)
        for qualname in facts.classes:
            found.extend(self._from_class(path, qualname))
        return found

    def note_include_prefixes(self, path: str) -> None:
        """Remember `include_router(router, prefix=...)` so route paths show the full path."""
        facts = self.project.facts_for(path)
        if facts is None:
            return
        for _scope, site in facts.registrations:
            if _last(site.callee) != "include_router":
                continue
            prefix = _string(site.arg(-1, "prefix"))
            router = site.arg(0, "router")
            site_key = self._binding_site(path, router)
            if prefix and site_key is not None:
                self._include_prefixes[site_key] = prefix

    # -- decorators -----------------------------------------------------------------------------
    def _from_decorator(
        self, path: str, function: FunctionFacts, decorator: Ref | None, framework: bool
    ) -> Handler | None:
        registration = self.decorator_registration(path, decorator, framework)
        if registration is None:
            return None
        kind, method, route_path = registration
        return self._handler(path, function, kind, method, route_path)

    def decorator_registration(
        self, path: str, decorator: Ref | None, framework: bool
    ) -> tuple[str, str, str] | None:
        """(kind, HTTP method, route path) when a decorator registers a handler, else None."""
        if decorator is None:
            return None
        callee, args, kwargs = (
            (decorator[1], decorator[2], decorator[3])
            if decorator[0] == "c"
            else (decorator, (), ())
        )
        if callee is None:
            return None
        site = CallSite(callee, args, kwargs, False)
        if self._is_extra_route_decorator(path, callee):
            return ("route", _method_name(callee, site), _string(site.arg(0, "path")) or "")
        if callee[0] != "a":
            return None
        server = self._event_server(path, callee[1])
        if server is not None:
            if callee[2] not in server.decorators:
                return None
            return (server.kind, "", _string(site.arg(0, "event")) or "")
        kind = self.kb.decorator_kinds.get(callee[2])
        if kind is None:
            return None
        receiver = self.resolver.eval(path, callee[1])
        if receiver is None:
            if not framework or not _looks_like_registration(kind, site):
                return None
        elif not self.is_app(receiver):
            return None
        route_path = ""
        if kind in _PATH_KINDS:
            route_path = self._router_prefix(path, callee[1]) + (_string(site.arg(0, "path")) or "")
        return (kind, _method_name(callee, site) if kind == "route" else "", route_path)

    def decorator_wrappers(self, handler: Handler) -> list[Handler]:
        """The async wrappers project decorators put around a route (they run for it)."""
        function = self._function(handler.path, handler.qualname)
        return self._decorator_wrappers(handler.path, function, handler) if function else []

    # -- dependencies declared on routers and applications --------------------------------------
    def router_dependencies(self, handler: Handler) -> list[tuple[str, Ref]]:
        """The `dependencies=[...]` items that apply to a route from outside its own decorator:
        those of the router (or app) it is registered on, of the include_router calls that
        include that router, and of the routers and apps those include it into."""
        function = self._function(handler.path, handler.qualname)
        if function is None:
            return []
        framework = True
        found: list[tuple[str, Ref]] = []
        for decorator in function.decorators:
            if decorator is None or decorator[0] != "c" or decorator[1][0] != "a":
                continue
            if self.decorator_registration(handler.path, decorator, framework) is None:
                continue
            site = self._binding_site(handler.path, decorator[1][1])
            if site is not None:
                found.extend(self._dependencies_of_router(site, 0, set()))
        return found

    def _dependencies_of_router(
        self, site: tuple[str, str], depth: int, seen: set[tuple[str, str]]
    ) -> list[tuple[str, Ref]]:
        if depth > 8 or site in seen:
            return []
        seen.add(site)
        module_path, name = site
        found: list[tuple[str, Ref]] = []  # outermost first: the app's, then the includes'
        for parent, items in self._include_calls().get(site, []):
            if parent is not None:
                found.extend(self._dependencies_of_router(parent, depth + 1, seen))
            found.extend(items)
        facts = self.project.facts_for(module_path)
        bindings = facts.bindings.get(name, []) if facts is not None else []
        if len(bindings) == 1 and bindings[0] is not None and bindings[0][0] == "c":
            for keyword, value in bindings[0][3]:
                if keyword == "dependencies" and value is not None and value[0] == "l":
                    found.extend((module_path, item) for item in value[1] if item is not None)
        return found

    def _include_calls(
        self,
    ) -> dict[tuple[str, str], list[tuple[tuple[str, str] | None, list[tuple[str, Ref]]]]]:
        if self._includes is not None:
            return self._includes
        includes: dict[
            tuple[str, str], list[tuple[tuple[str, str] | None, list[tuple[str, Ref]]]]
        ] = {}
        for path in self.project.python_files():
            if not self.project.is_candidate(path):
                continue
            facts = self.project.facts_for(path)
            for _scope, site in facts.registrations if facts is not None else ():
                if _last(site.callee) != "include_router" or site.callee is None:
                    continue
                router = self._binding_site(path, site.arg(0, "router"))
                if router is None:
                    continue
                parent = self._binding_site(path, site.callee[1]) if site.callee[0] == "a" else None
                value = site.arg(-1, "dependencies")
                items = (
                    [(path, item) for item in value[1] if item is not None]
                    if value is not None and value[0] == "l"
                    else []
                )
                includes.setdefault(router, []).append((parent, items))
        self._includes = includes
        return includes

    def _event_server(self, path: str, receiver: Ref | None) -> EventServer | None:
        """The event server (python-socketio AsyncServer) a receiver is an instance of."""
        if receiver is None:
            return None
        value = self.resolver.eval(path, receiver)
        if value is not None and value[0] == "xi" and not value[2]:
            return self.kb.event_server(str(value[1]))
        return None

    def _decorator_wrappers(
        self, path: str, function: FunctionFacts, handler: Handler
    ) -> list[Handler]:
        """Async wrappers returned by the project's own decorators on a handler: the framework
        calls the wrapper, so its body runs on the event loop too."""
        found = []
        for wrapper_path, wrapper in self.resolver.decorator_wrappers(path, function):
            if wrapper.is_async:
                found.append(
                    Handler(
                        wrapper_path,
                        wrapper.qualname,
                        handler.kind,
                        True,
                        handler.method,
                        handler.route_path,
                        wrapper.line,
                        wrapper=True,
                    )
                )
        return found

    def _is_extra_route_decorator(self, path: str, callee: Ref) -> bool:
        extra = self.kb.extra_route_decorators
        if not extra:
            return False
        value = self.resolver.eval(path, callee)
        candidates = {_dotted_text(callee), _last(callee)}
        if value is not None and value[0] == "x":
            candidates.add(self.kb.canonical(str(value[1])))
            candidates.add(str(value[1]))
        if value is not None and value[0] == "xi" and value[2]:
            # A method of a library object: `socketio.AsyncServer.on` for `@sio.on(...)`.
            member = ".".join(value[2])
            for type_name in self.kb.mro(self.kb.canonical(str(value[1]))):
                candidates.add(f"{type_name}.{member}")
        if value is not None and value[0] == "pf":
            candidates.add(value[2])
            for module in self._module_names(value[1]):
                candidates.add(f"{module}.{value[2]}")
        return bool(candidates & extra)

    def _module_names(self, path: str) -> list[str]:
        """The dotted names a project module is imported as: from the project root, and from
        `src/` or another source root (`myco/web.py` is `myco.web`, a package's `__init__.py`
        the package itself)."""
        display = self.project.display(path).removesuffix(".py").removesuffix("/__init__")
        parts = display.split("/")
        names = [".".join(parts)]
        roots = {
            "src",
            *(self.project.display(root.folder) for root in self.project.source_roots()),
        }
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in roots:
                names.append(".".join(parts[depth:]))
        return names

    def _handler(
        self, path: str, function: FunctionFacts, kind: str, method: str = "", route_path: str = ""
    ) -> Handler:
        return Handler(
            path, function.qualname, kind, function.is_async, method, route_path, function.line
        )

    def is_app(self, value: Value) -> bool:
        """An application or router instance (including project subclasses); of several
        candidates (`app = FastAPI()`, then `app = Wrapper(app)`), any one."""
        if value[0] == "u":
            return any(self.is_app(member) for member in value[1])
        if value[0] == "xi" and not value[2]:
            return value[1] in self.kb.app_types
        if value[0] == "pi":
            return any(
                base in self.kb.app_types
                for base in self.resolver.external_bases(value[1], value[2])
            )
        return False

    # -- registration calls ---------------------------------------------------------------------
    def _from_registration(self, path: str, site: CallSite, framework: bool) -> list[Handler]:
        if site.callee is not None and site.callee[0] == "c":
            # `app.get("/x")(handler)`: a decorator applied by hand.
            applied = self.decorator_registration(path, site.callee, framework)
            if applied is None:
                return []
            kind, method, route_path = applied
            return self._handlers_for_target(path, site.arg(0), kind, method, route_path)
        value = self.resolver.eval(path, site.callee)
        choices = candidates(value) if value is None or value[0] != "u" else (*value[1], None)
        for callee in choices or (None,):
            found = self._registered_by(path, site, callee, framework)
            if found:
                return found
        return []

    def _registered_by(
        self, path: str, site: CallSite, callee: Value | None, framework: bool
    ) -> list[Handler]:
        """The handlers a registration call makes, for one candidate of its callee."""
        last = _last(site.callee)
        if callee is not None and callee[0] == "x" and callee[1] in self.kb.app_types:
            return self._from_app_keywords(path, site)
        registration: Registration | None = None
        receiver_ref: Ref | None = None
        if (
            callee is not None
            and callee[0] == "xi"
            and len(callee[2]) == 1
            and self.kb.event_server(str(callee[1])) is not None
        ):
            server = self.kb.event_server(str(callee[1]))
            assert server is not None
            on = server.registrations.get(callee[2][0])
            if on is None:
                return []
            event = _string(site.arg(0, "event")) or ""
            target = site.arg(on.position, on.keyword)
            return self._handlers_for_target(path, target, on.kind, "", event)
        if callee is not None and callee[0] == "xi" and len(callee[2]) == 1:
            if self.is_app(("xi", callee[1], ())):
                registration = self.kb.registrations.get(callee[2][0])
        elif (
            callee is not None
            and callee[0] == "pf"
            and site.callee is not None
            and site.callee[0] == "a"
        ):
            receiver = self.resolver.eval(path, site.callee[1])
            if receiver is not None and self.is_app(receiver):
                registration = self.kb.registrations.get(site.callee[2])
        elif callee is not None and callee[0] == "x":
            registration = self.kb.constructors.get(callee[1])
        elif callee is None and framework and last is not None:
            registration = self.kb.registrations.get(last)
            if registration is None and site.callee is not None and site.callee[0] == "n":
                registration = _constructor_by_name(self.kb, last)
        if registration is None:
            return []
        if site.callee is not None and site.callee[0] == "a":
            receiver_ref = site.callee[1]
        target = site.arg(registration.position, registration.keyword)
        route_path = ""
        method = ""
        if registration.kind in _PATH_KINDS:
            route_path = _string(site.arg(0, "path")) or ""
            if receiver_ref is not None:
                route_path = self._router_prefix(path, receiver_ref) + route_path
            methods = site.arg(-1, "methods")
            method = _methods(methods) or ("GET" if registration.kind == "route" else "")
        return self._handlers_for_target(path, target, registration.kind, method, route_path)

    def _from_app_keywords(self, path: str, site: CallSite) -> list[Handler]:
        found: list[Handler] = []
        for keyword, kind in self.kb.app_keywords.items():
            value = site.arg(-1, keyword)
            if value is None:
                continue
            if value[0] == "l":
                targets = list(value[1])
            elif value[0] == "m":
                targets = [pair[1] for pair in value[1]]
            else:
                targets = [value]
            for target in targets:
                found.extend(self._handlers_for_target(path, target, kind))
        return found

    def _handlers_for_target(
        self, path: str, target: Ref | None, kind: str, method: str = "", route_path: str = ""
    ) -> list[Handler]:
        value = self.resolver.eval(path, target)
        if value is None:
            return []
        if value[0] == "u":
            # `for path, handler in ROUTES: router.add_api_route(path, handler)`: each of them.
            found: list[Handler] = []
            for member in value[1]:
                found.extend(self._handlers_for_value(member, kind, method, route_path))
            return found
        return self._handlers_for_value(value, kind, method, route_path)

    def _handlers_for_value(
        self, value: Value, kind: str, method: str = "", route_path: str = ""
    ) -> list[Handler]:
        if value[0] == "pf":
            function = self._function(value[1], value[2])
            if function is None:
                return []
            return [
                self._handler(
                    value[1], function, "route" if kind == "route" else kind, method, route_path
                )
            ]
        if value[0] == "pi":
            return self._method_handlers(value[1], value[2], ("__call__",), kind)
        if value[0] == "pc" and kind == "middleware_class":
            return self._method_handlers(value[1], value[2], ("__call__", "dispatch"), "middleware")
        return []

    def _method_handlers(
        self, path: str, qualname: str, names: tuple[str, ...], kind: str
    ) -> list[Handler]:
        found = []
        for name in names:
            method = self.resolver.find_method(path, qualname, name)
            if method is None:
                continue
            function = self._function(*method)
            if function is not None:
                found.append(self._handler(method[0], function, kind))
        return found

    # -- dependencies ---------------------------------------------------------------------------
    def _from_dependency(
        self, path: str, marker: Ref | None, dependency: Ref | None, framework: bool
    ) -> Handler | None:
        if dependency is None:
            return None
        marker_value = self.resolver.eval(path, marker)
        if marker_value is None:
            if not framework:
                return None
        elif not (marker_value[0] == "x" and marker_value[1] in self.kb.dependency_markers):
            return None
        value = self.resolver.eval(path, dependency)
        if value is None:
            return None
        if value[0] == "pf":
            function = self._function(value[1], value[2])
            return self._handler(value[1], function, "dependency") if function else None
        if value[0] == "pi":
            handlers = self._method_handlers(value[1], value[2], ("__call__",), "dependency")
            return handlers[0] if handlers else None
        return None

    # -- class-based handlers -------------------------------------------------------------------
    def _from_class(self, path: str, qualname: str) -> list[Handler]:
        found: list[Handler] = []
        for base in self.resolver.external_bases(path, qualname):
            handler = self.kb.class_handlers.get(self.kb.canonical(base))
            if handler is not None:
                methods = self._matching_methods(path, qualname, handler.methods)
                found.extend(self._method_handlers(path, qualname, methods, handler.kind))
            else:
                found.extend(self._library_callbacks(path, qualname, base))
        return found

    def _library_callbacks(self, path: str, qualname: str, base: str) -> list[Handler]:
        """Overrides of a library base class's `async def` methods (an httpx transport's
        `handle_async_request`, a callback handler's `on_llm_new_token`): the library awaits
        them, on the event loop of whoever uses the object. Found from the installed library's
        source; without it, only the knowledge base's `class_handlers` say so."""
        libraries = self.resolver.libraries
        if libraries is None:
            return []
        hooks = libraries.async_methods(self.kb.canonical(base))
        if not hooks:
            return []
        cls = self.resolver.class_facts(path, qualname)
        own = sorted(name for name in (cls.methods if cls is not None else ()) if name in hooks)
        handlers = self._method_handlers(path, qualname, tuple(own), "callback")
        return [handler for handler in handlers if handler.is_async]

    def _matching_methods(
        self, path: str, qualname: str, names: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Method names, with `on_*` patterns matched against the class's own methods."""
        if not any("*" in name for name in names):
            return names
        facts = self.project.facts_for(path)
        cls = facts.classes.get(qualname) if facts is not None else None
        own = list(cls.methods) if cls is not None else []
        found: list[str] = []
        for name in names:
            if "*" in name:
                found.extend(method for method in own if fnmatch.fnmatchcase(method, name))
            else:
                found.append(name)
        return tuple(dict.fromkeys(found))

    # -- helpers --------------------------------------------------------------------------------
    def _function(self, path: str, qualname: str) -> FunctionFacts | None:
        facts = self.project.facts_for(path)
        return facts.functions.get(qualname) if facts is not None else None

    def _router_prefix(self, path: str, receiver: Ref | None) -> str:
        site_key = self._binding_site(path, receiver)
        if site_key is None:
            return ""
        included = self._include_prefixes.get(site_key, "")
        module_path, name = site_key
        facts = self.project.facts_for(module_path)
        if facts is None:
            return included
        bindings = facts.bindings.get(name, [])
        own = ""
        if len(bindings) == 1 and bindings[0] is not None and bindings[0][0] == "c":
            for keyword, value in bindings[0][3]:
                if keyword == "prefix":
                    own = _string(value) or ""
        return included + own

    def is_local(self, path: str, scope: str, name: str) -> bool:
        """Whether a name is bound in the body of the function `scope` (observed: the index
        reads a body here, see surface.py)."""
        facts = self.project.facts_for(path)
        function = facts.functions.get(scope) if facts is not None else None
        if function is None:
            return False
        local = name in function.locals
        self.project.observe("local", path, scope, name, local)
        return local

    def _binding_site(self, path: str, ref: Ref | None, depth: int = 0) -> tuple[str, str] | None:
        """The module and module-level name a router ref is bound to, through imports."""
        if ref is None or depth > 8:
            return None
        if ref[0] == "n":
            facts = self.project.facts_for(path)
            if facts is None:
                return None
            bindings = facts.bindings.get(ref[2])
            if ref[1] and not ref[1].startswith("class:") and self.is_local(path, ref[1], ref[2]):
                return (path, f"{ref[1]}:{ref[2]}")
            if not bindings or len(bindings) != 1 or bindings[0] is None:
                return None
            bound = bindings[0]
            if bound[0] == "imp":
                target, rest = self.project.resolve_import(path, bound[1], bound[2])
                if target is not None and len(rest) == 1:
                    return self._binding_site(target, ("n", "", rest[0]), depth + 1)
                return None
            return (path, ref[2])
        if ref[0] == "a" and ref[1] is not None and ref[1][0] == "n":
            module = self.resolver.eval(path, ref[1])
            if module is not None and module[0] == "pm":
                return self._binding_site(str(module[1]), ("n", "", ref[2]), depth + 1)
        return None


def _imports_framework(facts: ModuleFacts) -> bool:
    for bindings in (facts.bindings.values(), [[ref] for ref in facts.type_only.values()]):
        for refs in bindings:
            for ref in refs:
                if (
                    ref is not None
                    and ref[0] == "imp"
                    and ref[2].split(".", 1)[0] in _FRAMEWORK_PREFIXES
                ):
                    return True
    return any(ref[2].split(".", 1)[0] in _FRAMEWORK_PREFIXES for ref in facts.star_imports)


def _looks_like_registration(kind: str, site: CallSite) -> bool:
    """Without a resolvable receiver, only accept the framework's own call shapes."""
    first = _string(site.arg(0, "path"))
    if kind in _PATH_KINDS:
        return first is not None and (first == "" or first.startswith("/"))
    if kind == "middleware":
        return first == "http"
    if kind == "event_handler":
        return first in ("startup", "shutdown")
    return kind == "exception_handler" and bool(site.args)


def _constructor_by_name(kb: KnowledgeBase, last: str) -> Registration | None:
    for name, registration in kb.constructors.items():
        if name.rsplit(".", 1)[-1] == last:
            return registration
    return None


_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "options", "head", "trace"})


def _method_name(callee: Ref, site: CallSite) -> str:
    member = callee[2] if callee[0] == "a" else ""
    if member in ("api_route", "route"):
        return _methods(site.arg(-1, "methods")) or "GET"
    return member.upper() if member in _HTTP_METHODS else ""


def _methods(ref: Ref | None) -> str:
    if ref is None or ref[0] != "l":
        return ""
    names = [item[1].upper() for item in ref[1] if item is not None and item[0] == "str"]
    return "|".join(names)


def _string(ref: Ref | None) -> str | None:
    if ref is not None and ref[0] == "str":
        return str(ref[1])
    return None


def _last(ref: Ref | None) -> str | None:
    if ref is None:
        return None
    if ref[0] in ("n", "a"):
        return str(ref[2])
    return None


def _dotted_text(ref: Ref | None) -> str:
    if ref is None:
        return ""
    if ref[0] == "n":
        return str(ref[2])
    if ref[0] == "a":
        base = _dotted_text(ref[1])
        return f"{base}.{ref[2]}" if base else ""
    return ""
