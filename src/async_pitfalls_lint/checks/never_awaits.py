"""APL303: an async route or dependency that never awaits but makes blocking calls."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import ref_text
from async_pitfalls_lint.model import Finding, Span


def async_route_never_awaits(context: CheckContext) -> list[Finding]:
    function = context.function
    reason = context.reason
    if (
        function.awaits
        or not reason.is_handler
        or reason.handler.kind not in ("route", "dependency")
    ):
        return []
    # Opt-in categories (APL108 metadata queries) count only when enabled.
    blocking = [call for call in context.blocking if _reported(context, call.classified.category)]
    if not blocking:
        return []
    first = blocking[0]
    rule = context.analysis.catalog["APL303"]
    message = rule.render(
        callee=f"{function.name}()",
        count=str(len(blocking)),
        first=f"{ref_text(first.site.callee)}() at line {first.site.line}",
        scope=context.scope,
    )
    span = Span(function.line, function.column, function.line, function.column + len("async def"))
    return [Finding(context.display, rule.code, message, span, rule.category)]


def _reported(context: CheckContext, category: str) -> bool:
    catalog = context.analysis.catalog
    rule = catalog[catalog.code_for("blocking-call", category)]
    return rule.default or context.analysis.selection.enabled(rule.code, context.display)
