"""The single pass over a libcst module that records its facts (see facts.py).

One traversal visits every statement and expression once, keeping a stack of scopes (module,
class bodies, functions). It records bindings as refs, every call with its arguments and
whether it is awaited, decorators, parameters and annotations. It does not resolve anything:
that needs other modules and happens in names.py. Lambda bodies are not recorded (they run
only when called, usually off the event loop); comprehensions run inline and are.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any, cast

import libcst as cst

from async_pitfalls_lint.facts import (
    CallSite,
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    Param,
    Ref,
)
from async_pitfalls_lint.positions import LineIndex, node_offsets, tree_offsets

_SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "leading_lines", "header", "footer",
        "lines_after_decorators", "trailing_whitespace", "colon", "dot", "star", "equal",
        "operator", "lbracket", "rbracket", "lbrace", "rbrace", "newline", "indent",
        "asynchronous", "whitespace_before", "whitespace_after", "first_line",
        "empty_lines", "prefix", "quote", "raw_value", "value_annotation",
    }
)  # fmt: skip

_GENERATOR_WRAPPERS = frozenset(
    {
        "Generator", "Iterator", "Iterable", "AsyncGenerator", "AsyncIterator",
        "AsyncIterable", "Awaitable", "ContextManager", "AsyncContextManager",
        "AbstractContextManager", "AbstractAsyncContextManager",
    }
)  # fmt: skip
# Builtins that iterate their first argument to the end.
_CONSUMERS = frozenset(
    {"list", "tuple", "set", "frozenset", "sorted", "sum", "min", "max", "any", "all", "dict"}
)
_OPTIONAL_WRAPPERS = frozenset({"Optional", "Final", "ClassVar", "Required", "NotRequired"})
# `dict[str, Model]`: indexing, `.get()` and `.values()` give a Model.
_MAPPINGS = frozenset(
    {"dict", "Dict", "Mapping", "MutableMapping", "DefaultDict", "defaultdict", "OrderedDict"}
)
# Statements after which the rest of their block never runs (exact types: libcst's abstract
# node classes make isinstance slow, and this runs for every statement).
_BLOCK_ENDS = frozenset({cst.Return, cst.Raise, cst.Break, cst.Continue})
_SIMPLE_LINES = frozenset({cst.SimpleStatementLine, cst.SimpleStatementSuite})
# `list[Image]`: iterating or indexing gives an Image.
_COLLECTIONS = frozenset(
    {
        "list",
        "List",
        "Sequence",
        "MutableSequence",
        "set",
        "Set",
        "frozenset",
        "FrozenSet",
        "Collection",
        "Iterable",
        "Iterator",
        "deque",
        "Deque",
        "tuple",
        "Tuple",
    }
)
_DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})
DECORATOR_NAMES = frozenset(
    {
        "get", "post", "put", "patch", "delete", "options", "head", "trace", "api_route",
        "route", "websocket", "websocket_route", "middleware", "exception_handler", "on_event",
        "on", "event",  # python-socketio: `sio.on("chat")(handler)`
    }
)  # fmt: skip
REGISTRATION_NAMES = frozenset(
    {
        "add_api_route", "add_route", "add_api_websocket_route", "add_websocket_route",
        "add_exception_handler", "add_event_handler", "add_middleware", "Route",
        "WebSocketRoute", "APIRoute", "APIWebSocketRoute", "Middleware", "FastAPI",
        "Starlette", "APIRouter", "Router", "include_router", "mount", "Mount",
        "on",  # python-socketio: `sio.on("chat", handler)`
    }
)  # fmt: skip


@cache
def _child_fields(node_type: type) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(node_type)
        if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
    )


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _dotted_module(node: cst.Attribute | cst.Name | None) -> str:
    if node is None:
        return ""
    return _dotted(node) or ""


class _Scope:
    __slots__ = ("class_facts", "function", "id", "kind", "parent_id")

    def __init__(
        self,
        kind: str,
        scope_id: str,
        parent_id: str,
        function: FunctionFacts | None = None,
        class_facts: ClassFacts | None = None,
    ) -> None:
        self.kind = kind
        self.id = scope_id
        self.parent_id = parent_id
        self.function = function
        self.class_facts = class_facts


class Extractor:
    """Walk one module once and return its ModuleFacts."""

    def __init__(self, module: cst.Module, text: str, tree: ast.Module | None = None) -> None:
        self.module = module
        self.text = text
        self.tree = tree  # the interpreter's tree of the text, for positions
        self.positions_from_tree = False
        self.facts = ModuleFacts()
        self._scopes: list[_Scope] = [_Scope("module", "", "")]
        self._sink: list[CallSite] = self.facts.calls
        # Names bound by enclosing lambdas (unknown) and comprehensions (their elements).
        self._shadowed: list[dict[str, Ref | None]] = []
        self._awaited: cst.CSTNode | None = None
        self._chain_base: cst.CSTNode | None = None
        self._callee: cst.CSTNode | None = None  # the `func` of the call being extracted
        self._site_by_node: dict[int, CallSite] = {}
        self._genexp_depth = 0
        self._type_checking = 0
        # Blocks (if/else branches, loop and try bodies) open around the current statement, and
        # the block of every assignment to a function's locals: an assignment in an enclosing
        # block hides the earlier ones from the uses after it.
        self._block_path: tuple[int, ...] = ()
        self._blocks_opened = 0
        self._local_blocks: dict[str, dict[str, list[tuple[int, ...]]]] = {}
        # What is known to hold where the current statement runs: ("done", future) after a
        # `fut.done()` test, ("g", ...) guards on the function's parameters.
        self._conditions: list[Ref] = []
        # (node where the site starts, node where it ends, node where its callee ends, site)
        self._site_nodes: list[tuple[cst.CSTNode, cst.CSTNode, cst.CSTNode, CallSite]] = []
        # (definition, node where its keyword starts or ends, width to subtract, facts)
        self._def_nodes: list[tuple[cst.FunctionDef, cst.CSTNode, int, FunctionFacts]] = []
        self._expr_handlers: dict[type, Callable[[Any], Ref | None]] = {
            cst.Name: self._name,
            cst.Attribute: self._attribute,
            cst.Call: self._call,
            cst.Await: self._await,
            cst.Subscript: self._subscript,
            cst.BinaryOperation: self._binary,
            cst.SimpleString: self._string,
            cst.List: self._sequence,
            cst.Tuple: self._sequence,
            cst.Set: self._sequence,
            cst.Dict: self._dict,
            cst.Lambda: self._lambda,
            cst.ListComp: self._comprehension,
            cst.SetComp: self._comprehension,
            cst.GeneratorExp: self._comprehension,
            cst.DictComp: self._comprehension,
            cst.NamedExpr: self._walrus,
            cst.Yield: self._yield,
            cst.IfExp: self._if_expression,
            cst.BooleanOperation: self._boolean,
            cst.Integer: self._number,
            cst.Float: self._number,
        }
        self._stmt_handlers: dict[type, Callable[[Any], None]] = {
            cst.SimpleStatementLine: self._simple_line,
            cst.SimpleStatementSuite: self._simple_line,
            cst.FunctionDef: self._function,
            cst.ClassDef: self._class,
            cst.If: self._if,
            cst.For: self._for,
            cst.While: self._while,
            cst.With: self._with,
            cst.Try: self._try,
            cst.Expr: self._expr_statement,
            cst.Assign: self._assign,
            cst.AnnAssign: self._ann_assign,
            cst.AugAssign: self._aug_assign,
            cst.Return: self._return,
            cst.Import: self._import,
            cst.ImportFrom: self._import_from,
            cst.Global: self._global,
            cst.Nonlocal: self._global,
            cst.Pass: _ignore,
            cst.Break: _ignore,
            cst.Continue: _ignore,
        }
        try_star = getattr(cst, "TryStar", None)
        if try_star is not None:
            self._stmt_handlers[try_star] = self._try
        type_alias = getattr(cst, "TypeAlias", None)
        if type_alias is not None:
            self._stmt_handlers[type_alias] = self._type_alias

    # -- entry point ----------------------------------------------------------------------------
    def run(self) -> ModuleFacts:
        self._body(self.module.body)
        self._fill_positions()
        return self.facts

    def _fill_positions(self) -> None:
        starts: list[cst.CSTNode] = [start for start, _, _, _ in self._site_nodes]
        ends: list[cst.CSTNode] = [end for _, end, _, _ in self._site_nodes]
        callee_ends: list[cst.CSTNode] = [callee for _, _, callee, _ in self._site_nodes]
        if not starts and not self._def_nodes:
            return
        index = LineIndex(self.text)
        located = None
        if self.tree is not None:
            definitions = [definition for definition, _, _, _ in self._def_nodes]
            located = tree_offsets(
                self.module, self.tree, index, self.text, starts, ends + callee_ends, definitions
            )
        if located is None:
            start_offsets, end_offsets, def_starts = self._generated_offsets(
                starts, ends + callee_ends
            )
        else:
            start_offsets, end_offsets, def_starts = located
            self.positions_from_tree = True
        count = len(self._site_nodes)
        for slot, (_, _, _, site) in enumerate(self._site_nodes):
            site.start = start_offsets[slot]
            site.end = end_offsets[slot]
            site.callee_end = end_offsets[count + slot]
            site.line, site.column = index.position(site.start)
            site.end_line, site.end_column = index.position(site.end)
        for (_, _, _, function), def_start in zip(self._def_nodes, def_starts, strict=True):
            function.def_start = def_start
            function.line, function.column = index.position(def_start)

    def _generated_offsets(
        self, starts: list[cst.CSTNode], ends: list[cst.CSTNode]
    ) -> tuple[list[int], list[int], list[int]]:
        """Offsets from a code generation pass over the module (see positions.py)."""
        keywords: list[cst.CSTNode] = [keyword for _, keyword, _, _ in self._def_nodes]
        start_offsets, end_offsets = node_offsets(self.module, starts + keywords, ends)
        count = len(starts)
        def_starts = [
            start_offsets[count + slot] - width
            for slot, (_, _, width, _) in enumerate(self._def_nodes)
        ]
        return start_offsets[:count], end_offsets, def_starts

    # -- scopes ---------------------------------------------------------------------------------
    @property
    def _scope(self) -> _Scope:
        return self._scopes[-1]

    def _lookup_scope_id(self) -> str:
        return self._scope.id

    def _bind(self, name: str, value: Ref | None) -> None:
        scope = self._scope
        if scope.kind == "function":
            assert scope.function is not None
            if name in scope.function.globals:
                self.facts.bindings.setdefault(name, []).append(value)
            else:
                scope.function.locals.setdefault(name, []).append(value)
                blocks = self._local_blocks.setdefault(scope.function.qualname, {})
                blocks.setdefault(name, []).append(self._block_path)
        elif scope.kind == "class":
            assert scope.class_facts is not None
            scope.class_facts.attributes.setdefault(name, []).append(value)
        elif self._type_checking and value is not None and value[0] == "imp":
            self.facts.type_only[name] = value
        else:
            self.facts.bindings.setdefault(name, []).append(value)

    def _bind_target(self, target: cst.BaseExpression, value: Ref | None) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, value)
        elif isinstance(target, cst.Attribute):
            self._bind_attribute(target, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = value[1] if value is not None and value[0] == "l" else None
            elements = target.elements
            for position, element in enumerate(elements):
                item: Ref | None = None
                if items is not None and len(items) == len(elements):
                    item = items[position]
                elif value is not None and value[0] == "c":
                    item = ("ti", value, position)  # `a, b = f()`: what f returns at position
                elif value is not None:
                    item = ("ix", value, position)  # `for path, handler in routes`
                inner = element.value
                if isinstance(inner, cst.StarredElement):
                    inner = inner.value
                    item = None
                self._bind_target(inner, item)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None)
        elif isinstance(target, cst.Subscript):
            self.expr(target)
            self._bind_item(target, value)
        else:
            self.expr(target)

    def _bind_item(self, target: cst.Subscript, value: Ref | None) -> None:
        """`workers[name] = Worker(...)`: the mapping holds that value too, so a later
        `workers[key]` may be it (registries filled at start-up, often from a function)."""
        if value is None or len(target.slice) != 1:
            return
        index = target.slice[0].slice
        # The literal key only: `self.expr(target)` already recorded what the index calls.
        written = index.value if isinstance(index, cst.Index) else None
        key = self._string(written) if isinstance(written, cst.SimpleString) else None
        item: Ref = ("m", ((key, value),))
        base = target.value
        if isinstance(base, cst.Attribute):
            self._bind_attribute(base, item)
            return
        if not isinstance(base, cst.Name):
            return
        function = self._current_function()
        name = base.value
        if function is None or name in function.locals or name in function.globals:
            self._bind(name, item)  # the module's, a class body's or the function's own
        elif function.param(name) is None and function.parent_scope == "":
            self.facts.bindings.setdefault(name, []).append(item)  # a module-level registry

    def _bind_attribute(self, target: cst.Attribute, value: Ref | None) -> None:
        base = target.value
        if isinstance(base, cst.Attribute) and base.attr.value == "state":
            self.facts.state_bindings.setdefault(target.attr.value, []).append(value)
        function = self._current_function()
        if (
            isinstance(base, cst.Name)
            and function is not None
            and function.class_qualname is not None
            and function.params
            and function.params[0].name == base.value
        ):
            class_facts = self.facts.classes.get(function.class_qualname)
            if class_facts is not None:
                class_facts.attributes.setdefault(target.attr.value, []).append(value)
                return
        self.expr(base)

    def _current_function(self) -> FunctionFacts | None:
        scope = self._scope
        return scope.function if scope.kind == "function" else None

    # -- statements -----------------------------------------------------------------------------
    def _body(self, statements: Iterable[cst.CSTNode]) -> None:
        handlers = self._stmt_handlers
        items = list(statements)
        known = len(self._conditions)
        try:
            for index, statement in enumerate(items):
                handler = handlers.get(type(statement))
                if handler is not None:
                    handler(statement)
                else:
                    self._generic(statement)
                if _ends_block(statement):
                    break  # what follows an unconditional return or raise never runs
                if type(statement) is cst.If:
                    # `if not cache: return x` (or `if not fut.done(): raise ...`): the rest of
                    # the block runs only when the test failed.
                    self._conditions.extend(self._after_early_exit(statement))
                target = _cache_hit_return(statement)
                if target is not None and _assigns(items[index + 1 :], target):
                    # `if X is not None: return X` then the code filling X: run once per cache.
                    with self._memoising():
                        self._body(items[index + 1 :])
                    return
        finally:
            del self._conditions[known:]

    def _memoising(self) -> AbstractContextManager[None]:
        """Mark every call and property read recorded inside as on a cache's fill path."""
        return self._marking("memoised")

    def _running_once(self) -> AbstractContextManager[None]:
        """Mark every call and property read recorded inside as run once (CallSite.once)."""
        return self._marking("once")

    @contextmanager
    def _marking(self, flag: str) -> Iterator[None]:
        function = self._current_function()
        calls = len(self._sink)
        reads = len(function.property_reads) if function is not None else 0
        try:
            yield
        finally:
            for site in self._sink[calls:]:
                setattr(site, flag, True)
            for site in function.property_reads[reads:] if function is not None else ():
                setattr(site, flag, True)

    def _block(self, block: cst.BaseSuite) -> None:
        saved = self._block_path
        self._blocks_opened += 1
        self._block_path = (*saved, self._blocks_opened)
        try:
            self._body(block.body)
        finally:
            self._block_path = saved

    def _after_early_exit(self, node: cst.If) -> list[Ref]:
        body = node.body.body
        if node.orelse is not None or not body or not _ends_block(body[-1]):
            return []
        return self._test_conditions(node.test, negated=True)

    def _block_under(self, block: cst.BaseSuite, conditions: list[Ref]) -> None:
        known = len(self._conditions)
        self._conditions.extend(conditions)
        try:
            self._block(block)
        finally:
            del self._conditions[known:]

    # -- conditions -----------------------------------------------------------------------------
    def _test_conditions(self, test: cst.BaseExpression, negated: bool = False) -> list[Ref]:
        """What holds in the branch a test selects: futures known done, parameter guards."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._test_conditions(test.expression, not negated)
        if isinstance(test, cst.BooleanOperation):
            both = (
                isinstance(test.operator, cst.Or) if negated else isinstance(test.operator, cst.And)
            )
            if not both:
                return []  # one side or the other: nothing certain
            return [
                *self._test_conditions(test.left, negated),
                *self._test_conditions(test.right, negated),
            ]
        future = _done_receiver(test)
        if future is not None:
            return [] if negated else [("done", future)]
        guard = self._guard(test)
        if guard is None:
            return []
        if negated:
            guard = (guard[0], guard[1], _NEGATED_TESTS[guard[2]], guard[3])
        return [guard]

    def _guard(self, test: cst.BaseExpression) -> Ref | None:
        """`cache`, `mode == "fast"`, `x is None`, for a parameter of the current function."""
        name: str | None = None
        kind = "truthy"
        literal: Any = None
        if isinstance(test, cst.Name):
            name = test.value
        elif (
            isinstance(test, cst.Comparison)
            and isinstance(test.left, cst.Name)
            and len(test.comparisons) == 1
        ):
            comparison = test.comparisons[0]
            operator = type(comparison.operator)
            known, literal = _literal_value(comparison.comparator)
            if known and operator in _COMPARISON_TESTS:
                name = test.left.value
                kind = _COMPARISON_TESTS[operator]
        function = self._current_function()
        if name is None or function is None or function.param(name) is None:
            return None
        if name in function.locals:
            return None  # reassigned before the test: not the value the caller passed
        if name not in function.guarded:
            function.guarded.append(name)
        return ("g", name, kind, literal)

    def _note_forwarded(self, node: cst.Call) -> None:
        """`validate_email(email, check_deliverability=check_deliverability)`: a parameter with
        a literal default handed on under its own name is bound from call sites like a guarded
        one, so the literal a caller passes (or the default) is known where it is used."""
        function = self._current_function()
        if function is None:
            return
        for arg in node.args:
            if (
                arg.keyword is not None
                and isinstance(arg.value, cst.Name)
                and arg.value.value == arg.keyword.value
            ):
                name = arg.value.value
                param = function.param(name)
                default = param.default if param is not None else None
                literal = default is not None and default[0] in ("lit", "str", "none")
                if literal and name not in function.locals and name not in function.guarded:
                    function.guarded.append(name)

    def _guards(self) -> tuple[Ref, ...]:
        return tuple(condition for condition in self._conditions if condition[0] == "g")

    def _is_settled(self, func: cst.BaseExpression) -> bool:
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("result", "exception"):
            return False
        future = _dotted(func.value)
        return future is not None and ("done", future) in self._conditions

    def _simple_line(self, line: cst.SimpleStatementLine | cst.SimpleStatementSuite) -> None:
        self._body(line.body)

    def _expr_statement(self, node: cst.Expr) -> None:
        self.expr(node.value)

    def _assign(self, node: cst.Assign) -> None:
        value = self._value_or_type(node.value)
        for target in node.targets:
            self._bind_target(target.target, value)

    def _value_or_type(self, node: cst.BaseExpression) -> Ref | None:
        """Module and class level `X = Annotated[...]`/`Optional[...]` define type aliases."""
        if isinstance(node, cst.Subscript) and self._scope.kind != "function":
            base = _last_name(node.value)
            if base == "Annotated" or base in _OPTIONAL_WRAPPERS or base == "Union":
                return self.type_ref(node)
        return self.expr(node)

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        annotation = self.type_ref(node.annotation.annotation)
        value = self.expr(node.value) if node.value is not None else None
        if annotation is not None and value is not None:
            bound: Ref | None = ("ann", annotation, value)
        elif annotation is not None:
            bound = ("i", annotation)
        else:
            bound = value
        self._bind_target(node.target, bound)

    def _aug_assign(self, node: cst.AugAssign) -> None:
        self.expr(node.value)
        if isinstance(node.target, cst.Name):
            self._bind(node.target.value, None)
        else:
            self.expr(node.target)

    def _type_alias(self, node: Any) -> None:
        self._bind(node.name.value, self.type_ref(node.value))

    def _return(self, node: cst.Return) -> None:
        value = self.expr(node.value) if node.value is not None else ("none",)
        function = self._current_function()
        if function is not None:
            function.return_values.append(value)

    def _global(self, node: cst.Global | cst.Nonlocal) -> None:
        function = self._current_function()
        if function is not None and isinstance(node, cst.Global):
            function.globals.update(item.name.value for item in node.names)

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted_module(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, ("imp", 0, dotted))
            else:
                top = dotted.split(".", 1)[0]
                self._bind(top, ("imp", 0, top))

    def _import_from(self, node: cst.ImportFrom) -> None:
        level = len(node.relative)
        module = _dotted_module(node.module)
        if isinstance(node.names, cst.ImportStar):
            self.facts.star_imports.append(("imp", level, module))
            return
        for alias in node.names:
            name = _dotted_module(alias.name)
            dotted = f"{module}.{name}" if module else name
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self._bind(local, ("imp", level, dotted))

    def _if(self, node: cst.If) -> None:
        function = self._current_function()
        lazy_global = function is not None and _initialises_global_once(node, function.globals)
        if (lazy_global or _installs_when_missing(node.test)) and function is not None:
            self.expr(node.test)
            with self._running_once():
                self._block(node.body)
            if node.orelse is not None:
                self._generic_child(node.orelse)
            return
        current: cst.If | None = node
        failed: list[Ref] = []  # what holds once the tests so far failed (elif, else)
        while current is not None:
            type_checking = _dotted(current.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            self.expr(current.test)
            known = len(self._conditions)
            self._conditions.extend(failed)
            try:
                passed = self._test_conditions(current.test)
                if type_checking:
                    self._type_checking += 1
                    self._block_under(current.body, passed)
                    self._type_checking -= 1
                elif _cache_miss_filled(current):
                    with self._memoising():
                        self._block_under(current.body, passed)
                else:
                    self._block_under(current.body, passed)
                negated = self._test_conditions(current.test, negated=True)
                failed = [*failed, *negated]
                orelse = current.orelse
                if isinstance(orelse, cst.If):
                    current = orelse
                else:
                    if orelse is not None:
                        self._block_under(orelse.body, negated)
                    current = None
            finally:
                del self._conditions[known:]

    def _for(self, node: cst.For) -> None:
        iterable = self.expr(node.iter)
        if node.asynchronous is None:
            self._iterated(node.iter, iterable)
        items = ("it", iterable) if iterable is not None and node.asynchronous is None else None
        self._bind_target(node.target, items)
        if node.asynchronous is not None:
            self._mark_awaits()
            if iterable is not None:
                # `async for` awaits __aiter__()'s iterator's __anext__ (usually the same object).
                self._implicit_call(node.iter, ("a", iterable, "__aiter__"), False)
                self._implicit_call(node.iter, ("a", iterable, "__anext__"), True)
        self._block(node.body)
        if node.orelse is not None:
            self._block(node.orelse.body)

    def _while(self, node: cst.While) -> None:
        self.expr(node.test)
        self._block(node.body)
        if node.orelse is not None:
            self._block(node.orelse.body)

    def _with(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._mark_awaits()
        asynchronous = node.asynchronous is not None
        for item in node.items:
            before = len(self._sink)
            value = self.expr(item.item)
            for site in self._sink[before:]:
                site.in_with_item = True
            if value is not None:
                # `with x:` calls x.__enter__ and x.__exit__ (awaited for `async with`).
                names = ("__aenter__", "__aexit__") if asynchronous else ("__enter__", "__exit__")
                for name in names:
                    self._implicit_call(item.item, ("a", value, name), asynchronous)
            if item.asname is not None:
                self._bind_target(item.asname.name, ("w", value) if value is not None else None)
        self._block(node.body)

    def _try(self, node: Any) -> None:
        self._block(node.body)
        for handler in node.handlers:
            if handler.type is not None:
                self.expr(handler.type)
            if handler.name is not None:
                self._bind_target(handler.name.name, None)
            if _catches_missing_module(handler.type) and self._current_function() is not None:
                with self._running_once():  # installing or loading a missing dependency
                    self._block(handler.body)
            else:
                self._block(handler.body)
        if node.orelse is not None:
            self._block(node.orelse.body)
        if node.finalbody is not None:
            self._block(node.finalbody.body)

    def _mark_consumed(self, node: cst.CSTNode) -> None:
        site = self._site_by_node.get(id(node))
        if site is not None:
            site.consumed = True

    def _iterated(self, node: cst.CSTNode, iterable: Ref | None) -> None:
        """Iterated synchronously right here: a call's result is consumed; a name or attribute
        gets an implicit `__iter__` call (iterating a Django QuerySet runs its query)."""
        if id(node) in self._site_by_node:
            self._mark_consumed(node)
        elif iterable is not None and iterable[0] in ("n", "a", "s"):
            site = CallSite(("a", iterable, "__iter__"), (), (), False, implicit=True)
            site.consumed = True
            site.guards = self._guards()
            self._sink.append(site)
            self._site_nodes.append((node, node, node, site))

    def _implicit_call(self, node: cst.CSTNode, callee: Ref, awaited: bool) -> None:
        site = CallSite(callee, (), (), awaited, in_with_item=True, implicit=True)
        site.guards = self._guards()
        self._sink.append(site)
        self._site_nodes.append((node, node, node, site))

    def _mark_awaits(self) -> None:
        function = self._current_function()
        if function is not None:
            function.awaits = True

    # -- definitions ----------------------------------------------------------------------------
    def _qualname(self, name: str) -> str:
        scope = self._scope
        if scope.kind == "module":
            base = name
        elif scope.kind == "class":
            assert scope.class_facts is not None
            base = f"{scope.class_facts.qualname}.{name}"
        else:
            assert scope.function is not None
            base = f"{scope.function.qualname}.<locals>.{name}"
        qualname = base
        counter = 2
        while qualname in self.facts.functions or qualname in self.facts.classes:
            qualname = f"{base}#{counter}"
            counter += 1
        return qualname

    def _function(self, node: cst.FunctionDef) -> None:
        outer = self._scope
        decorators = [self.expr(decorator.decorator) for decorator in node.decorators]
        qualname = self._qualname(node.name.value)
        class_qualname = (
            outer.class_facts.qualname if outer.kind == "class" and outer.class_facts else None
        )
        lookup_parent = outer.parent_id if outer.kind == "class" else outer.id
        function = FunctionFacts(
            qualname=qualname,
            name=node.name.value,
            is_async=node.asynchronous is not None,
            scope=qualname,
            parent_scope=lookup_parent,
            class_qualname=class_qualname,
            decorators=decorators,
        )
        if function.is_async:
            self.facts.has_async = True
        self.facts.functions[qualname] = function
        if outer.kind == "function" and outer.function is not None:
            outer.function.nested.append(qualname)
        self._bind(node.name.value, ("def", qualname))
        if class_qualname is not None and outer.class_facts is not None:
            outer.class_facts.methods[node.name.value] = qualname
        # The FunctionDef node starts at its decorators; we want the `async`/`def` keyword.
        if node.asynchronous is not None:
            self._def_nodes.append((node, node.asynchronous, 0, function))
        else:
            keyword_width = len("def") + len(node.whitespace_after_def.value)
            self._def_nodes.append((node, node.name, keyword_width, function))
        self._parameters(node.params, function, decorators)
        if node.returns is not None:
            function.returns = self.type_ref(node.returns.annotation, unwrap_generators=True)
        self._scopes.append(_Scope("function", qualname, lookup_parent, function=function))
        saved_sink, saved_shadow = self._sink, self._shadowed
        saved_path, saved_conditions = self._block_path, self._conditions
        self._sink, self._shadowed = function.calls, []
        self._block_path, self._conditions = (), []
        try:
            self._block(node.body)
        finally:
            self._sink, self._shadowed = saved_sink, saved_shadow
            self._block_path, self._conditions = saved_path, saved_conditions
            self._scopes.pop()

    def _parameters(
        self, params: cst.Parameters, function: FunctionFacts, decorators: Sequence[Ref | None]
    ) -> None:
        ordered: list[tuple[cst.Param, str]] = [(p, "positional") for p in params.posonly_params]
        ordered += [(p, "positional") for p in params.params]
        if isinstance(params.star_arg, cst.Param):
            ordered.append((params.star_arg, "star"))
        ordered += [(p, "keyword") for p in params.kwonly_params]
        if params.star_kwarg is not None:
            ordered.append((params.star_kwarg, "double_star"))
        decorator_names = {_decorator_name(ref) for ref in decorators}
        for position, (param, kind) in enumerate(ordered):
            annotation = None
            if param.annotation is not None:
                annotation = self.type_ref(param.annotation.annotation)
            default = self.expr(param.default) if param.default is not None else None
            self._note_bare_dependency(default, annotation)
            name = param.name.value
            function.params.append(Param(name, annotation, default, kind))
            if position == 0 and function.class_qualname is not None and kind == "positional":
                if "staticmethod" in decorator_names:
                    continue
                marker = "cls" if "classmethod" in decorator_names else "self"
                function.locals[name] = [(marker, function.class_qualname)]

    def _note_bare_dependency(self, default: Ref | None, annotation: Ref | None) -> None:
        """`x: Service = Depends()` depends on the annotation itself."""
        if default is None or default[0] != "c" or default[2] or annotation is None:
            return
        callee = default[1]
        if callee is not None and _ref_last_name(callee) in _DEPENDENCY_MARKERS:
            target = annotation[1] if annotation[0] == "t" else annotation
            self.facts.dependencies.append((self._scope.id, callee, target))

    def _class(self, node: cst.ClassDef) -> None:
        outer = self._scope
        decorators = [self.expr(decorator.decorator) for decorator in node.decorators]
        bases = [self.expr(arg.value) for arg in node.bases]
        for keyword in node.keywords:
            self.expr(keyword.value)
        qualname = self._qualname(node.name.value)
        lookup_parent = outer.parent_id if outer.kind == "class" else outer.id
        facts = ClassFacts(
            qualname=qualname,
            name=node.name.value,
            scope=f"class:{qualname}",
            parent_scope=lookup_parent,
            bases=bases,
            decorators=decorators,
        )
        self.facts.classes[qualname] = facts
        self._bind(node.name.value, ("class", qualname))
        self._scopes.append(_Scope("class", facts.scope, lookup_parent, class_facts=facts))
        try:
            self._block(node.body)
        finally:
            self._scopes.pop()

    # -- expressions ----------------------------------------------------------------------------
    def expr(self, node: cst.BaseExpression | None) -> Ref | None:
        if node is None:
            return None
        handler = self._expr_handlers.get(type(node))
        if handler is not None:
            return handler(node)
        self._generic(node)
        return None

    def _generic(self, node: cst.CSTNode) -> None:
        for field_name in _child_fields(type(node)):
            value = getattr(node, field_name)
            if isinstance(value, cst.CSTNode):
                self._generic_child(value)
            elif isinstance(value, (tuple, list)):
                for child in value:
                    if isinstance(child, cst.CSTNode):
                        self._generic_child(child)

    def _generic_child(self, child: cst.CSTNode) -> None:
        if isinstance(child, cst.BaseExpression):
            self.expr(child)
        elif isinstance(child, (cst.BaseStatement, cst.BaseSmallStatement)):
            self._body((child,))
        elif isinstance(child, cst.BaseSuite):
            self._block(child)
        else:
            self._generic(child)

    def _name(self, node: cst.Name) -> Ref | None:
        name = node.value
        if name == "None":
            return ("none",)
        if name in ("True", "False"):
            return ("lit", name == "True")
        for shadow in reversed(self._shadowed):
            if name in shadow:
                return shadow[name]
        function = self._current_function()
        if function is not None:
            bound = function.locals.get(name)
            if bound:
                # Remember how many assignments precede this use: a later `client = Llama()`
                # must not blur `client = Redis()` for the calls in between; and the last one
                # that always runs before it hides those before it.
                preceding = len(bound)
                first = self._reaching_from(function, name, preceding)
                if first:
                    return ("n", self._scope.id, name, preceding, first)
                return ("n", self._scope.id, name, preceding)
        return ("n", self._scope.id, name)

    def _reaching_from(self, function: FunctionFacts, name: str, preceding: int) -> int:
        """The index of the last assignment, among the first `preceding`, made in a block that
        encloses the current statement (so it always runs before it); 0 if none is."""
        blocks = self._local_blocks.get(function.qualname, {}).get(name, [])
        offset = preceding - len(blocks)  # `self`, bound by the signature, has no block
        here = self._block_path
        for index in range(preceding - 1, 0, -1):
            position = index - offset
            block = blocks[position] if position >= 0 else ()
            if here[: len(block)] == block:
                return index
        return 0

    def _attribute(self, node: cst.Attribute) -> Ref | None:
        called = self._callee is node
        self._chain_base = node.value
        ref = ("a", self.expr(node.value), node.attr.value)
        if not called:
            self._property_read(node, ref)
        return ref

    def _property_read(self, node: cst.Attribute, ref: Ref) -> None:
        """Record a read that may run a property getter (in function bodies, not lambdas)."""
        function = self._current_function()
        if function is None or self._sink is not function.calls or ref[1] is None:
            return
        if node.attr.value.startswith("__"):
            return
        site = CallSite(ref, (), (), False, implicit=True, property_read=True)
        site.guards = self._guards()
        function.property_reads.append(site)
        self._site_nodes.append((node, node, node, site))

    def _await(self, node: cst.Await) -> Ref | None:
        self._mark_awaits()
        saved = self._awaited
        self._awaited = node.expression
        try:
            return self.expr(node.expression)
        finally:
            self._awaited = saved

    def _call(self, node: cst.Call) -> Ref | None:
        awaited = self._awaited is node
        chain_base = self._chain_base is node
        self._awaited = None
        self._chain_base = node.func
        self._callee = node.func
        callee = self.expr(node.func)
        args: list[Ref | None] = []
        kwargs: list[tuple[str, Ref | None]] = []
        for arg in node.args:
            value = self.expr(arg.value)
            if arg.keyword is not None:
                kwargs.append((arg.keyword.value, value))
            elif not arg.star:
                args.append(value)
        self._note_forwarded(node)
        site = CallSite(callee, tuple(args), tuple(kwargs), awaited)
        site.splat = any(arg.star for arg in node.args)
        site.guards = self._guards()
        site.settled = self._is_settled(node.func)
        self._site_by_node[id(node)] = site
        if node.args and _consumes_first_argument(node.func):
            first = node.args[0]
            positional = first.keyword is None and not first.star and bool(args)
            self._iterated(first.value, args[0] if positional else None)
        site.chain_base = chain_base
        site.in_genexp = self._genexp_depth > 0
        self._sink.append(site)
        self._site_nodes.append((node.func, node, node.func, site))
        last = _last_name(node.func)
        if last is None and isinstance(node.func, cst.Call):
            # `app.get("/x")(handler)`: a decorator applied by hand.
            last = _last_name(node.func.func)
            if last in DECORATOR_NAMES:
                self.facts.registrations.append((self._scope.id, site))
                last = None
        if last in _DEPENDENCY_MARKERS:
            self.facts.dependencies.append((self._scope.id, callee, args[0] if args else None))
        if last in REGISTRATION_NAMES or last in _DEPENDENCY_MARKERS:
            self.facts.registrations.append((self._scope.id, site))
        return ("c", callee, site.args, site.kwargs)

    def _subscript(self, node: cst.Subscript) -> Ref | None:
        self._chain_base = node.value
        base = self.expr(node.value)
        index: Ref | None = None
        for position, element in enumerate(node.slice):
            value = element.slice
            if isinstance(value, cst.Index):
                ref = self.expr(value.value)
                if position == 0:
                    index = ref
            else:
                self._generic(value)
        return ("s", base, index)

    def _binary(self, node: cst.BinaryOperation) -> Ref | None:
        left = self.expr(node.left)
        right = self.expr(node.right)
        if isinstance(node.operator, cst.Divide):
            return ("d", left)
        if isinstance(node.operator, cst.BitOr):
            return ("o", left, right)
        return None

    def _string(self, node: cst.SimpleString) -> Ref | None:
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes are the parser's business, not ours
            return None
        return ("str", value) if isinstance(value, str) else None

    def _if_expression(self, node: cst.IfExp) -> Ref | None:
        self.expr(node.test)
        return ("alt", (self.expr(node.body), self.expr(node.orelse)))

    def _boolean(self, node: cst.BooleanOperation) -> Ref | None:
        left = self.expr(node.left)
        right = self.expr(node.right)
        if isinstance(node.operator, cst.Or):
            return ("alt", (left, right))  # `client or Client()`
        return right  # `enabled and Client()`: the client, or a false value

    def _number(self, node: cst.Integer | cst.Float) -> Ref | None:
        text = node.value.replace("_", "")
        try:  # cheaper than `evaluated_value`, which compiles the literal
            return ("lit", int(text, 0) if isinstance(node, cst.Integer) else float(text))
        except ValueError:
            return None

    def _sequence(self, node: cst.List | cst.Tuple | cst.Set) -> Ref | None:
        items: list[Ref | None] = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                self.expr(element.value)
                items.append(None)
            else:
                items.append(self.expr(element.value))
        return ("l", tuple(items))

    def _dict(self, node: cst.Dict) -> Ref | None:
        pairs = []
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                pairs.append((self.expr(element.key), self.expr(element.value)))
            else:
                self.expr(element.value)
        return ("m", tuple(pairs))

    def _lambda(self, node: cst.Lambda) -> Ref | None:
        names: set[str] = set()
        for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
            names.add(param.name.value)
            if param.default is not None:
                self.expr(param.default)
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        function = self._current_function()
        saved_sink = self._sink
        self._sink = function.lambda_calls if function is not None else []
        self._shadowed.append(dict.fromkeys(names))
        try:
            self.expr(node.body)
        finally:
            self._shadowed.pop()
            self._sink = saved_sink
        return ("lam",)

    def _comprehension(self, node: Any) -> Ref | None:
        if isinstance(node, cst.GeneratorExp):
            self._genexp_depth += 1
            try:
                return self._comprehension_body(node)
            finally:
                self._genexp_depth -= 1
        return self._comprehension_body(node)

    def _comprehension_body(self, node: Any) -> Ref | None:
        bound: dict[str, Ref | None] = {}
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            # The first iterable is evaluated outside; later ones see the earlier targets.
            self._shadowed.append(dict(bound))
            try:
                iterable = self.expr(comp.iter)
            finally:
                self._shadowed.pop()
            synchronous = comp.asynchronous is None
            _bind_names(
                comp.target,
                ("it", iterable) if iterable is not None and synchronous else None,
                bound,
            )
            self._shadowed.append(dict(bound))
            if synchronous:
                self._iterated(comp.iter, iterable)
            for condition in comp.ifs:
                self.expr(condition.test)
            self._shadowed.pop()
            if comp.asynchronous is not None:
                self._mark_awaits()
                if iterable is not None:
                    self._implicit_call(comp.iter, ("a", iterable, "__aiter__"), False)
                    self._implicit_call(comp.iter, ("a", iterable, "__anext__"), True)
            comp = comp.inner_for_in
        self._shadowed.append(bound)
        try:
            if isinstance(node, cst.DictComp):
                self.expr(node.key)
                self.expr(node.value)
            else:
                self.expr(node.elt)
        finally:
            self._shadowed.pop()
        return None

    def _walrus(self, node: cst.NamedExpr) -> Ref | None:
        value = self.expr(node.value)
        if isinstance(node.target, cst.Name):
            self._bind(node.target.value, value)
        return value

    def _yield(self, node: cst.Yield) -> Ref | None:
        function = self._current_function()
        value: Ref | None = None
        if isinstance(node.value, cst.From):
            self.expr(node.value.item)
            self._mark_consumed(node.value.item)
        elif node.value is not None:
            value = self.expr(node.value)
        if function is not None:
            function.is_generator = True
            function.return_values.append(value)
        return None

    # -- annotations ----------------------------------------------------------------------------
    def type_ref(self, node: cst.BaseExpression, unwrap_generators: bool = False) -> Ref | None:
        """A ref to the class an annotation names, unwrapping Optional/Annotated/unions."""
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self.expr(node)
        if isinstance(node, cst.SimpleString):
            return self._string_annotation(node, unwrap_generators)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            left = self.type_ref(node.left, unwrap_generators)
            right = self.type_ref(node.right, unwrap_generators)
            return _type_union([left, right])
        if isinstance(node, cst.Subscript):
            return self._subscript_type(node, unwrap_generators)
        self.expr(node)
        return None

    def _subscript_type(self, node: cst.Subscript, unwrap_generators: bool) -> Ref | None:
        base_name = _last_name(node.value)
        elements = [
            element.slice.value for element in node.slice if isinstance(element.slice, cst.Index)
        ]
        if not elements:
            self.expr(node)
            return None
        if base_name == "Annotated":
            inner = self.type_ref(elements[0], unwrap_generators)
            dependency: Ref | None = None
            for metadata in elements[1:]:
                ref = self.expr(metadata)
                if _is_dependency_call(ref):
                    assert ref is not None
                    dependency = ref
                    if not ref[2] and inner is not None:
                        self.facts.dependencies.append((self._scope.id, ref[1], inner))
            return ("t", inner, dependency)
        if base_name in _OPTIONAL_WRAPPERS:
            return self.type_ref(elements[0], unwrap_generators)
        if base_name == "Union":
            return _type_union([self.type_ref(element, unwrap_generators) for element in elements])
        if base_name in _MAPPINGS and len(elements) == 2:
            self.expr(elements[0])
            value_type = self.type_ref(elements[1], unwrap_generators)
            return ("cmap", value_type) if value_type is not None else None
        if unwrap_generators and base_name in _GENERATOR_WRAPPERS:
            for element in elements[1:]:
                self.expr(element)
            return self.type_ref(elements[0], unwrap_generators)
        if unwrap_generators and base_name == "Coroutine":
            return self.type_ref(elements[-1], unwrap_generators)
        if base_name in _COLLECTIONS and (
            base_name not in ("tuple", "Tuple")
            or (len(elements) == 2 and isinstance(elements[1], cst.Ellipsis))
        ):
            item_type = self.type_ref(elements[0], unwrap_generators)
            return ("coll", item_type) if item_type is not None else None
        self.expr(node)
        return None

    def _string_annotation(self, node: cst.SimpleString, unwrap_generators: bool) -> Ref | None:
        try:
            value = node.evaluated_value
            if not isinstance(value, str) or len(value) > 200:
                return None
            parsed = cst.parse_expression(value.strip())
        except Exception:  # an annotation that is not an expression names no type
            return None
        saved_sink = self._sink
        self._sink = []  # calls inside string annotations never run
        try:
            return self.type_ref(parsed, unwrap_generators)
        finally:
            self._sink = saved_sink


def _type_union(refs: list[Ref | None]) -> Ref | None:
    """`A | B | None`: every type the annotation allows (`None` and unknown types left out)."""
    members: list[Ref] = []
    for ref in refs:
        for member in ref[1] if ref is not None and ref[0] == "tu" else (ref,):
            if member is not None and member != ("none",) and member not in members:
                members.append(member)
    if not members:
        return None
    return members[0] if len(members) == 1 else ("tu", tuple(members))


_COMPARISON_TESTS: dict[type, str] = {
    cst.Equal: "eq", cst.Is: "eq", cst.NotEqual: "ne", cst.IsNot: "ne",
}  # fmt: skip
_NEGATED_TESTS = {"truthy": "falsy", "falsy": "truthy", "eq": "ne", "ne": "eq"}


def _literal_value(node: cst.BaseExpression) -> tuple[bool, Any]:
    """(True, value) for `None`, `True`, `False`, numbers and plain strings."""
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return True, {"None": None, "True": True, "False": False}[node.value]
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes are the parser's business, not ours
            return False, None
        return isinstance(value, (str, int, float)), value
    return False, None


def _done_receiver(test: cst.BaseExpression) -> str | None:
    """`fut` in `fut.done()`."""
    if (
        isinstance(test, cst.Call)
        and not test.args
        and isinstance(test.func, cst.Attribute)
        and test.func.attr.value == "done"
    ):
        return _dotted(test.func.value)
    return None


def _ends_block(statement: cst.CSTNode) -> bool:
    """Whether the statements after this one never run: a return, raise, break or continue,
    or an if/else or try/except whose every branch ends so."""
    kind = type(statement)
    if kind in _BLOCK_ENDS:
        return True
    if kind in _SIMPLE_LINES:
        line = cast(cst.SimpleStatementLine, statement)
        return any(type(small) in _BLOCK_ENDS for small in line.body)
    if kind is cst.If:
        return _if_ends(cast(cst.If, statement))
    if kind is cst.Try:
        node = cast(cst.Try, statement)
        finished = _suite_ends(node.body) or (
            node.orelse is not None and _suite_ends(node.orelse.body)
        )
        return finished and all(_suite_ends(handler.body) for handler in node.handlers)
    return False


def _if_ends(node: cst.If) -> bool:
    orelse = node.orelse
    if orelse is None or not _suite_ends(node.body):
        return False
    return _if_ends(orelse) if type(orelse) is cst.If else _suite_ends(orelse.body)


def _suite_ends(suite: cst.BaseSuite) -> bool:
    if type(suite) is cst.SimpleStatementSuite:
        return _ends_block(suite)
    return any(_ends_block(statement) for statement in suite.body)


_MISSING_MODULE = ("ImportError", "ModuleNotFoundError")


def _installs_when_missing(test: cst.BaseExpression) -> bool:
    """`if not importlib.util.find_spec(pkg):` or `if find_spec(pkg) is None:`: the branch
    installs (or reports) a missing package, and runs once at most."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _finds_spec(test.expression)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        return (
            isinstance(target.operator, cst.Is)
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
            and _finds_spec(test.left)
        )
    return False


def _finds_spec(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and (_dotted(node.func) or "").endswith("find_spec")


def _catches_missing_module(kind: cst.BaseExpression | None) -> bool:
    """`except ImportError:` (or ModuleNotFoundError, alone or in a tuple)."""
    if isinstance(kind, cst.Tuple):
        return bool(kind.elements) and all(
            _catches_missing_module(element.value) for element in kind.elements
        )
    return kind is not None and (_dotted(kind) or "").rsplit(".", 1)[-1] in _MISSING_MODULE


def _initialises_global_once(node: cst.If, globals_: set[str]) -> bool:
    """`if _logger is None: ... _logger = ...` (or `if not _logger:`) for a declared global."""
    test = node.test
    name: str | None = None
    if isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name):
        if len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Is):
            right = test.comparisons[0].comparator
            if isinstance(right, cst.Name) and right.value == "None":
                name = test.left.value
    elif (
        isinstance(test, cst.UnaryOperation)
        and isinstance(test.operator, cst.Not)
        and isinstance(test.expression, cst.Name)
    ):
        name = test.expression.value
    if name is None or name not in globals_:
        return False
    return any(name in _assigned_names(statement) for statement in node.body.body)


def _cache_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """(the cache's dotted name, whether the test is true on a miss) for `X is None`,
    `X is not None`, `not X`, `X`, `k not in X`, `k in X` where X is a name or attribute."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _cache_test(test.expression)
        return (inner[0], not inner[1]) if inner is not None else None
    if isinstance(test, (cst.Name, cst.Attribute)):
        dotted = _dotted(test)
        return (dotted, False) if dotted is not None else None
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    operator = test.comparisons[0].operator
    right = test.comparisons[0].comparator
    if isinstance(operator, (cst.Is, cst.IsNot)):
        dotted = _dotted(test.left)
        if dotted is None or not (isinstance(right, cst.Name) and right.value == "None"):
            return None
        return dotted, isinstance(operator, cst.Is)
    if isinstance(operator, (cst.In, cst.NotIn)):
        dotted = _dotted(right)
        return (dotted, isinstance(operator, cst.NotIn)) if dotted is not None else None
    return None


def _cache_miss_filled(node: cst.If) -> bool:
    """`if X is None: X = ...` (or `X[k] = ...`): the body fills a cache on a miss."""
    found = _cache_test(node.test)
    return found is not None and found[1] and _assigns(node.body.body, found[0])


def _cache_hit_return(statement: cst.CSTNode) -> str | None:
    """The cache of `if X is not None: return X` (a hit returns early), if that is what it is."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return None
    found = _cache_test(statement.test)
    if found is None or found[1]:
        return None
    body = statement.body.body
    last = body[-1] if body else None
    if isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Return) for small in last.body
    ):
        return found[0]
    return None


def _assigns(statements: Sequence[cst.CSTNode], dotted: str) -> bool:
    """Whether the statements assign `dotted` or one of its items (`X = ...`, `X[k] = ...`)."""
    for statement in statements:
        for targets in _walk_assignments(statement):
            for target in targets:
                base = target.value if isinstance(target, cst.Subscript) else target
                if isinstance(base, (cst.Name, cst.Attribute)) and _dotted(base) == dotted:
                    return True
    return False


def _assigned_names(statement: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for assign in _walk_assignments(statement):
        for target in assign:
            _collect_names(target, names)
    return names


def _walk_assignments(node: cst.CSTNode) -> Iterator[list[cst.BaseExpression]]:
    if isinstance(node, cst.Assign):
        yield [target.target for target in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        yield [node.target]
    if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        return
    for child in node.children:
        yield from _walk_assignments(child)


def _consumes_first_argument(func: cst.BaseExpression) -> bool:
    """`list(x)`, `sorted(x)`, `"".join(x)`: calls that iterate their argument to the end."""
    if isinstance(func, cst.Name):
        return func.value in _CONSUMERS
    return isinstance(func, cst.Attribute) and func.attr.value == "join"


def _ignore(_node: cst.CSTNode) -> None:
    return None


def _bind_names(target: cst.BaseExpression, value: Ref | None, into: dict[str, Ref | None]) -> None:
    """The names a comprehension target binds, each to its part of the element."""
    if isinstance(target, cst.Name):
        into[target.value] = value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for position, element in enumerate(target.elements):
            item = ("ix", value, position) if value is not None else None
            if isinstance(element.value, cst.StarredElement):
                _bind_names(element.value.value, None, into)
            else:
                _bind_names(element.value, item, into)
    elif isinstance(target, cst.StarredElement):
        _bind_names(target.value, None, into)


def _collect_names(target: cst.BaseExpression, into: set[str]) -> None:
    if isinstance(target, cst.Name):
        into.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _collect_names(element.value, into)
    elif isinstance(target, cst.StarredElement):
        _collect_names(target.value, into)


def _ref_last_name(ref: Ref) -> str | None:
    if ref[0] == "n":
        return str(ref[2])
    if ref[0] == "a":
        return str(ref[2])
    return None


def _is_dependency_call(ref: Ref | None) -> bool:
    return (
        ref is not None
        and ref[0] == "c"
        and ref[1] is not None
        and _ref_last_name(ref[1]) in _DEPENDENCY_MARKERS
    )


def _decorator_name(ref: Ref | None) -> str | None:
    if ref is None:
        return None
    if ref[0] == "c":
        return _decorator_name(ref[1])
    return _ref_last_name(ref)


def extract(
    module: cst.Module, text: str, encoding: str = "utf-8", tree: ast.Module | None = None
) -> ModuleFacts:
    """The module's facts; `tree`, the interpreter's tree of the text, spares a code generation
    pass for positions."""
    facts = Extractor(module, text, tree).run()
    facts.encoding = encoding
    return facts
