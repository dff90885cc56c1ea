"""APL303: an async route or dependency that never awaits but makes blocking calls."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import ref_text
from async_pitfalls_lint.model import Finding, Span


def async_route_never_awaits(context: CheckContext) -> list[Finding]:
    function = context.function
    reason = context.reason
    if function.awaits or not context.blocking or not reason.is_handler:
        return []
    if reason.handler.kind not in ("route", "dependency"):
        return []
    first = context.blocking[0]
    rule = context.analysis.catalog["APL303"]
    message = rule.render(
        callee=f"{function.name}()",
        count=str(len(context.blocking)),
        first=f"{ref_text(first.site.callee)}() at line {first.site.line}",
        scope=context.scope,
    )
    span = Span(function.line, function.column, function.line, function.column + len("async def"))
    return [Finding(context.display, rule.code, message, span, rule.category)]
