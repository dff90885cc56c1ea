"""The end-of-session summary: stalls grouped by route (or test) and frame, longest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from async_pitfalls_lint.runtime.stall_report import RuntimeReport, Stall

MAX_GROUPS = 25
OUTSIDE_TESTS = "(outside a test)"


@dataclass
class StallGroup:
    where: str  # the route, else the test
    frame: str  # "path:line in function → library call"
    stalls: list[Stall] = field(default_factory=list)

    @property
    def longest(self) -> Stall:
        return max(self.stalls, key=lambda stall: stall.duration_ms)


def frame_label(stall: Stall) -> str:
    if stall.frame is None:
        return "(no stack sampled)" if not stall.samples else "(no project frame)"
    label = f"{stall.frame.path}:{stall.frame.line} in {stall.frame.function}"
    return f"{label} → {stall.library_call}" if stall.library_call else label


def group_stalls(stalls: Sequence[Stall]) -> list[StallGroup]:
    groups: dict[tuple[str, str], StallGroup] = {}
    for stall in stalls:
        where = stall.route or stall.test or OUTSIDE_TESTS
        label = frame_label(stall)
        groups.setdefault((where, label), StallGroup(where, label)).stalls.append(stall)
    return sorted(groups.values(), key=lambda group: -group.longest.duration_ms)


def _finding_label(stall: Stall) -> str:
    finding = stall.finding
    if finding is None:
        return "no finding explains it"
    return f"confirms {finding.code} at {finding.path}:{finding.line}:{finding.column}"


def _tests_label(group: StallGroup) -> str:
    tests = sorted({stall.test or OUTSIDE_TESTS for stall in group.stalls})
    count = len(group.stalls)
    shown = ", ".join(tests[:2]) + (f" and {len(tests) - 2} more" if len(tests) > 2 else "")
    return f"{count} stall{'s' if count != 1 else ''}: {shown}"


def summary_lines(report: RuntimeReport) -> tuple[str, list[str]]:
    """The section title and its lines."""
    stalls = report.stalls
    threshold = f"{report.threshold_ms:g} ms"
    if not stalls:
        title = f"async-pitfalls-lint: no event-loop stall over {threshold}"
        return title, [_monitored(report), *_findings_note(report)]
    count = len(stalls)
    title = (
        f"async-pitfalls-lint: {count} event-loop stall{'s' if count != 1 else ''} over {threshold}"
    )
    groups = group_stalls(stalls)
    lines = []
    for group in groups[:MAX_GROUPS]:
        longest = group.longest
        lines.append(f"{longest.duration_ms:8.0f} ms  {group.where}  {group.frame}")
        lines.append(f"{'':13}{_finding_label(longest)}; {_tests_label(group)}")
    if len(groups) > MAX_GROUPS:
        lines.append(f"... and {len(groups) - MAX_GROUPS} more places (see --apl-report)")
    confirmed = {
        (stall.finding.path, stall.finding.line, stall.finding.code)
        for stall in stalls
        if stall.finding is not None
    }
    unexplained = sum(1 for stall in stalls if stall.finding is None)
    lines.append("")
    lines.append(
        f"{len(confirmed)} finding{'s' if len(confirmed) != 1 else ''} confirmed; "
        f"{unexplained} stall{'s' if unexplained != 1 else ''} no finding explains "
        "(candidates for the knowledge base, or gaps in the analysis)"
    )
    lines.append(_monitored(report))
    lines.extend(_findings_note(report))
    return title, lines


def _monitored(report: RuntimeReport) -> str:
    return f"{report.tests} tests, {report.loops} event loops monitored"


def _findings_note(report: RuntimeReport) -> list[str]:
    if report.findings_error:
        return [f"stalls not matched to findings: {report.findings_error}"]
    return []
