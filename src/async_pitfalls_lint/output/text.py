"""`path:line:col: CODE message`, one finding a line (the flake8 layout, columns 1-based); the
root causes (blocking calls that many call sites reach, each named once) are a separate text,
which `check` writes to standard error with its summary, so standard output stays one finding a
line for tools that read it."""

from __future__ import annotations

from collections import Counter

from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.report import ROOT_CAUSE_MIN_SITES, Report, RootCause
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


def root_causes_text(causes: list[RootCause]) -> str:
    """A trailer naming each blocking call that many call sites reach, once: fixing it there
    clears all of its findings."""
    shared = [cause for cause in causes if cause.call_sites >= ROOT_CAUSE_MIN_SITES]
    if not shared:
        return ""
    lines = ["Root causes (one blocking call behind many findings; fix it once):"]
    for cause in shared:
        lines.append(
            f"  {cause.path}:{cause.line}:{cause.column}: {cause.label} reached from "
            f"{cause.call_sites} call sites ({_codes(cause.codes())})"
        )
    return "\n".join(lines) + "\n"


def _codes(counts: Counter[str]) -> str:
    return ", ".join(f"{code} \u00d7{count}" for code, count in sorted(counts.items()))
