"""Fixes decided at check time: every finding gets its `Fix`, or the reason it has none.

The analysis calls `attach_fixes` once per event-loop function, with the blocking calls it found
there. A finding's fix comes from its rule (`fix = "none"` in the catalog means never) and, for
APL1xx, the recipe of its knowledge-base group:

    asyncio-sleep   `time.sleep(x)` -> `await asyncio.sleep(x)`                    (safe)
    to-thread       `f(...)` -> `await asyncio.to_thread(f, ...)`, APL1xx and APL2xx (unsafe)
    none            no mechanical fix (open(), CPU-bound work, ...)

plus APL303 (`async def` -> `def`) and APL304 (`get_event_loop()` -> `get_running_loop()`),
both safe. When the APL303 fix applies to a function, it supersedes every other fix inside it:
as a plain def the function runs in the threadpool, where `await` is not possible and none of
its calls block the loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from async_pitfalls_lint.facts import CallSite, FunctionFacts, ModuleFacts, ref_text
from async_pitfalls_lint.fixes.cleanup import removal_edits
from async_pitfalls_lint.fixes.edits import (
    Source,
    plain_def_fix,
    running_loop_fix,
    sleep_fix,
    to_thread_fix,
)
from async_pitfalls_lint.fixes.imports import Unavailable
from async_pitfalls_lint.fixes.layout import line_length_for
from async_pitfalls_lint.knowledge import BlockingEntry
from async_pitfalls_lint.model import Finding, Fix
from async_pitfalls_lint.routes import _imports_framework
from async_pitfalls_lint.scopes import Reason
from async_pitfalls_lint.source import SourceProblem, decode_source

if TYPE_CHECKING:
    from async_pitfalls_lint.analysis import Analysis, CallFinding

Builder = Callable[[Source, CallSite], Fix]

# Recipe ids of the knowledge base (`fix = ...` in data/blocking.toml) to their builders.
RECIPES: dict[str, Builder] = {
    "asyncio-sleep": sleep_fix,
    "to-thread": to_thread_fix,
}
NEVER_AWAITS = "APL303"
GET_EVENT_LOOP = "APL304"
# Callees from these libraries need the running event loop (or are not thread-safe).
_LOOP_LIBRARIES = frozenset({"asyncio", "anyio", "trio", "sniffio"})
_NO_RECIPE = {
    "open": (
        "open() returns a file object that the code goes on to use; use aiofiles or "
        "anyio.open_file instead"
    ),
    "console-input": "a web request cannot answer a prompt; read the input outside the server",
    "nested-loop": "await the coroutine directly instead of running a nested event loop",
}
_CPU_REASON = (
    "CPU-bound work: a thread does not free the event loop (that is the APL301 pitfall); use a "
    "process pool or a task queue"
)


def attach_fixes(
    analysis: Analysis,
    path: str,
    display: str,
    function: FunctionFacts,
    reason: Reason,
    blocking: Sequence[CallFinding],
    findings: list[Finding],
) -> list[Finding]:
    """The function's findings, each with its fix or the reason it has none."""
    if not findings:
        return findings
    facts = analysis.project.facts_for(path)
    data = analysis.project.read_bytes(path)
    text = _decoded(data, analysis.settings.max_file_size) if data is not None else None
    if facts is None or text is None:
        return findings
    source = Source(text, facts, function, line_length_for(path))
    attached = []
    for finding in findings:
        if not analysis.selection.enabled(finding.code, display):
            attached.append(finding)  # never reported: not worth a fix
            continue
        try:
            fix = _build(analysis, path, source, reason, blocking, finding)
        except Unavailable as problem:
            attached.append(dataclasses.replace(finding, fix=None, fix_unavailable=str(problem)))
        except Exception as error:  # a fixer bug must never cost the finding itself
            why = f"building the fix failed ({type(error).__name__}: {error})"
            attached.append(dataclasses.replace(finding, fix=None, fix_unavailable=why))
        else:
            fix = _with_unused_imports_removed(source.text, fix)
            attached.append(dataclasses.replace(finding, fix=fix, fix_unavailable=""))
    return _supersede(attached, function)


def _with_unused_imports_removed(text: str, fix: Fix) -> Fix:
    """The fix, plus the removal of an import whose last use it replaces."""
    try:
        removal = removal_edits(text, fix.edits)
    except Exception:  # tidying is a nicety: never cost the fix
        return fix
    return dataclasses.replace(fix, edits=(*fix.edits, *removal)) if removal else fix


@lru_cache(maxsize=8)
def _decoded(data: bytes, max_bytes: int) -> str | None:
    try:
        return decode_source(data, max_bytes).text
    except SourceProblem:
        return None


def _build(
    analysis: Analysis,
    path: str,
    source: Source,
    reason: Reason,
    blocking: Sequence[CallFinding],
    finding: Finding,
) -> Fix:
    rule = analysis.catalog[finding.code]
    if rule.fix == "none":
        raise Unavailable(_rule_reason(rule.fix_note))
    if finding.code == NEVER_AWAITS:
        return _never_awaits_fix(analysis, path, source, reason)
    if finding.code == GET_EVENT_LOOP:
        for site in source.function.calls:
            if _same_span(site, finding):
                return running_loop_fix(source, site)
        raise Unavailable("cannot find the call in the function")
    call = _blocking_call(blocking, finding)
    if call is None:
        raise Unavailable("no automatic fix for this finding")
    if call.site.property_read:
        raise Unavailable("a property read: its getter cannot be offloaded as written")
    if call.classified.kind == "helper":
        return to_thread_fix(source, call.site)
    entry = call.classified.entry
    assert entry is not None
    builder = RECIPES.get(entry.fix)
    if builder is None:
        raise Unavailable(_no_recipe_reason(entry))
    return builder(source, call.site)


def _rule_reason(fix_note: str) -> str:
    note = fix_note.removeprefix("No automatic fix").lstrip(".: ").strip().rstrip(".")
    if not note:
        return "this rule has no automatic fix"
    if note[1:2].islower():  # "CPU-bound work ..." keeps its capitals
        note = note[0].lower() + note[1:]
    return note


def _no_recipe_reason(entry: BlockingEntry) -> str:
    if entry.group in _NO_RECIPE:
        return _NO_RECIPE[entry.group]
    if entry.category == "cpu":
        return _CPU_REASON
    return f"no mechanical fix for this call; {entry.alternative or 'rewrite it by hand'}"


def _same_span(site: CallSite, finding: Finding) -> bool:
    span = finding.span
    return (site.line, site.column, site.end_line, site.end_column) == (
        span.line,
        span.column,
        span.end_line,
        span.end_column,
    )


def _blocking_call(blocking: Sequence[CallFinding], finding: Finding) -> CallFinding | None:
    kind = "helper" if finding.code.startswith("APL2") else "blocking"
    for call in blocking:
        if (
            call.classified.kind == kind
            and call.classified.category == finding.category
            and _same_span(call.site, finding)
        ):
            return call
    return None


def _supersede(findings: list[Finding], function: FunctionFacts) -> list[Finding]:
    if not any(f.code == NEVER_AWAITS and f.fix is not None for f in findings):
        return findings
    why = (
        f"superseded by the APL303 fix, which makes {function.name}() a plain def that FastAPI "
        "runs in its threadpool"
    )
    return [
        dataclasses.replace(finding, fix=None, fix_unavailable=why)
        if finding.fix is not None and finding.code != NEVER_AWAITS
        else finding
        for finding in findings
    ]


# -- APL303: async def -> def ---------------------------------------------------------------------
def _never_awaits_fix(analysis: Analysis, path: str, source: Source, reason: Reason) -> Fix:
    function = source.function
    if not function.is_async or function.awaits:
        raise Unavailable(f"{function.name}() awaits")
    if not reason.is_handler or not reason.handler.can_be_plain_def:
        raise Unavailable(f"{function.name}() is not a route or dependency")
    _check_decorators(analysis, path, source.facts, function)
    _check_loop_use(analysis, path, function)
    used = _project_use(analysis, path, function)
    if used:
        raise Unavailable(f"project code uses {function.name}() ({used}) and may await it")
    return plain_def_fix(source)


def _check_decorators(
    analysis: Analysis, path: str, facts: ModuleFacts, function: FunctionFacts
) -> None:
    framework = _imports_framework(facts)
    for decorator in function.decorators:
        if analysis.routes.decorator_registration(path, decorator, framework) is None:
            raise Unavailable(
                f"{function.name}() is decorated with @{ref_text(decorator)}, which may await it"
            )


def _check_loop_use(analysis: Analysis, path: str, function: FunctionFacts) -> None:
    """A plain def runs in a worker thread: nothing in it may need the event loop."""
    reached = analysis.index.coroutines_reached_from(path, function.qualname)
    if len(reached) > 1:
        target = analysis.classifier.function(*reached[1])
        name = target.name if target is not None else reached[1][1]
        raise Unavailable(f"{function.name}() uses the coroutine {name}(), which needs the loop")
    for site in function.calls:
        if site.implicit:
            continue
        value = analysis.resolver.eval(path, site.callee)
        if value is None or value[0] not in ("x", "xi"):
            continue
        if str(value[1]).split(".", 1)[0] in _LOOP_LIBRARIES:
            raise Unavailable(
                f"{function.name}() calls {ref_text(site.callee)}(), which needs the event loop"
            )


def _project_use(analysis: Analysis, path: str, function: FunctionFacts) -> str:
    """Where project code calls the function or hands it to a call other than a framework
    registration (`Depends`, `add_api_route`, ...), or ""."""
    project = analysis.project
    resolver = analysis.resolver
    target = ("pf", path, function.qualname)
    needle = function.name.encode()
    for other in project.python_files():
        data = project.read_bytes(other)
        if data is None or needle not in data:
            continue
        facts = project.facts_for(other)
        if facts is None:
            continue
        registrations = {id(site) for _, site in facts.registrations}
        sites = [*facts.calls, *(s for f in facts.functions.values() for s in f.calls)]
        for site in sites:
            if site.implicit:
                continue
            where = f"{project.display(other)}:{site.line}"
            if resolver.eval(other, site.callee) == target:
                return f"called at {where}"
            if id(site) in registrations:
                continue
            for argument in (*site.args, *(value for _, value in site.kwargs)):
                if (
                    argument is not None
                    and argument[0] in ("n", "a")
                    and resolver.eval(other, argument) == target
                ):
                    return f"passed to {ref_text(site.callee)}() at {where}"
    return ""
