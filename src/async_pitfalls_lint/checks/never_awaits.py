"""APL303: an async route or dependency that never awaits but makes blocking calls."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import ref_text
from async_pitfalls_lint.model import Finding, Span


def async_route_never_awaits(context: CheckContext) -> list[Finding]:
    function = context.function
    reason = context.reason
    if function.awaits or not reason.is_handler or not reason.handler.can_be_plain_def:
        return []
    # The function's blocking calls, each once (a code that is off by default, APL108/APL208,
    # counts only when enabled): the message lists exactly the calls it counts.
    listed: dict[tuple[int, int], str] = {}
    for call in context.blocking:
        if not _reported(context, call.classified.kind, call.classified.category):
            continue
        site = call.site
        where = f"{ref_text(site.callee)}() at line {site.line}"
        listed.setdefault((site.line, site.column), where)
    if not listed:
        return []
    rule = context.analysis.catalog["APL303"]
    calls = describe_calls(list(listed.values()))
    message = rule.render(callee=f"{function.name}()", calls=calls, scope=context.scope)
    span = Span(function.line, function.column, function.line, function.column + len("async def"))
    return [Finding(context.display, rule.code, message, span, rule.category)]


_LISTED = 5


def describe_calls(calls: list[str]) -> str:
    """`1 blocking call (a() at line 3)`, `3 blocking calls (a() at line 3, ...)`; past five
    calls the rest are counted (`... and 2 more`), so the number always matches the list."""
    shown = ", ".join(calls[:_LISTED])
    if len(calls) > _LISTED:
        shown += f" and {len(calls) - _LISTED} more"
    noun = "blocking call" if len(calls) == 1 else "blocking calls"
    return f"{len(calls)} {noun} ({shown})"


def _reported(context: CheckContext, kind: str, category: str) -> bool:
    catalog = context.analysis.catalog
    family = "blocking-helper" if kind == "helper" else "blocking-call"
    rule = catalog[catalog.code_for(family, category)]
    return rule.default or context.analysis.selection.enabled(rule.code, context.display)
