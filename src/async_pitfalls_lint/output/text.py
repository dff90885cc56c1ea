"""`path:line:col: CODE message`, one finding a line (the flake8 layout, columns 1-based)."""

from __future__ import annotations

from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.report import Report
from async_pitfalls_lint.runtime.confirmation import text_marker, unexplained_text


def fix_marker(finding: Finding) -> str:
    if finding.fix is None:
        return ""
    return " [fix available]" if finding.fix.safe else " [unsafe fix available: --unsafe-fixes]"


def format_finding(finding: Finding) -> str:
    return (
        f"{finding.path}:{finding.line}:{finding.column + 1}: "
        f"{finding.code} {finding.message}{fix_marker(finding)}"
    )


def render(report: Report) -> str:
    runtime = report.runtime  # `check --runtime-report`: each finding's confirmation
    lines = [
        format_finding(finding) + (text_marker(runtime, finding) if runtime else "") + "\n"
        for finding in report.findings
    ]
    return "".join(lines) + (unexplained_text(runtime) if runtime else "")
