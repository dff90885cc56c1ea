"""A whole run's results, as every output format sees them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from async_pitfalls_lint.model import FileProblem, FileResult, Finding, ProjectInfo

if TYPE_CHECKING:
    from async_pitfalls_lint.runtime.confirmation import RuntimeConfirmation

INTERNAL_ERROR_PREFIX = "internal error"
# The text report sums up a blocking call reached from at least this many call sites.
ROOT_CAUSE_MIN_SITES = 3

RootKey = tuple[str, int, int, str]  # path, line, column of the blocking call, its callee


@dataclass(frozen=True)
class RootCause:
    """One blocking call behind a project helper, and every finding whose chain ends at it:
    the same `time.sleep` in a constructor that fifteen routes call is one root cause with
    fifteen call sites."""

    path: str
    line: int
    column: int  # 1-based, like chain steps
    label: str  # the call as written (`time.sleep`)
    callee: str  # its qualified name
    findings: tuple[Finding, ...]

    @property
    def key(self) -> RootKey:
        return (self.path, self.line, self.column, self.callee)

    @property
    def call_sites(self) -> int:
        return len(self.findings)

    def codes(self) -> Counter[str]:
        return Counter(finding.code for finding in self.findings)


def root_key(finding: Finding) -> RootKey | None:
    """Where a helper finding's chain ends: the blocking call itself (None without a chain)."""
    if not finding.chain:
        return None
    last = finding.chain[-1]
    return (last.path, last.line, last.column, finding.callee)


def root_causes(findings: Iterable[Finding]) -> list[RootCause]:
    """Findings grouped by the blocking call their chain ends at; most call sites first."""
    groups: dict[RootKey, list[Finding]] = {}
    for finding in findings:
        key = root_key(finding)
        if key is not None:
            groups.setdefault(key, []).append(finding)
    causes = [
        RootCause(key[0], key[1], key[2], group[0].chain[-1].label, key[3], tuple(group))
        for key, group in groups.items()
    ]
    causes.sort(key=lambda cause: (-cause.call_sites, cause.path, cause.line, cause.column))
    return causes


@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)
    projects: list[ProjectInfo] = field(default_factory=list)
    runtime: RuntimeConfirmation | None = None  # set by `check --runtime-report`

    @property
    def findings(self) -> list[Finding]:
        return sorted(
            (finding for result in self.results for finding in result.findings),
            key=Finding.sort_key,
        )

    @property
    def problems(self) -> list[FileProblem]:
        """Files that could not be analysed (syntax errors, encodings, limits, analyser errors)."""
        return [result.problem for result in self.results if result.problem is not None]

    @property
    def internal_errors(self) -> list[FileProblem]:
        """Files the analyser itself failed on: these make the run exit with status 2."""
        return [
            problem
            for problem in self.problems
            if problem.problem.startswith(INTERNAL_ERROR_PREFIX)
        ]

    @property
    def files_checked(self) -> int:
        return len(self.results)

    def counts(self) -> Counter[str]:
        return Counter(finding.code for finding in self.findings)

    def root_causes(self) -> list[RootCause]:
        return root_causes(self.findings)

    @property
    def fixable(self) -> int:
        return sum(1 for finding in self.findings if finding.fix is not None)
