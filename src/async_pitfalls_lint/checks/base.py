"""What a check sees: one event-loop function, its blocking calls, and the analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from async_pitfalls_lint.facts import CallSite, FunctionFacts, Ref
from async_pitfalls_lint.model import Finding, Span
from async_pitfalls_lint.names import Value
from async_pitfalls_lint.scopes import Reason
from async_pitfalls_lint.summaries import Classified

if TYPE_CHECKING:
    from async_pitfalls_lint.analysis import Analysis, CallFinding


@dataclass(frozen=True)
class CheckContext:
    analysis: Analysis
    path: str
    display: str
    function: FunctionFacts
    reason: Reason
    scope: str
    blocking: list[CallFinding]

    def value(self, ref: Ref | None) -> Value | None:
        return self.analysis.resolver.eval(self.path, ref)

    def callee_name(self, site: CallSite) -> str | None:
        """The canonical qualified name of an external callee, or of a method on a known type."""
        value = self.value(site.callee)
        if value is None:
            return None
        if value[0] == "x":
            return str(value[1])
        if value[0] == "xi" and value[2]:
            for type_name in self.analysis.kb.mro(value[1]):
                return f"{type_name}.{'.'.join(value[2])}"
        return None

    def finding(self, code: str, site: CallSite, **values: str) -> Finding:
        rule = self.analysis.catalog[code]
        message = rule.render(scope=self.scope, **values)
        span = Span(site.line, site.column, site.end_line, site.end_column)
        return Finding(self.display, code, message, span, rule.category)

    def classify_callable(self, ref: Ref | None) -> Classified | None:
        """What running a callable passed as an argument would do (functools.partial unwrapped)."""
        if ref is None:
            return None
        if ref[0] == "c":
            callee = self.value(ref[1])
            if (
                callee is not None
                and callee[0] == "x"
                and callee[1] == "functools.partial"
                and ref[2]
            ):
                return self.classify_callable(ref[2][0])
            return None
        probe = CallSite(ref, (), (), False)
        return self.analysis.classifier.classify(self.path, probe)
