"""Which static finding a stall confirms.

A stall matches a finding when one of the project lines its samples passed through is the
finding's line (any line of the finding's span): for APL1xx that is the blocking call itself,
for APL2xx the call in event-loop code where the finding's chain starts. The deepest matching
line wins (the one closest to what blocked); among findings on that line, the one whose column
is nearest the call in progress. Only blocking findings (APL1xx, APL2xx) are matched: the
offloading rules (APL3xx) do not predict a stall.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.runtime.stall_report import Location, RuntimeReport, Stall

BLOCKING_FAMILIES = ("blocking-call", "blocking-helper")


@dataclass(frozen=True)
class StaticFinding:
    code: str
    path: str  # as reported by the analysis (shown to the user)
    line: int
    end_line: int
    column: int  # 1-based
    message: str
    key: str  # the normalised absolute path, for matching


def path_key(path: str, base: str | None = None) -> str:
    absolute = path if os.path.isabs(path) or base is None else os.path.join(base, path)
    return os.path.normcase(os.path.realpath(absolute))


def is_blocking_code(code: str) -> bool:
    rule = load_catalog().get(code)
    return rule is not None and rule.family in BLOCKING_FAMILIES


class FindingIndex:
    def __init__(self, findings: Iterable[StaticFinding]) -> None:
        self._by_file: dict[str, list[StaticFinding]] = defaultdict(list)
        for finding in findings:
            if is_blocking_code(finding.code):
                self._by_file[finding.key].append(finding)

    def __bool__(self) -> bool:
        return bool(self._by_file)

    def at(self, key: str, line: int, column: int | None) -> StaticFinding | None:
        candidates = [
            finding
            for finding in self._by_file.get(key, ())
            if finding.line <= line <= finding.end_line
        ]
        if not candidates:
            return None
        if column is None:
            return min(candidates, key=lambda finding: (finding.line, finding.column))
        return min(candidates, key=lambda finding: (abs(finding.column - column), finding.line))

    def match(self, locations: Iterable[tuple[str, Location]]) -> StaticFinding | None:
        """The finding at the first of `locations` (deepest first) that has one."""
        for key, location in locations:
            found = self.at(key, location.line, location.column)
            if found is not None:
                return found
        return None


def stall_locations(stall: Stall, report: RuntimeReport) -> list[tuple[str, Location]]:
    return [
        (path_key(report.absolute(location.path)), location) for location in stall.project_lines
    ]


@dataclass(frozen=True)
class StallMatch:
    stall: Stall
    finding: StaticFinding | None


def match_stalls(report: RuntimeReport, findings: Sequence[StaticFinding]) -> list[StallMatch]:
    index = FindingIndex(findings)
    return [
        StallMatch(stall, index.match(stall_locations(stall, report))) for stall in report.stalls
    ]
