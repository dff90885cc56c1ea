"""`check --runtime-report PATH`: the static findings seen against a monitored test run.

Each blocking finding (APL1xx, APL2xx) is *confirmed* when a stall of the report matches it
(with the longest such stall and its test) and *not exercised* otherwise: no test stalled the
loop there for longer than the report's threshold, because no test reached the line or because
the call was quick with the tests' data. Stalls that match no finding and pass through a file
this run checked are listed as *unexplained*, grouped by frame: each is a blocking call the
analysis does not know or cannot reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.runtime.matching import (
    FindingIndex,
    StaticFinding,
    is_blocking_code,
    path_key,
    stall_locations,
)
from async_pitfalls_lint.runtime.stall_report import RuntimeReport, Stall
from async_pitfalls_lint.runtime.static_findings import from_findings

CONFIRMED = "confirmed"
NOT_EXERCISED = "not_exercised"


@dataclass(frozen=True)
class Confirmation:
    status: str
    longest_ms: float | None = None
    test: str | None = None
    route: str | None = None
    stalls: int = 0


@dataclass(frozen=True)
class UnexplainedStall:
    """Stalls at one frame that no finding explains."""

    path: str | None
    line: int | None
    function: str | None
    library_call: str | None
    longest_ms: float
    test: str | None
    route: str | None
    stalls: int


@dataclass
class RuntimeConfirmation:
    report_path: str
    threshold_ms: float
    statuses: dict[Finding, Confirmation] = field(default_factory=dict)
    unexplained: list[UnexplainedStall] = field(default_factory=list)
    elsewhere: int = 0  # stalls in files this run did not check

    def status(self, finding: Finding) -> Confirmation | None:
        return self.statuses.get(finding)

    def count(self, status: str) -> int:
        return sum(1 for confirmation in self.statuses.values() if confirmation.status == status)


def confirm_findings(
    findings: Sequence[Finding],
    checked_files: Iterable[str],
    runtime: RuntimeReport,
    report_path: str,
) -> RuntimeConfirmation:
    pairs = [
        (static, finding)
        for static, finding in zip(from_findings(findings), findings, strict=True)
        if is_blocking_code(finding.code)
    ]
    by_static = dict(pairs)
    index = FindingIndex(static for static, _ in pairs)
    matched: dict[Finding, list[Stall]] = {finding: [] for _, finding in pairs}
    checked = {path_key(file) for file in checked_files}
    unexplained: list[Stall] = []
    elsewhere = 0
    for stall in runtime.stalls:
        locations = stall_locations(stall, runtime)
        found: StaticFinding | None = index.match(locations)
        if found is not None:
            matched[by_static[found]].append(stall)
        elif any(key in checked for key, _ in locations):
            unexplained.append(stall)
        else:
            elsewhere += 1
    return RuntimeConfirmation(
        report_path=report_path,
        threshold_ms=runtime.threshold_ms,
        statuses={finding: _confirmation(stalls) for finding, stalls in matched.items()},
        unexplained=_grouped(unexplained, runtime),
        elsewhere=elsewhere,
    )


def _confirmation(stalls: list[Stall]) -> Confirmation:
    if not stalls:
        return Confirmation(NOT_EXERCISED)
    longest = max(stalls, key=lambda stall: stall.duration_ms)
    return Confirmation(
        CONFIRMED, round(longest.duration_ms, 1), longest.test, longest.route, len(stalls)
    )


def _grouped(stalls: list[Stall], runtime: RuntimeReport) -> list[UnexplainedStall]:
    groups: dict[tuple[object, ...], list[Stall]] = {}
    for stall in stalls:
        frame = stall.frame
        key = (frame.path, frame.line, frame.function) if frame else (None, None, None)
        groups.setdefault((*key, stall.library_call), []).append(stall)
    entries = []
    for members in groups.values():
        longest = max(members, key=lambda stall: stall.duration_ms)
        frame = longest.frame
        entries.append(
            UnexplainedStall(
                path=_display(runtime.absolute(frame.path)) if frame else None,
                line=frame.line if frame else None,
                function=frame.function if frame else None,
                library_call=longest.library_call,
                longest_ms=round(longest.duration_ms, 1),
                test=longest.test,
                route=longest.route,
                stalls=len(members),
            )
        )
    return sorted(entries, key=lambda entry: -entry.longest_ms)


def _display(path: str) -> str:
    """Like findings: relative to the working folder when inside it, '/' separated."""
    relative = os.path.relpath(path)
    if relative.startswith(os.pardir):
        return path
    return relative.replace(os.sep, "/")


# -- rendering, shared by the output formats -----------------------------------------------------
def text_marker(runtime: RuntimeConfirmation, finding: Finding) -> str:
    confirmation = runtime.status(finding)
    if confirmation is None:
        return ""
    if confirmation.status == NOT_EXERCISED:
        return f" [not exercised at runtime: no stall over {runtime.threshold_ms:g} ms]"
    where = f" in {confirmation.test}" if confirmation.test else ""
    return f" [confirmed at runtime: {confirmation.longest_ms:.0f} ms{where}]"


def _stall_place(entry: UnexplainedStall) -> str:
    if entry.path is None:
        return "(no project frame sampled)"
    call = f" → {entry.library_call}" if entry.library_call else ""
    return f"{entry.path}:{entry.line}: in {entry.function}{call}"


def unexplained_text(runtime: RuntimeConfirmation) -> str:
    if not runtime.unexplained:
        return ""
    lines = [f"\nevent-loop stalls no finding explains ({runtime.report_path}):\n"]
    for entry in runtime.unexplained:
        where = f" in {entry.test}" if entry.test else ""
        route = f", {entry.route}" if entry.route else ""
        count = f", {entry.stalls} stalls" if entry.stalls > 1 else ""
        lines.append(f"  {_stall_place(entry)}: {entry.longest_ms:.0f} ms{where}{route}{count}\n")
    return "".join(lines)


def confirmation_to_dict(confirmation: Confirmation) -> dict[str, Any]:
    if confirmation.status == NOT_EXERCISED:
        return {"status": NOT_EXERCISED}
    return {
        "status": CONFIRMED,
        "longest_ms": confirmation.longest_ms,
        "test": confirmation.test,
        "route": confirmation.route,
        "stalls": confirmation.stalls,
    }


def runtime_to_dict(runtime: RuntimeConfirmation) -> dict[str, Any]:
    return {
        "report": runtime.report_path,
        "threshold_ms": runtime.threshold_ms,
        "confirmed": runtime.count(CONFIRMED),
        "not_exercised": runtime.count(NOT_EXERCISED),
        "unexplained_stalls": [
            {
                "path": entry.path,
                "line": entry.line,
                "function": entry.function,
                "library_call": entry.library_call,
                "longest_ms": entry.longest_ms,
                "test": entry.test,
                "route": entry.route,
                "stalls": entry.stalls,
            }
            for entry in runtime.unexplained
        ],
        "stalls_elsewhere": runtime.elsewhere,
    }


def summary_text(runtime: RuntimeConfirmation) -> str:
    unexplained = sum(entry.stalls for entry in runtime.unexplained)
    return (
        f"runtime report {runtime.report_path}: {runtime.count(CONFIRMED)} confirmed, "
        f"{runtime.count(NOT_EXERCISED)} not exercised, "
        f"{unexplained} stall{'s' if unexplained != 1 else ''} no finding explains"
    )
