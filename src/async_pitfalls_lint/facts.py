"""What one pass over a module records: a compact, cacheable description of its code.

Values are symbolic references ("refs"), small tuples that name where a value comes from
without resolving it: resolution needs other modules and happens later (see names.py).

    ("n", scope, name)          a bare name, looked up from `scope` ("" = module); in a function,
                                ("n", scope, name, preceding, first) keeps only the assignments
                                `first:preceding` (those that can reach the use)
    ("a", base, attr)           attribute access
    ("c", callee, args, kws)    call result; args and kws hold refs of the arguments
    ("s", base, index)          subscript
    ("d", base)                 `base / something` (path joining)
    ("i", type)                 an instance of the annotated type
    ("t", type, dependency)     `Annotated[type, Depends(dependency)]`
    ("ann", type, value)        `x: type = value`
    ("w", ref)                  the value bound by `with ref as x`
    ("self", class) / ("cls", class)
    ("imp", level, dotted)      an import binding (level > 0 for relative imports)
    ("def", qualname) / ("class", qualname)   a function or class of this module
    ("alt", refs)               one of several values (`a if c else b`, `a or b`)
    ("ix", ref, position)       item `position` of a tuple (`for path, handler in routes`)
    ("tu", types)               a union annotation (`A | B`, `Union[A, B]`)
    ("coll", type)              a collection annotation; ("cmap", type) a mapping's value type
    ("g", parameter, test, literal)   a guard: the call runs only when the parameter passes
                                the test ("truthy", "falsy", "eq", "ne") against the literal
    ("str", text), ("lit", value), ("l", items), ("m", pairs), ("lam",), ("none",)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

Ref = tuple[Any, ...]


# Fields holding source positions: the cache keeps them apart (codec.py), so facts that only
# moved are told from facts that changed without decoding them.
_CALL_POSITIONS = ("line", "column", "end_line", "end_column", "start", "end", "callee_end")


@dataclass(slots=True)
class CallSite:
    __positions__: ClassVar[tuple[str, ...]] = _CALL_POSITIONS

    callee: Ref | None
    args: tuple[Ref | None, ...]
    kwargs: tuple[tuple[str, Ref | None], ...]
    awaited: bool
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    start: int = 0
    end: int = 0
    # The callee expression's own text span (for messages and fixes).
    callee_end: int = 0
    in_with_item: bool = False
    # The call's value is used as the base of an attribute, subscript or call (`f().x`).
    chain_base: bool = False
    # The call sits inside a generator expression (awaiting there changes its meaning).
    in_genexp: bool = False
    # An implicit protocol call (`with x:` calls x.__enter__), not written as a call.
    implicit: bool = False
    # The result is iterated right here (`for x in f()`, `list(f())`): a generator's body runs.
    consumed: bool = False
    # An attribute read (`db.status`): a call only when it names a project `@property`.
    property_read: bool = False
    # Under `if GLOBAL is None:` that assigns GLOBAL (`global GLOBAL` declared), or on the path
    # taken when a package is missing (`if not find_spec(pkg):`, `except ImportError:`): runs
    # once at most.
    once: bool = False
    # On the fill path of a cache: under `if X is None:`/`if not X:`/`if k not in X:` that
    # assigns X (a name, `self._x`, `cache[k]`), or after `if X is not None: return X`.
    # Library inference treats these as run once; project code is still reported.
    memoised: bool = False
    # `fut.result()` (or `.exception()`) once `fut.done()` was checked: it returns at once.
    settled: bool = False
    # Conditions on the function's parameters under which the call runs (("g", ...) refs).
    guards: tuple[Ref, ...] = ()
    # Written with `*args` or `**kwargs`: argument positions and keywords are not all known.
    splat: bool = False

    def arg(self, position: int, keyword: str | None = None) -> Ref | None:
        if keyword is not None:
            for name, value in self.kwargs:
                if name == keyword:
                    return value
        if 0 <= position < len(self.args):
            return self.args[position]
        return None


@dataclass(slots=True)
class Param:
    name: str
    annotation: Ref | None
    default: Ref | None
    kind: str  # "positional", "keyword", "star", "double_star"


@dataclass(slots=True)
class FunctionFacts:
    __positions__: ClassVar[tuple[str, ...]] = ("line", "column", "def_start")

    qualname: str
    name: str
    is_async: bool
    scope: str  # the scope id used by ("n", scope, name) refs inside the body
    parent_scope: str  # where its free names are looked up
    class_qualname: str | None
    line: int = 0
    column: int = 0
    def_start: int = 0
    params: list[Param] = field(default_factory=list)
    decorators: list[Ref | None] = field(default_factory=list)
    locals: dict[str, list[Ref | None]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    calls: list[CallSite] = field(default_factory=list)
    returns: Ref | None = None
    return_values: list[Ref | None] = field(default_factory=list)
    awaits: bool = False
    is_generator: bool = False
    nested: list[str] = field(default_factory=list)
    # Calls written inside lambdas defined here: they run when the lambda is called (often
    # elsewhere, or in a thread), so they are never findings here; a coroutine they create is
    # still awaited on this loop (`handlers = {"join": lambda: join(ws)}` ... `await handler()`).
    lambda_calls: list[CallSite] = field(default_factory=list)
    # Attribute reads in the body (`self.group`, `db.status`), kept apart from the calls: only
    # the classifier looks at them, for project properties whose getter blocks.
    property_reads: list[CallSite] = field(default_factory=list)
    # Parameters that guards of its calls test (`if not cache:`), or that it hands on under
    # their own name with a literal default (`flag=flag`), bound from call sites.
    guarded: list[str] = field(default_factory=list)

    def param(self, name: str) -> Param | None:
        for param in self.params:
            if param.name == name:
                return param
        return None


@dataclass(slots=True)
class ClassFacts:
    __positions__: ClassVar[tuple[str, ...]] = ("line",)

    qualname: str
    name: str
    scope: str  # scope id of the class body
    parent_scope: str
    line: int = 0
    bases: list[Ref | None] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[Ref | None]] = field(default_factory=dict)
    decorators: list[Ref | None] = field(default_factory=list)


@dataclass(slots=True)
class ModuleFacts:
    bindings: dict[str, list[Ref | None]] = field(default_factory=dict)
    type_only: dict[str, Ref] = field(default_factory=dict)
    star_imports: list[Ref] = field(default_factory=list)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    # Calls made while the module is imported (module level and class bodies).
    calls: list[CallSite] = field(default_factory=list)
    # Calls that may register handlers or dependencies, with the scope they run in.
    registrations: list[tuple[str, CallSite]] = field(default_factory=list)
    # `Depends(x)`/`Security(x)` uses: (scope, marker callee, dependency ref).
    dependencies: list[tuple[str, Ref | None, Ref | None]] = field(default_factory=list)
    # `<x>.state.<name> = value` anywhere in the module (app and request state).
    state_bindings: dict[str, list[Ref | None]] = field(default_factory=dict)
    has_async: bool = False
    encoding: str = "utf-8"


def ref_text(ref: Ref | None, limit: int = 60) -> str:
    """How a ref reads in source, for messages: `db.query`, `self.repo.get`, `get_client().get`."""
    text = _text(ref)
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def _text(ref: Ref | None) -> str:
    if ref is None:
        return "<expr>"
    tag = ref[0]
    if tag == "n":
        return str(ref[2])
    if tag == "a":
        return f"{_text(ref[1])}.{ref[2]}"
    if tag == "c":
        return f"{_text(ref[1])}()"
    if tag == "s":
        return f"{_text(ref[1])}[...]"
    if tag in ("self", "cls"):
        return str(tag)
    if tag == "w":
        return _text(ref[1])
    if tag == "str":
        return repr(ref[1])
    if tag == "d":
        return f"({_text(ref[1])} / ...)"
    return "<expr>"
