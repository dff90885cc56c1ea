"""What of a module's facts the event-loop index can see, so an edit inside a function body
can be told apart from an edit that may change which code runs on the loop.

The index (scopes.py) reads a module's facts in two ways. Everything at module and class level,
and every function's signature, decorators and nesting, is the module's *surface*: any change
there builds the index again. A function's *body* (its calls, local bindings, return values)
is read in two ways only:
- the index derives the edges of each event-loop function from its body: the build keeps a
  digest of those edges per function, and a body edit derives them again to compare;
- resolution reads a body for other code's sake (what a function returns, which coroutines a
  sync helper schedules, whether a router is a local): the build keeps what each such read
  gave (`Project.observe`), and a body edit reads them again to compare.

So a body edit keeps the index when the module's surface is unchanged, its event-loop
functions have the same edges, and every body read gives what the build observed, with no
read the build did not make.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.facts import FunctionFacts, ModuleFacts

# What the build observed reading the module's bodies, (kind, qualname, detail, digest) each,
# and the edge digest of each of its event-loop functions.
SurfaceRecord = tuple[list[tuple[str, str, str, str]], dict[str, str]]
_DIGEST_CODEC: Codec[tuple[ModuleFacts | None, str | None]] = Codec(
    "surface", tuple[ModuleFacts | None, str | None]
)


def always_surface(facts: ModuleFacts) -> set[str]:
    """Functions whose bodies code elsewhere in the module reads without calling them: the
    enclosing scopes of nested functions and classes (their free names and decorators are
    looked up there), and the scopes of registrations and `Depends` markers."""
    kept = {qualname for qualname, function in facts.functions.items() if function.nested}
    kept.update(
        parent
        for parent in (
            *(function.parent_scope for function in facts.functions.values()),
            *(cls.parent_scope for cls in facts.classes.values()),
        )
        if parent in facts.functions
    )
    kept.update(scope for scope, _ in facts.registrations if scope in facts.functions)
    kept.update(scope for scope, _, _ in facts.dependencies if scope in facts.functions)
    # `request.state.db = SessionLocal()` in a middleware: the value is looked up there.
    for values in facts.state_bindings.values():
        kept.update(scope for scope in _scopes_named(values) if scope in facts.functions)
    return kept


def _scopes_named(value: object) -> set[str]:
    """The scopes the bare names in a ref (or a collection of refs) are looked up from."""
    found: set[str] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (tuple, list)):
            if len(item) >= 3 and item[0] == "n" and isinstance(item[1], str):
                found.add(item[1])
            pending.extend(item)
    return found


def surface_digest(facts: ModuleFacts | None, problem: str | None) -> str:
    """A digest of a module's facts without positions, and without the bodies of functions
    (but those of always_surface)."""
    if facts is None:
        return _DIGEST_CODEC.interface(_DIGEST_CODEC.dumps((None, problem)))
    kept = always_surface(facts)
    functions = {
        qualname: function if qualname in kept else _without_body(function)
        for qualname, function in facts.functions.items()
    }
    stripped = dataclasses.replace(facts, functions=functions)
    return _DIGEST_CODEC.interface(_DIGEST_CODEC.dumps((stripped, problem)))


def _without_body(function: FunctionFacts) -> FunctionFacts:
    """The function as the index sees it from outside: the binding of `self` (or `cls`) stays,
    since binding a call's arguments reads it; the guarded parameters stay, since the literals a
    call passes to them are bound."""
    positional = [param.name for param in function.params if param.kind == "positional"]
    first = positional[0] if positional and function.class_qualname is not None else None
    kept_locals = (
        {first: function.locals[first]} if first is not None and first in function.locals else {}
    )
    return dataclasses.replace(
        function,
        locals=kept_locals,
        calls=[],
        return_values=[],
        awaits=False,
        lambda_calls=[],
        property_reads=[],
    )


def edges_digest(variants: Iterable[str]) -> str:
    """One digest of the edges a function has under each frame the index derived them in."""
    digest = hashlib.blake2b(digest_size=16)
    for variant in sorted(variants):
        digest.update(variant.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def variant_digest(frame: object, edges: object) -> str:
    return hashlib.blake2b(repr((frame, edges)).encode(), digest_size=16).hexdigest()
