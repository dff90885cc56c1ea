"""The text edits of each fix, computed from a call site's character offsets.

Edits are as small as possible, so fixes for nested calls (`f(g(x))`) never overlap:

    time.sleep(x)        ->  await asyncio.sleep(x)          (the callee replaced)
    requests.get(url)    ->  await asyncio.to_thread(requests.get, url)
                             (an insertion before the callee, its `(` replaced by `, `)
    get_event_loop()     ->  get_running_loop()              (the name replaced)
    async def f(...)     ->  def f(...)                      (`async ` removed)

Offsets are character offsets into the decoded source (see source.decode_source). `start` is
where the callee begins (after any parenthesis around the whole call), `callee_end` where it
ends and `end` where the call ends (after such a parenthesis).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from async_pitfalls_lint.facts import CallSite, FunctionFacts, ModuleFacts, ref_text
from async_pitfalls_lint.fixes.imports import (
    Unavailable,
    asyncio_name,
    newline_of,
    threadpool_name,
)
from async_pitfalls_lint.fixes.layout import DEFAULT_LINE_LENGTH, indent_unit, split_line
from async_pitfalls_lint.model import Edit, Fix

_DOTTED = re.compile(r"[^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_FOR = re.compile(r"\bfor\b")
_ASYNC_DEF = re.compile(r"async(\s+|\s*\\\r?\n\s*)def\b")


@dataclass(frozen=True)
class Source:
    """What a fix builder reads: the module's text and facts, the function the call is in, and
    the line length of the project's formatter."""

    text: str
    facts: ModuleFacts
    function: FunctionFacts
    line_length: int = DEFAULT_LINE_LENGTH


def skip_blanks(text: str, position: int) -> int:
    """The first position at or after `position` that is not whitespace, a comment or a
    backslash continuation."""
    length = len(text)
    while position < length:
        char = text[position]
        if char in " \t\f\r\n":
            position += 1
        elif char == "\\" and text.startswith(("\\\n", "\\\r"), position):
            position += 2
        elif char == "#":
            while position < length and text[position] not in "\r\n":
                position += 1
        else:
            break
    return position


def _call_text(source: Source, site: CallSite) -> str:
    text = " ".join(source.text[site.start : site.end].split())
    return text if len(text) <= 60 else text[:57] + "..."


def refuse_unawaitable(source: Source, site: CallSite) -> None:
    """Raise Unavailable when `await` cannot be put in front of the call as written."""
    if site.implicit:
        raise Unavailable(
            "an implicit protocol call (`with`/`async for` calls it), not written as a call"
        )
    if site.in_with_item:
        raise Unavailable("the call is used as a context manager (`with ...`)")
    if site.in_genexp:
        raise Unavailable(
            "the call is inside a generator expression, where `await` would turn it into an "
            "async generator"
        )
    if site.awaited:
        raise Unavailable("the call is already awaited")
    if not source.function.is_async:
        raise Unavailable(f"{source.function.name}() is not a coroutine (`async def`)")
    if not 0 <= site.start <= site.callee_end <= site.end <= len(source.text):
        raise Unavailable("the call's position in the file is unknown")


def sleep_fix(source: Source, site: CallSite) -> Fix:
    """`time.sleep(x)` -> `await asyncio.sleep(x)` (safe)."""
    refuse_unawaitable(source, site)
    callee = source.text[site.start : site.callee_end]
    if not _DOTTED.fullmatch(callee):
        raise Unavailable(f"the callee `{' '.join(callee.split())}` is not a plain name")
    asyncio = asyncio_name(source.facts, source.function, source.text)
    edits = [asyncio.edit] if asyncio.edit is not None else []
    if site.chain_base:  # `(await asyncio.sleep(x)).attribute`
        edits.append(Edit(site.start, site.callee_end, f"(await {asyncio.text}.sleep"))
        edits.append(Edit(site.end, site.end, ")"))
    else:
        edits.append(Edit(site.start, site.callee_end, f"await {asyncio.text}.sleep"))
    return Fix(f"Replace with `await {asyncio.text}.sleep(...)`", True, tuple(edits))


def to_thread_fix(source: Source, site: CallSite) -> Fix:
    """`f(*args, **kwargs)` -> `await asyncio.to_thread(f, *args, **kwargs)` (unsafe), or
    `await run_in_threadpool(f, ...)` where the module imports Starlette's helper."""
    refuse_unawaitable(source, site)
    if site.chain_base:
        raise Unavailable(
            f"the call is the base of a chain (`{_call_text(source, site)}...`): offloading only "
            "the first call would leave the rest blocking"
        )
    if site.consumed:
        raise Unavailable(
            "the call's result is iterated right here: offloading the call alone would leave "
            "the iteration on the event loop"
        )
    text = source.text
    paren = skip_blanks(text, site.callee_end)
    if paren >= site.end or text[paren] != "(":
        raise Unavailable("cannot find the call's arguments")
    inside = skip_blanks(text, paren + 1)
    empty = text[inside : inside + 1] == ")"
    between = text[site.callee_end : paren]
    replace_from = site.callee_end if between.strip(" \t") == "" else paren
    imports: list[Edit] = []
    runner = threadpool_name(source.facts, source.function)
    if runner is not None and not any(name == "func" for name, _ in site.kwargs):
        helper = runner
    else:
        asyncio = asyncio_name(source.facts, source.function, text)
        if asyncio.edit is not None:
            imports.append(asyncio.edit)
        helper = f"{asyncio.text}.to_thread"
    opening = f"await {helper}("
    hanging = _hanging_indent(text, paren)
    if hanging is not None:
        # `f(\n    x,\n)`: the arguments already have lines of their own; so does the callee,
        # `await to_thread(\n    f,\n    x,\n)`, as black lays out a call it had to split.
        opening += newline_of(text) + hanging
    edits = [Edit(site.start, site.start, opening)]
    # `f(x)` -> `..., x)`; `f(\n    x,\n)` -> `...,\n    x,\n)`: no space before a line break.
    separator = "," if text[paren + 1 : paren + 2].isspace() else ", "
    close = _bare_generator_argument(text, paren, site.end)
    if close is not None:  # `f(x for x in y)` -> `to_thread(f, (x for x in y))`
        edits.append(Edit(replace_from, paren + 1, separator + "("))
        edits.append(Edit(close, close, ")"))
    else:
        edits.append(Edit(replace_from, paren + 1, "" if empty else separator))
    callee = ref_text(site.callee) if site.callee is not None else "the call"
    edits = _fitted(source, site, edits)
    return Fix(
        f"Run {callee}() in a worker thread: `await {helper}(...)`", False, (*imports, *edits)
    )


def _hanging_indent(text: str, paren: int) -> str | None:
    """The indentation of a call's first argument line when its arguments start on the line
    after the opening parenthesis (only a comment may follow it), deeper than the call's line."""
    end = paren + 1
    while end < len(text) and text[end] in " \t":
        end += 1
    if end < len(text) and text[end] == "#":
        while end < len(text) and text[end] not in "\r\n":
            end += 1
    if end >= len(text) or text[end] not in "\r\n":
        return None
    line_start = _line_start(text, paren)
    call_indent = _leading(text[line_start:paren])
    following = skip_blanks(text, end)
    argument_line = _line_start(text, following)
    indent = text[argument_line:following]
    if indent.strip() or len(indent) <= len(call_indent):
        return None
    return indent


def _line_start(text: str, position: int) -> int:
    return max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1


def _line_end(text: str, position: int) -> int:
    ends = [index for index in (text.find("\n", position), text.find("\r", position)) if index >= 0]
    return min(ends) if ends else len(text)


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _fitted(source: Source, site: CallSite, edits: list[Edit]) -> list[Edit]:
    """The call's edits, or, when they would push a line that fitted the project's line length
    past it, one edit that rewrites the line split as the formatter would split it."""
    text = source.text
    start, end = _line_start(text, site.start), _line_end(text, site.end)
    original = text[start:end]
    if any(newline in original for newline in "\r\n") or len(original) > source.line_length:
        return edits
    pieces = []
    position = start
    for edit in sorted(edits, key=lambda edit: (edit.start, edit.end)):
        if not start <= edit.start <= edit.end <= end:
            return edits
        pieces.append(text[position : edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(text[position:end])
    fixed = "".join(pieces)
    if len(fixed) <= source.line_length:
        return edits
    unit = indent_unit(text, source.function.def_start)
    split = split_line(fixed, unit, source.line_length)
    if split is None:
        return edits
    return [Edit(start, end, split.replace("\n", newline_of(text)))]


def _bare_generator_argument(text: str, paren: int, end: int) -> int | None:
    """Where the closing parenthesis is when a call's only argument is an unparenthesised
    generator expression (`f(x for x in y)`), which must be parenthesised once it is not alone."""
    arguments = text[paren:end]
    if not _FOR.search(arguments):
        return None
    for _ in range(arguments.count(")")):  # `(f(x))`: the call may end before `end`
        call = _parse_call(arguments)
        if call is not None:
            if (
                len(call.args) == 1
                and isinstance(call.args[0].value, cst.GeneratorExp)
                and not call.args[0].value.lpar
            ):
                return paren + arguments.rstrip().rindex(")")
            return None
        arguments = arguments.rstrip()[:-1]
    return None


def _parse_call(arguments: str) -> cst.Call | None:
    try:
        expression = cst.parse_expression("_" + arguments.rstrip())
    except cst.ParserSyntaxError:
        return None
    return expression if isinstance(expression, cst.Call) else None


def running_loop_fix(source: Source, site: CallSite) -> Fix:
    """`asyncio.get_event_loop()` -> `asyncio.get_running_loop()` (safe)."""
    if site.implicit:
        raise Unavailable("an implicit protocol call, not written as a call")
    text = source.text
    callee = text[site.start : site.callee_end]
    edits: list[Edit] = []
    if callee.endswith("get_event_loop") and _DOTTED.fullmatch(callee) and "." in callee:
        start = site.callee_end - len("get_event_loop")
        edits.append(Edit(start, site.callee_end, "get_running_loop"))
        title = "Use `get_running_loop()`"
    elif _IDENTIFIER.fullmatch(callee):  # `from asyncio import get_event_loop`
        asyncio = asyncio_name(source.facts, source.function, text)
        if asyncio.edit is not None:
            edits.append(asyncio.edit)
        edits.append(Edit(site.start, site.callee_end, f"{asyncio.text}.get_running_loop"))
        title = f"Use `{asyncio.text}.get_running_loop()`"
    else:
        raise Unavailable(f"the callee `{' '.join(callee.split())}` is not a plain name")
    return Fix(title, True, tuple(edits))


def plain_def_fix(source: Source) -> Fix:
    """`async def f` -> `def f` (safe; the caller has checked that nothing needs the coroutine)."""
    function = source.function
    match = _ASYNC_DEF.match(source.text, function.def_start)
    if match is None:
        raise Unavailable("cannot find the `async def` keywords")
    edit = Edit(function.def_start, match.start(1) + len(match.group(1)), "")
    return Fix(f"Make {function.name}() a plain def", True, (edit,))
