"""`# noqa` comments for the standalone CLI (flake8 applies its own)."""

from __future__ import annotations

import re

from async_pitfalls_lint.model import Finding

_NOQA = re.compile(
    r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]*(?:[,\s]+[A-Z]+[0-9]*)*))?", re.IGNORECASE
)
_SEPARATOR = re.compile(r"[,\s]+")


def suppressed(finding: Finding, lines: list[str]) -> bool:
    """Whether a `# noqa` (bare, or naming this code or a prefix of it) silences the finding."""
    index = finding.line - 1
    if not 0 <= index < len(lines):
        return False
    for match in _NOQA.finditer(lines[index]):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(
            finding.code.startswith(code.upper())
            for code in _SEPARATOR.split(codes.strip())
            if code
        ):
            return True
    return False


def remove_suppressed(findings: list[Finding], text: str | None) -> list[Finding]:
    if text is None or "noqa" not in text.lower():
        return findings
    lines = text.splitlines()
    return [finding for finding in findings if not suppressed(finding, lines)]
