"""Name resolution: what a ref really is, across imports, assignments, annotations and modules.

Values are small tuples:

    ("pm", path)              a project module
    ("pf", path, qualname)    a project function or method
    ("pc", path, qualname)    a project class
    ("pi", path, qualname)    an instance of a project class
    ("x", qualname)           an external module, function or class (canonical name)
    ("xi", type, path)        an instance of an external type, with an attribute path:
                              `client.chat.completions` on an OpenAI client is
                              ("xi", "openai.OpenAI", ("chat", "completions"))
    ("alias", path, ref)      a type alias (`SessionDep = Annotated[Session, Depends(get_db)]`)
    ("u", members)            one of several values, chosen at run time (`GitStore() if git else
                              DbStore()`, `Store | None`, a factory returning either): every
                              candidate is followed (see `candidates`)
    ("ci", element[, items])  a collection of `element`s (a union when they differ); a literal
                              list or tuple also keeps its items, by position
    ("cm", element, keyed)    a mapping whose values are `element`s; a literal dict also keeps
                              the values of its string keys (`SERVICES["git"]`)
    ("cmm", mapping, method)  a mapping's `get`/`values`/`items`/... method
    ("str", text), ("lam",), ("none",)
    None                      unknown: never guessed at

Resolution is lazy and memoised per project; other modules are loaded on demand. Cycles and
very deep chains resolve to unknown.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from async_pitfalls_lint.facts import CallSite, ClassFacts, FunctionFacts, ModuleFacts, Ref

if TYPE_CHECKING:
    from async_pitfalls_lint.knowledge import KnowledgeBase
    from async_pitfalls_lint.libraries import LibraryIndex
    from async_pitfalls_lint.project import Project

Value = tuple[Any, ...]
Receiver = tuple[str, str, bool]  # (path, class qualname, exact type)
# Values a call site passes to a function's unannotated parameters: (path, qualname, pairs).
Arguments = tuple[str, str, tuple[tuple[str, Value], ...]]
Frame = tuple[Receiver | None, Arguments | None]

_NONE: Value = ("none",)
_MAX_DEPTH = 60
_MAX_ATTRIBUTE_PATH = 8
_BUILTIN_NAMES = frozenset(dir(builtins))
_BUILTIN_CALLABLES = frozenset({"open", "input", "print", "exec", "eval", "compile", "__import__"})
_NOT_INSTANCES = frozenset(
    {
        "int", "str", "float", "bool", "bytes", "dict", "list", "set", "tuple", "object",
        "type", "frozenset", "bytearray", "complex",
    }
)  # fmt: skip
_PROPERTY_DECORATORS = frozenset({"property", "cached_property", "functools.cached_property"})
# More candidates than this for one value is not a choice made at run time but a value we do
# not know: it stays unknown. (How many of them are followed is the `max-candidates` setting.)
_MAX_UNION = 64
_PROTOCOLS = frozenset({"typing.Protocol", "typing_extensions.Protocol"})
_MAPPING_METHODS = frozenset({"get", "pop", "setdefault", "values", "items", "__getitem__"})
# Values that stand for no object: literals, lambdas.
_NOT_OBJECTS = frozenset({"str", "lit", "lam", "none"})


class Resolver:
    """Evaluates refs to values for one project."""

    def __init__(
        self, project: Project, kb: KnowledgeBase, libraries: LibraryIndex | None = None
    ) -> None:
        self.project = project
        self.kb = kb
        # Installed third-party code, for what library calls return (see libraries.py).
        self.libraries = libraries
        self._memo: dict[tuple[str, Ref, bool, Frame], Value | None] = {}
        self._active: set[tuple[str, Ref, bool, Frame]] = set()
        # While analysing a function for one call: the class `self` is bound to, and the values
        # passed to its unannotated parameters.
        self.frame: Frame = (None, None)
        self._results: dict[tuple[str, str], Value | None] = {}
        self._active_results: set[tuple[str, str]] = set()
        self._mro: dict[tuple[str, str], list[tuple[str, str] | str]] = {}
        self._subclasses: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._state_values: dict[str, Value | None] = {}
        self._state_files: list[str] | None = None
        self._implementations: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.max_candidates: int = project.settings.max_candidates

    def forget_values(self) -> None:
        """Evaluate afresh: what reading a body gives is observed (Project.observe) when it is
        first evaluated, and a recording pass must see every one."""
        self._memo.clear()
        self._results.clear()

    # -- evaluation -----------------------------------------------------------------------------
    def eval(self, path: str, ref: Ref | None, annotation: bool = False) -> Value | None:
        if ref is None:
            return None
        key = (path, ref, annotation, self.frame)
        if key in self._memo:
            return self._memo[key]
        if key in self._active or len(self._active) > _MAX_DEPTH:
            return None
        self._active.add(key)
        try:
            value = self._eval(path, ref, annotation)
        finally:
            self._active.discard(key)
        self._memo[key] = value
        return value

    def _eval(self, path: str, ref: Ref, annotation: bool) -> Value | None:
        tag = ref[0]
        if tag == "n":
            preceding = ref[3] if len(ref) > 3 else 0
            first = ref[4] if len(ref) > 4 else 0
            return self.lookup(path, ref[1], ref[2], annotation, preceding, first)
        if tag == "a":
            return self.attribute(self.eval(path, ref[1], annotation), ref[2])
        if tag == "c":
            callee = self.eval(path, ref[1])
            if callee == ("x", "builtins.next") and ref[2]:
                # `db = next(get_db())`: a generator's first value, which function_result gives.
                return self.eval(path, ref[2][0])
            if callee == ("x", "functools.partial") and ref[2]:
                # Calling `partial(fetch, url)` calls `fetch`: the partial stands for it.
                return self.eval(path, ref[2][0])
            if callee == ("x", "builtins.super") and not ref[2] and ref[1][0] == "n":
                return self._super(path, ref[1][1])
            if self.opens_buffer(path, callee, ref[2], ref[3]):
                return ("xi", "io.BytesIO", ())  # an archive over a buffer: memory, not disk
            located = self._located(path, callee, ref[2])
            if located is not None:
                return located
            return self.call_result(callee, ref)
        if tag == "imp":
            return self.import_value(path, ref[1], ref[2])
        if tag == "def":
            return ("pf", path, ref[1])
        if tag == "class":
            return ("pc", path, ref[1])
        if tag == "self":
            return self._self_value(path, ref[1])
        if tag == "cls":
            return ("pc", path, ref[1])
        if tag == "i":
            return self.instance_of(path, ref[1])
        if tag == "t":
            return ("alias", path, ref)
        if tag == "ann":
            return self.instance_of(path, ref[1]) or self.eval(path, ref[2])
        if tag == "w":
            return self.entered(self.eval(path, ref[1]))
        if tag == "s":
            return self._subscript(self.eval(path, ref[1]), ref[2])
        if tag == "d":
            return self._divided(self.eval(path, ref[1]))
        if tag == "o":
            return self._or_operator(path, ref)
        if tag == "ti":
            return self._tuple_item(path, ref[1], ref[2])
        if tag == "ix":
            return self._item(self.eval(path, ref[1]), ref[2])
        if tag == "it":
            return self._element(self.eval(path, ref[1]))
        if tag == "alt":
            return _merge([self.eval(path, item) for item in ref[1]])
        if tag == "tu":
            return ("alias", path, ref)  # `Store = Union[GitStore, DbStore]`
        if tag == "l":
            return self._sequence(path, ref[1])
        if tag == "m":
            return self._mapping(path, ref[1])
        if tag in ("str", "lam", "none"):
            return ref
        return None

    def _sequence(self, path: str, refs: tuple[Ref | None, ...]) -> Value | None:
        items = tuple(self.eval(path, item) for item in refs)
        element = _merge(list(items)) if items else None
        if element is None:
            return None
        return ("ci", element, items) if len(items) <= _MAX_UNION else ("ci", element)

    def _mapping(self, path: str, pairs: tuple[tuple[Ref | None, Ref | None], ...]) -> Value | None:
        """`{"git": GitStore(), "db": DbStore()}`: a mapping of every value, by literal key."""
        keyed: list[tuple[str, Value]] = []
        values: list[Value | None] = []
        for key, ref in pairs:
            value = self.eval(path, ref)
            values.append(value)
            if key is not None and key[0] == "str" and value is not None:
                keyed.append((key[1], value))
        element = _merge(values)
        return ("cm", element, tuple(keyed[:_MAX_UNION])) if element is not None else None

    def _or_operator(self, path: str, ref: Ref) -> Value | None:
        """`prompt | llm` (a LangChain pipe), or `GitStore | DbStore` (a union type alias)."""
        left, right = self.eval(path, ref[1]), self.eval(path, ref[2])
        piped = self._piped(left) or self._piped(right)
        if piped is not None:
            return piped
        sides_are_types = all(_is_class(side) or side == _NONE for side in (left, right))
        if sides_are_types and left != right:
            return ("alias", path, ("tu", (ref[1], ref[2])))
        return None

    def _tuple_item(self, path: str, call: Ref, position: int) -> Value | None:
        """Item `position` of what a project function returns as a tuple (`return a, b`)."""
        callee = self.eval(path, call[1])
        if callee is None or callee[0] != "pf":
            return None
        return self.returned_item(callee[1], callee[2], position)

    def returned_item(self, path: str, qualname: str, position: int) -> Value | None:
        value = self._returned_item(path, qualname, position)
        self.project.observe("item", path, qualname, str(position), value)
        return value

    def _returned_item(self, path: str, qualname: str, position: int) -> Value | None:
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        if function is None:
            return None
        values: list[Value | None] = []
        for returned in function.return_values:
            if returned is None or returned == _NONE:
                continue
            if returned[0] != "l" or len(returned[1]) <= position:
                return None
            values.append(self.eval(path, returned[1][position]))
        return _merge(values) if values else None

    def _item(self, value: Value | None, position: int) -> Value | None:
        """Item `position` of a tuple value (`path, handler = route`)."""
        if value is None:
            return None
        if value[0] == "u":
            return self._each(value, lambda member: self._item(member, position))
        if value[0] == "ci" and len(value) > 2 and 0 <= position < len(value[2]):
            item: Value | None = value[2][position]
            return item
        return None

    def _each(self, value: Value, function: Callable[[Value], Value | None]) -> Value | None:
        """`function` applied to every candidate of a union, merged."""
        return _merge([function(member) for member in value[1]])

    def opens_buffer(
        self,
        path: str,
        callee: Value | None,
        args: tuple[Ref | None, ...],
        kwargs: tuple[tuple[str, Ref | None], ...],
    ) -> bool:
        """`zipfile.ZipFile(io.BytesIO(data))` and the like: an opener given an in-memory buffer."""
        if callee is None or callee[0] != "x" or callee[1] not in self.kb.buffer_openers:
            return False
        candidates = [*args[:1], *(value for key, value in kwargs if key == "fileobj")]
        return any(self.is_buffer(self.eval(path, ref)) for ref in candidates)

    def _located(
        self, path: str, callee: Value | None, args: tuple[Ref | None, ...]
    ) -> Value | None:
        """`injector.get(ToolService)`: an instance of the class a service locator is given."""
        if callee is None or not args:
            return None
        if callee[0] == "xi":
            name = f"{callee[1]}.{'.'.join(callee[2]) or '__call__'}"
        elif callee[0] == "x":
            name = callee[1]
        else:
            return None
        if name not in self.kb.locators:
            return None
        wanted = self.eval(path, args[0])
        if wanted is not None and wanted[0] == "pc":
            return ("pi", wanted[1], wanted[2])  # a binding may provide a subclass
        if wanted is not None and wanted[0] == "x":
            return ("xi", wanted[1], ())
        return None

    def is_buffer(self, value: Value | None) -> bool:
        """An in-memory buffer (`io.BytesIO`): reading and writing it does no I/O."""
        return value is not None and value[0] == "xi" and value[1] in self.kb.in_memory

    @contextmanager
    def frame_for(
        self, receiver: Receiver | None, arguments: Arguments | None = None
    ) -> Iterator[None]:
        """Analyse code with `self` bound to a class (exact or a possible subclass) and the
        unannotated parameters of one function bound to a call site's argument values."""
        saved = self.frame
        self.frame = (receiver, arguments)
        try:
            yield
        finally:
            self.frame = saved

    def bind_arguments(
        self,
        caller_path: str,
        site: CallSite,
        path: str,
        function: FunctionFacts,
        receiver: Receiver | None,
        literals: bool = False,
    ) -> Arguments | None:
        """Typed values the call passes to the callee's unannotated parameters, evaluated in
        the caller's frame (`crud.get_user(db, 1)` with `db: Session` types `db` inside); with
        `literals`, also the literal each guarded parameter gets (`cache=True`, or its default)."""
        positional = [param for param in function.params if param.kind == "positional"]
        if function.class_qualname is not None and receiver is not None and positional:
            first = function.locals.get(positional[0].name, [])
            if any(ref is not None and ref[0] in ("self", "cls") for ref in first):
                positional = positional[1:]  # bound: `self` (or `cls`) is not passed
        pairs: list[tuple[str, Value]] = []
        for param, argument in zip(positional, site.args, strict=False):
            self._bind(pairs, caller_path, param.name, param.annotation, argument)
        for keyword, argument in site.kwargs:
            named = function.param(keyword)
            if named is not None and named.kind in ("positional", "keyword"):
                self._bind(pairs, caller_path, named.name, named.annotation, argument)
        if literals and function.guarded and not site.splat:
            bound = {name for name, _ in pairs}
            pairs.extend(
                pair
                for pair in _literal_arguments(site, function, positional)
                if pair[0] not in bound
            )
        return (path, function.qualname, tuple(sorted(pairs))) if pairs else None

    def _bind(
        self,
        pairs: list[tuple[str, Value]],
        caller_path: str,
        name: str,
        annotation: Ref | None,
        argument: Ref | None,
    ) -> None:
        if annotation is not None or argument is None:
            return
        value = self.eval(caller_path, argument)
        # Instances, and callables the callee may call (`_probe(self.count)`, `retry(fetch)`).
        if value is not None and all(
            member[0] in ("xi", "pi", "pf", "x") for member in candidates(value)
        ):
            pairs.append((name, value))

    def _argument(self, path: str, qualname: str, name: str) -> Value | None:
        arguments = self.frame[1]
        if arguments is None or arguments[0] != path or arguments[1] != qualname:
            return None
        for bound_name, value in arguments[2]:
            if bound_name == name:
                return value
        return None

    def _super(self, path: str, scope: str) -> Value | None:
        """`super()` in a method: the next project class of the method's class in lookup order
        (`super().load()` runs that class's `load`, not an override)."""
        facts = self.project.facts_for(path)
        function = facts.functions.get(scope) if facts is not None else None
        if function is None or function.class_qualname is None:
            return None
        mro = self.class_mro(path, function.class_qualname)
        for entry in mro[1:]:
            if isinstance(entry, tuple):
                return ("pi", entry[0], entry[1], True)
            return None  # a library base comes first: its method is the library's
        return None

    def _self_value(self, path: str, qualname: str) -> Value:
        context = self.frame[0]
        if context is not None and (path, qualname) in self.class_mro(context[0], context[1]):
            return (
                ("pi", context[0], context[1], True)
                if context[2]
                else ("pi", context[0], context[1])
            )
        return ("pi", path, qualname)

    # -- names ----------------------------------------------------------------------------------
    def lookup(
        self,
        path: str,
        scope: str,
        name: str,
        annotation: bool = False,
        preceding: int = 0,
        first: int = 0,
    ) -> Value | None:
        """The value of a name used in `scope`; `preceding` counts the assignments to it that
        come before the use in the same function (0: unknown, use them all), and those before
        `first` are hidden by a later one that always runs before the use."""
        facts = self.project.facts_for(path)
        if facts is None:
            return None
        start_scope = scope
        while scope:
            if scope.startswith("class:"):
                class_facts = facts.classes.get(scope[6:])
                if class_facts is None:
                    break
                if name in class_facts.attributes:
                    return self.merge(path, class_facts.attributes[name])
                scope = class_facts.parent_scope
                continue
            function = facts.functions.get(scope)
            if function is None or name in function.globals:
                break
            param = function.param(name)
            if param is not None or name in function.locals:
                values: list[Value | None] = []
                if param is not None and name not in function.locals:
                    value = self.parameter_value(path, param.annotation, param.default)
                    if value is None and param.annotation is None:
                        value = self._argument(path, scope, name)
                    if value is None and param.annotation is None:
                        value = self._named_default(path, param.default)
                    values.append(value)
                bindings = function.locals.get(name, [])
                if preceding and scope == start_scope:
                    bindings = bindings[first:preceding]
                for bound in bindings:
                    values.append(self.eval(path, bound))
                return _merge(values)
            scope = function.parent_scope
        return self.module_name(path, facts, name, annotation)

    def module_name(
        self, path: str, facts: ModuleFacts, name: str, annotation: bool = False
    ) -> Value | None:
        if name in facts.bindings:
            return self.merge(path, _declared_or_all(facts.bindings[name]))
        if annotation and name in facts.type_only:
            return self.eval(path, facts.type_only[name])
        starred = self._star_imported(path, facts, name, set())
        if starred is not None:
            return starred
        if name in _BUILTIN_CALLABLES:
            return ("x", name)
        if name in _BUILTIN_NAMES:
            return ("x", f"builtins.{name}")
        return None

    def _star_imported(
        self, path: str, facts: ModuleFacts, name: str, seen: set[str]
    ) -> Value | None:
        """A name `from x import *` brings in: from a project module (through its own star
        imports), or from the one library a module star-imports (`from time import *`)."""
        seen.add(path)
        external: list[str] = []
        for star in facts.star_imports:
            module = self.eval(path, star)
            if module is not None and module[0] == "pm":
                star_path = module[1]
                star_facts = self.project.facts_for(star_path)
                if star_facts is None or star_path in seen:
                    continue
                if name in star_facts.bindings:
                    return self.merge(star_path, _declared_or_all(star_facts.bindings[name]))
                found = self._star_imported(star_path, star_facts, name, seen)
                if found is not None:
                    return found
            elif module is not None and module[0] == "x":
                external.append(module[1])
        if len(external) == 1 and name not in _BUILTIN_NAMES and not name.startswith("_"):
            return ("x", self.kb.canonical(f"{external[0]}.{name}"))
        return None

    def merge(self, path: str, refs: list[Ref | None]) -> Value | None:
        return _merge([self.eval(path, ref) for ref in refs])

    def parameter_value(
        self, path: str, annotation: Ref | None, default: Ref | None
    ) -> Value | None:
        if annotation is not None:
            value = self.instance_of(path, annotation)
            if value is not None:
                return value
        if (
            default is not None
            and default[0] == "c"
            and self.is_dependency_marker(path, default[1])
        ):
            target = default[2][0] if default[2] else None
            if target is not None:
                return self.call_result(self.eval(path, target), None)
        return None

    def _named_default(self, path: str, default: Ref | None) -> Value | None:
        """An unannotated parameter defaulting to a named callable or class
        (`class_=WebSocket`, `sleep=time.sleep`) is that, unless a caller says otherwise."""
        if default is None or default[0] not in ("n", "a"):
            return None
        value = self.eval(path, default)
        if value is not None and value[0] in ("pc", "pf", "x"):
            return value
        return None

    def is_dependency_marker(self, path: str, callee: Ref | None) -> bool:
        value = self.eval(path, callee)
        if value is not None:
            return value[0] == "x" and value[1] in self.kb.dependency_markers
        return (
            callee is not None and callee[0] in ("n", "a") and callee[-1] in ("Depends", "Security")
        )

    def instance_of(self, path: str, type_ref: Ref | None) -> Value | None:
        if type_ref is None:
            return None
        if type_ref[0] == "coll":
            element = self.instance_of(path, type_ref[1])
            return ("ci", element) if element is not None else None
        if type_ref[0] == "cmap":
            element = self.instance_of(path, type_ref[1])
            return ("cm", element, ()) if element is not None else None
        if type_ref[0] == "tu":
            return _merge([self.instance_of(path, member) for member in type_ref[1]])
        if type_ref[0] == "t":
            inner = self.instance_of(path, type_ref[1])
            if inner is not None:
                return inner
            dependency = type_ref[2]
            if dependency is not None and dependency[2]:
                return self.call_result(self.eval(path, dependency[2][0]), None)
            return None
        value = self.eval(path, type_ref, annotation=True)
        return self._instance_from_type(value)

    def _instance_from_type(self, value: Value | None) -> Value | None:
        if value is None:
            return None
        tag = value[0]
        if tag == "u":
            return self._each(value, self._instance_from_type)
        if tag == "alias":
            return self.instance_of(value[1], value[2])
        if tag == "pc":
            return ("pi", value[1], value[2])
        if tag == "x":
            name = value[1]
            short = name.rsplit(".", 1)[-1]
            if (
                name.startswith("builtins.")
                or short in _NOT_INSTANCES
                or name.startswith("typing.")
            ):
                return None
            if not self.kb.is_type(name):
                # Annotated with a factory the library exports under a class-like name.
                made = self.kb.result_of_call(name)
                if made is not None:
                    return ("xi", made, ())
            return ("xi", name, ())
        return None

    # -- imports and modules --------------------------------------------------------------------
    def import_value(self, path: str, level: int, dotted: str) -> Value | None:
        module_path, rest = self.project.resolve_import(path, level, dotted)
        if module_path is None:
            if level:
                return None
            return ("x", self.kb.canonical(dotted))
        value: Value | None = ("pm", module_path)
        for part in rest:
            value = self.attribute(value, part)
            if value is None:
                return None
        return value

    # -- attributes -----------------------------------------------------------------------------
    def attribute(self, base: Value | None, name: str) -> Value | None:
        if base is None:
            return None
        tag = base[0]
        if tag == "u":
            return self._each(base, lambda member: self.attribute(member, name))
        if tag == "pm":
            return self._module_attribute(base[1], name)
        if tag == "x":
            # A project class reached through a library base stays known (`Agent.objects.get`
            # returns an Agent).
            return ("x", self.kb.canonical(f"{base[1]}.{name}"), *base[2:3])
        if tag == "cm":
            return ("cmm", base, name) if name in _MAPPING_METHODS else None
        if tag == "xi":
            return self._instance_attribute(base, name)
        if tag == "pc":
            return self._class_member(base[1], base[2], name, instance=False)
        if tag == "pi":
            exact = len(base) > 3 and bool(base[3])
            return self._class_member(base[1], base[2], name, instance=True, exact=exact)
        return None

    def _module_attribute(self, path: str, name: str) -> Value | None:
        facts = self.project.facts_for(path)
        if facts is not None and (name in facts.bindings or facts.star_imports):
            value = self.module_name(path, facts, name)
            if value is not None:
                return value
        submodule = self.project.submodule(path, name)
        if submodule is not None:
            return ("pm", submodule)
        return None

    def _instance_attribute(self, base: Value, name: str) -> Value | None:
        type_name, attribute_path = base[1], base[2]
        if not attribute_path and self.kb.has_project_attributes(type_name):
            return self.state_value(name)
        if not attribute_path:
            # A declared attribute type wins over a `Type.*` pattern (`client.aio` is async).
            attribute_type = self.kb.attribute_type(type_name, name)
            if attribute_type is not None:
                return ("xi", attribute_type, ())
            if self.kb.is_known_method(type_name, name):
                return ("xi", type_name, (name,))
        if len(attribute_path) >= _MAX_ATTRIBUTE_PATH:
            return None
        return ("xi", type_name, (*attribute_path, name))

    def _class_member(
        self, path: str, qualname: str, name: str, instance: bool, exact: bool = False
    ) -> Value | None:
        for owner in self.class_mro(path, qualname):
            if isinstance(owner, str):  # an external base class
                base: Value = ("xi", owner, ()) if instance else ("x", owner)
                value = self.attribute(base, name)
                if not instance and value is not None and value[0] == "x":
                    return ("x", value[1], (path, qualname))  # remember the project class
                return value
            owner_path, owner_qualname = owner
            facts = self.project.facts_for(owner_path)
            if facts is None:
                continue
            class_facts = facts.classes.get(owner_qualname)
            if class_facts is None:
                continue
            method = class_facts.methods.get(name)
            if method is not None:
                function = facts.functions.get(method)
                if instance and function is not None and self._is_property(function):
                    return self.function_result(owner_path, method)
                if instance:
                    # Bound to an instance: remember its class, and whether a subclass may be
                    # what is really there (then project overrides may run instead).
                    return ("pf", owner_path, method, (path, qualname, name, exact))
                return ("pf", owner_path, method)
            if name in class_facts.attributes:
                bindings = class_facts.attributes[name]
                declared: list[Ref | None] = [
                    ref for ref in bindings if ref is not None and ref[0] in ("i", "ann")
                ]
                # A class-level annotation declares the type, whatever __init__ assigns.
                return self.merge(owner_path, declared or bindings)
        return None

    def _is_property(self, function: FunctionFacts) -> bool:
        return any(
            decorator is not None
            and decorator[0] in ("n", "a")
            and decorator[-1] in ("property", "cached_property")
            for decorator in function.decorators
        )

    def class_mro(self, path: str, qualname: str) -> list[tuple[str, str] | str]:
        """Project classes (path, qualname) and external base names, in lookup order."""
        key = (path, qualname)
        saved, self.frame = self.frame, (None, None)  # base classes never depend on a call
        try:
            return self._class_mro(key)
        finally:
            self.frame = saved

    def _class_mro(self, key: tuple[str, str]) -> list[tuple[str, str] | str]:
        path, qualname = key
        cached = self._mro.get(key)
        if cached is not None:
            return cached
        self._mro[key] = [key]  # breaks inheritance cycles
        order: list[tuple[str, str] | str] = [key]
        facts = self.project.facts_for(path)
        class_facts = facts.classes.get(qualname) if facts is not None else None
        if class_facts is not None:
            for base_ref in class_facts.bases:
                base = self.eval(path, base_ref)
                if base is None:
                    continue
                if base[0] == "pc":
                    for entry in self.class_mro(base[1], base[2]):
                        if entry not in order:
                            order.append(entry)
                elif base[0] == "x" and base[1] not in ("builtins.object", "object"):
                    if base[1] not in order:
                        order.append(base[1])
                elif base[0] == "xi" and not base[2] and base[1] not in order:
                    order.append(base[1])  # a class made by a factory: `Base = declarative_base()`
        self._mro[key] = order
        return order

    def overrides(self, value: Value) -> list[tuple[str, str, Receiver]]:
        """Methods overriding a method called on an instance, in project subclasses, each with
        the subclass as receiver (class hierarchy analysis; none when the type is exact)."""
        if value[0] != "pf" or len(value) < 4 or value[3][3]:
            return []
        class_path, class_qualname, name, _exact = value[3]
        found = []
        for sub_path, sub_qualname in self.subclasses(class_path, class_qualname):
            class_facts = self.class_facts(sub_path, sub_qualname)
            method = class_facts.methods.get(name) if class_facts is not None else None
            if method is not None and (sub_path, method) != (value[1], value[2]):
                found.append((sub_path, method, (sub_path, sub_qualname, False)))
        for impl_path, impl_qualname in self.implementations(class_path, class_qualname):
            located = self.find_method(impl_path, impl_qualname, name)
            if located is not None and all(located != (path, q) for path, q, _ in found):
                found.append((*located, (impl_path, impl_qualname, False)))
        return found

    def implementations(self, path: str, qualname: str) -> list[tuple[str, str]]:
        """Project classes that implement a `typing.Protocol` without deriving from it: every
        method it declares is defined (files prefiltered by text; none beyond max-candidates)."""
        key = (path, qualname)
        known = self._implementations.get(key)
        if known is not None:
            return known
        self._implementations[key] = []
        class_facts = self.class_facts(path, qualname)
        if class_facts is None or not self._is_protocol(path, qualname):
            return []
        members = sorted(name for name in class_facts.methods if not name.startswith("__"))
        if not members:
            return []
        found: list[tuple[str, str]] = []
        needle = f"def {members[0]}".encode()
        derived = set(self.subclasses(path, qualname))
        for module in self.project.python_files():
            if needle not in (self.project.read_bytes(module) or b""):
                continue
            facts = self.project.facts_for(module)
            for other in facts.classes if facts is not None else ():
                candidate = (module, other)
                if candidate == key or candidate in derived or self._is_protocol(*candidate):
                    continue
                if all(self._defines(module, other, name, key) for name in members):
                    found.append(candidate)
        if len(found) > self.max_candidates:
            found = []
        self._implementations[key] = found
        return found

    def _is_protocol(self, path: str, qualname: str) -> bool:
        return any(base in _PROTOCOLS for base in self.external_bases(path, qualname))

    def _defines(self, path: str, qualname: str, name: str, protocol: tuple[str, str]) -> bool:
        for owner in self.class_mro(path, qualname):
            if isinstance(owner, str) or owner == protocol:
                return False
            class_facts = self.class_facts(*owner)
            if class_facts is not None and name in class_facts.methods:
                return True
        return False

    def subclasses(self, path: str, qualname: str) -> list[tuple[str, str]]:
        """Project classes deriving from a class, directly or not (files prefiltered by text)."""
        key = (path, qualname)
        known = self._subclasses.get(key)
        if known is not None:
            return known
        self._subclasses[key] = []  # breaks cycles while we look
        found: list[tuple[str, str]] = []
        name = qualname.split("#", 1)[0].rsplit(".", 1)[-1]
        for module in self.project.files_naming_base(name):
            facts = self.project.facts_for(module)
            for class_qualname in facts.classes if facts is not None else ():
                if (module, class_qualname) != key and key in self.class_mro(
                    module, class_qualname
                ):
                    found.append((module, class_qualname))
                    found.extend(self.subclasses(module, class_qualname))
        found = list(dict.fromkeys(found))
        self._subclasses[key] = found
        return found

    def external_bases(self, path: str, qualname: str) -> list[str]:
        return [entry for entry in self.class_mro(path, qualname) if isinstance(entry, str)]

    def class_facts(self, path: str, qualname: str) -> ClassFacts | None:
        facts = self.project.facts_for(path)
        return facts.classes.get(qualname) if facts is not None else None

    def state_value(self, name: str) -> Value | None:
        """What the project stores in `<app or request>.state.<name>`, when it agrees."""
        if name in self._state_values:
            return self._state_values[name]
        self._state_values[name] = None  # a state value defined through itself stays unknown
        if self._state_files is None:  # one pass over the project, whatever the names asked
            self._state_files = [
                path
                for path in self.project.python_files()
                if b".state." in (self.project.read_bytes(path) or b"")
            ]
        values: list[Value | None] = []
        saved, self.frame = self.frame, (None, None)
        try:
            for path in self._state_files:
                facts = self.project.facts_for(path)
                for ref in facts.state_bindings.get(name, ()) if facts is not None else ():
                    values.append(self.eval(path, ref))
        finally:
            self.frame = saved
        value = _merge(values) if values else None
        self._state_values[name] = value
        return value

    def property_getter(self, path: str, qualname: str, name: str) -> tuple[str, str] | None:
        """The getter `instance.name` runs on an instance of a project class, if a property."""
        method = self.find_method(path, qualname, name)
        if method is None:
            return None
        facts = self.project.facts_for(method[0])
        function = facts.functions.get(method[1]) if facts is not None else None
        return method if function is not None and self._is_property(function) else None

    def find_method(self, path: str, qualname: str, name: str) -> tuple[str, str] | None:
        value = self._class_member(path, qualname, name, instance=False)
        if value is not None and value[0] == "pf":
            return value[1], value[2]
        return None

    # -- calls ----------------------------------------------------------------------------------
    def call_result(self, callee: Value | None, ref: Ref | None) -> Value | None:
        """The value of calling `callee`."""
        if callee is None:
            return None
        tag = callee[0]
        if tag == "u":
            return self._each(callee, lambda member: self.call_result(member, ref))
        if tag == "cmm":
            return self._mapping_call(callee[1], callee[2], ref)
        if tag == "x":
            name = callee[1]
            if name in self.kb.dependency_markers and ref is not None and ref[2]:
                return None
            result = self.kb.result_of_call(name)
            if result == "@instance":
                # A class-level factory inherited from a library base (`User.get(...)` on a
                # peewee model) returns an instance of the project class it was called on.
                return ("pi", *callee[2], True) if len(callee) > 2 else None
            if result is not None:
                return ("xi", result, ())
            short = name.rsplit(".", 1)[-1]
            if short[:1].isupper() and not name.startswith("builtins."):
                return ("xi", name, ())
            return self.libraries.result_of(callee) if self.libraries is not None else None
        if tag == "xi":
            type_name, attribute_path = callee[1], callee[2]
            member = ".".join(attribute_path) if attribute_path else "__call__"
            result = self.kb.result_of_call(f"{type_name}.{member}")
            if result is not None:
                return ("xi", result, ())
            if self.kb.is_fluent(type_name):
                return ("xi", type_name, ())  # a builder method returns the builder
            return self.libraries.result_of(callee) if self.libraries is not None else None
        if tag == "pc":
            return ("pi", callee[1], callee[2], True)
        if tag == "pf":
            return self.function_result(callee[1], callee[2])
        if tag == "pi":
            method = self.find_method(callee[1], callee[2], "__call__")
            return self.function_result(*method) if method else None
        if tag == "alias":
            return self.instance_of(callee[1], callee[2])
        return None

    def decorator_wrappers(
        self, path: str, function: FunctionFacts
    ) -> list[tuple[str, FunctionFacts]]:
        """The functions the project's own decorators put in place of `function` (a decorator's
        nested `wrapper`, or a decorator factory's): calling the decorated function runs them,
        and they usually call it. Decorators that return the function itself add nothing."""
        found: list[tuple[str, FunctionFacts]] = []
        for decorator in function.decorators:
            value = self.eval(path, decorator)
            for _ in range(2):  # a decorator, or a decorator factory's decorator
                if value is None or value[0] != "pf":
                    break
                value = self.function_result(value[1], value[2])
                if value is None or value[0] != "pf" or value[2] == function.qualname:
                    continue
                facts = self.project.facts_for(value[1])
                wrapper = facts.functions.get(value[2]) if facts is not None else None
                if wrapper is not None:
                    found.append((value[1], wrapper))
                    break
        return found

    def function_result(self, path: str, qualname: str) -> Value | None:
        key = (path, qualname)
        if key in self._results:
            return self._results[key]
        if key in self._active_results:
            return None
        self._active_results.add(key)
        try:
            value = self._function_result(path, qualname)
        finally:
            self._active_results.discard(key)
        self._results[key] = value
        self.project.observe("result", path, qualname, "", value)
        return value

    def _function_result(self, path: str, qualname: str) -> Value | None:
        facts = self.project.facts_for(path)
        function = facts.functions.get(qualname) if facts is not None else None
        if function is None:
            return None
        declared = self.instance_of(path, function.returns) if function.returns else None
        if declared is not None and not _is_file_protocol(declared):
            return declared
        returned = [ref for ref in function.return_values if ref != _NONE and ref is not None]
        inferred = _merge([self.eval(path, ref) for ref in returned]) if returned else None
        # `-> BinaryIO` declares the protocol; the `io.BytesIO` it returns does no I/O.
        return inferred if declared is None or self.is_buffer(inferred) else declared

    def _mapping_call(self, mapping: Value, method: str, ref: Ref | None) -> Value | None:
        """`services.get(kind)`, `.values()`, `.items()` on a mapping of known value type."""
        element: Value = mapping[1]
        if method == "values":
            return ("ci", element)
        if method == "items":
            return ("ci", ("ci", element, (None, element)))
        key = ref[2][0] if ref is not None and ref[2] else None
        return _keyed(mapping, key)

    def entered(self, value: Value | None) -> Value | None:
        """The value bound by `with value as x`."""
        if value is None:
            return None
        if value[0] == "u":
            return self._each(value, self.entered)
        if value[0] == "xi" and not value[2]:
            result = self.kb.result_of_call(f"{value[1]}.__enter__")
            return ("xi", result, ()) if result else value
        if value[0] == "pi":
            method = self.find_method(value[1], value[2], "__enter__")
            if method is not None:
                return self.function_result(*method)
        return value

    def _element(self, collection: Value | None) -> Value | None:
        """What iterating a collection of known element type gives (`for image in images`)."""
        if collection is not None and collection[0] == "u":
            return self._each(collection, self._element)
        if collection is not None and collection[0] == "ci":
            element: Value = collection[1]
            return element
        return None

    def _subscript(self, base: Value | None, index: Ref | None = None) -> Value | None:
        if base is not None and base[0] == "u":
            return self._each(base, lambda member: self._subscript(member, index))
        if base is not None and base[0] == "ci":
            if index is not None and index[0] == "lit" and type(index[1]) is int:
                item = self._item(base, index[1])  # `route[1]` of a literal tuple
                if item is not None:
                    return item
            return self._element(base)  # `images[0]`
        if base is not None and base[0] == "cm":
            return _keyed(base, index)  # `SERVICES[kind]`: any of them; `SERVICES["git"]`
        if base is not None and base[0] == "pc":
            return base  # a parametrised generic project class, `CRUDBase[User]`
        if base is not None and base[0] == "xi" and not base[2]:
            result = self.kb.subscript_type(base[1])
            return ("xi", result, ()) if result else None
        return None

    def _piped(self, side: Value | None) -> Value | None:
        if side is not None and side[0] == "u":
            return self._each(side, self._piped)
        if side is not None and side[0] == "xi" and not side[2]:
            result = self.kb.pipe_type(side[1])
            return ("xi", result, ()) if result else None
        return None

    def _divided(self, base: Value | None) -> Value | None:
        if base is not None and base[0] == "u":
            return self._each(base, self._divided)
        if base is not None and base[0] == "xi" and not base[2]:
            result = self.kb.div_type(base[1])
            return ("xi", result, ()) if result else None
        return None


def _is_file_protocol(value: Value) -> bool:
    return bool(value[0] == "xi" and value[1] == "io.IOBase")


def _merge(values: list[Value | None]) -> Value | None:
    """Every value the bindings may give: one value when they agree, a union ("u", members)
    when they differ. `None` literals and unknown bindings are left out: an unknown binding
    neither hides the known ones nor is ever reported. Unknown when nothing is known, or when
    there are more candidates than a run-time choice plausibly has."""
    members: list[Value] = []
    for value in values:
        if value is None or value == _NONE:
            continue
        for member in value[1] if value[0] == "u" else (value,):
            if member not in members:
                members.append(member)
    if not members:
        return None
    if len(members) == 1:
        return members[0]
    if len(members) > _MAX_UNION:
        return None
    return ("u", tuple(_widest(members)))


def _widest(members: list[Value]) -> list[Value]:
    """An instance known to be exactly its class adds nothing next to one that may be a
    subclass (`("pi", p, C, True)` beside `("pi", p, C)`)."""
    loose = {member[:3] for member in members if member[0] == "pi" and len(member) == 3}
    return [
        member
        for member in members
        if not (member[0] == "pi" and len(member) > 3 and member[:3] in loose)
    ]


def candidates(value: Value | None) -> tuple[Value, ...]:
    """Every candidate of a value: the members of a union, or the value itself."""
    if value is None:
        return ()
    if value[0] == "u":
        members: tuple[Value, ...] = value[1]
        return members
    return (value,)


def _keyed(mapping: Value, key: Ref | None) -> Value | None:
    """The value a mapping holds under a key: the literal key's own value when known."""
    if key is not None and key[0] == "str":
        for name, value in mapping[2]:
            if name == key[1]:
                found: Value = value
                return found
    element: Value | None = mapping[1]
    return element


def _is_class(value: Value | None) -> bool:
    """A project class, or a library name spelled like a class (`httpx.Client`)."""
    if value is None:
        return False
    if value[0] in ("pc", "alias"):
        return True
    return value[0] == "x" and str(value[1]).rsplit(".", 1)[-1][:1].isupper()


def _declared_or_all(bindings: list[Ref | None]) -> list[Ref | None]:
    """An annotated binding declares the name's type, whatever else is assigned to it
    (`_client: Client | None = None`, then `global _client; _client = make_client()`)."""
    declared: list[Ref | None] = [
        ref for ref in bindings if ref is not None and ref[0] in ("i", "ann")
    ]
    return declared or bindings


def _literal_arguments(
    site: CallSite, function: FunctionFacts, positional: list[Any]
) -> list[tuple[str, Value]]:
    """The literal each guarded parameter gets at this call: passed, or its default."""
    found: list[tuple[str, Value]] = []
    for name in function.guarded:
        param = function.param(name)
        if param is None or param.kind in ("star", "double_star"):
            continue
        passed: Ref | None = param.default
        for keyword, argument in site.kwargs:
            if keyword == name:
                passed = argument
                break
        else:
            if param in positional and positional.index(param) < len(site.args):
                passed = site.args[positional.index(param)]
        if passed is not None and passed[0] in ("lit", "str", "none"):
            found.append((name, passed))
    return found


def receiver_of(value: Value) -> Receiver | None:
    """The receiver a bound method value was looked up on, if any."""
    if value[0] == "pf" and len(value) > 3:
        class_path, class_qualname, _name, exact = value[3]
        return (class_path, class_qualname, bool(exact))
    return None


def qualified_name(value: Value | None) -> str:
    """A readable qualified name for a resolved callee, for messages."""
    if value is None:
        return "?"
    tag = value[0]
    if tag == "x":
        return str(value[1])
    if tag == "xi":
        suffix = ".".join(value[2])
        return f"{value[1]}.{suffix}" if suffix else str(value[1])
    if tag in ("pf", "pc", "pi"):
        return str(value[2])
    return "?"
