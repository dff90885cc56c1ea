"""A whole run's results, as every output format sees them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from async_pitfalls_lint.model import FileProblem, FileResult, Finding, ProjectInfo

if TYPE_CHECKING:
    from async_pitfalls_lint.runtime.confirmation import RuntimeConfirmation

INTERNAL_ERROR_PREFIX = "internal error"


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

    @property
    def fixable(self) -> int:
        return sum(1 for finding in self.findings if finding.fix is not None)
