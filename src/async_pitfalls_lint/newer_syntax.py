"""Syntax that libcst's grammar has and the running interpreter's lacks (t-strings, PEP 701
f-strings, PEP 758 `except A, B:`...): it excuses the interpreter's objection to a file."""

from __future__ import annotations

import sys

import libcst as cst


class _NewerSyntax(cst.CSTVisitor):
    """Finds syntax the running interpreter's grammar lacks (that libcst's grammar has)."""

    def __init__(self) -> None:
        self.found = False
        self._quotes: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not self.found:
            self.found = _newer(node, self._quotes[-1] if self._quotes else '"')
        if isinstance(node, cst.FormattedString):
            self._quotes.append(node.quote)
        return not self.found

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, cst.FormattedString):
            self._quotes.pop()


def _newer(node: cst.CSTNode, quote: str) -> bool:
    version = sys.version_info
    if isinstance(node, cst.TryStar):
        return version < (3, 11)
    if isinstance(node, (cst.TypeAlias, cst.TypeParameters)):
        return version < (3, 12)
    if isinstance(node, cst.TypeParam):
        return version < (3, 13) and getattr(node, "default", None) is not None
    if type(node).__name__ == "TemplatedString":  # t-strings (libcst >= 1.8)
        return version < (3, 14)
    if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
        # PEP 758: `except A, B:` without parentheses.
        return version < (3, 14) and isinstance(node.type, cst.Tuple) and not node.type.lpar
    if isinstance(node, cst.FormattedStringExpression):
        return version < (3, 12) and _pep701(node, quote)
    return False


def _pep701(part: cst.FormattedStringExpression, quote: str) -> bool:
    """Whether an f-string replacement field needs Python 3.12 (PEP 701): the enclosing quote, a
    backslash or a comment inside it, or a line break in a single-quoted f-string."""
    code = cst.Module([]).code_for_node(part.expression)  # format specs are visited apart
    return quote[0] in code or "\\" in code or "#" in code or (len(quote) == 1 and "\n" in code)


def uses_newer_syntax(module: cst.Module) -> bool:
    visitor = _NewerSyntax()
    module.visit(visitor)
    return visitor.found
