"""A pytest session under the stall monitor: which test each stall happened in, and at the end
the report (stalls collapsed, matched to static findings), its JSON file and the summary."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from async_pitfalls_lint import __version__
from async_pitfalls_lint.runtime.monitor import RawStall, StallMonitor
from async_pitfalls_lint.runtime.stall_report import (
    MatchedFinding,
    RuntimeReport,
    Stall,
    write_report,
)
from async_pitfalls_lint.runtime.summary import summary_lines

if TYPE_CHECKING:
    from async_pitfalls_lint.runtime.matching import StaticFinding
    from async_pitfalls_lint.runtime.stacks import FrameClassifier


class MonitoredSession:
    def __init__(
        self,
        config: pytest.Config,
        threshold_ms: float,
        report_path: Path | None,
        findings_path: Path | None,
    ) -> None:
        self.config = config
        self.threshold_ms = threshold_ms
        self.report_path = report_path
        self.findings_path = findings_path
        self.monitor = StallMonitor(threshold_ms)
        self.tests = 0
        self.report: RuntimeReport | None = None
        self.write_error: str | None = None

    # -- hooks -----------------------------------------------------------------------------------
    def pytest_report_header(self) -> str:
        return f"async-pitfalls-lint: monitoring event-loop stalls over {self.threshold_ms:g} ms"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        self.monitor.start()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.monitor.set_context(item.nodeid, "setup")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.monitor.set_context(item.nodeid, "call")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self.monitor.set_context(item.nodeid, "teardown")

    def pytest_runtest_logfinish(self) -> None:
        self.tests += 1
        self.monitor.set_context(None, None)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.monitor.stop()
        self.report = self.build_report(self.monitor.stalls)
        if self.report_path is not None:
            try:
                write_report(self.report, self.report_path)
            except OSError as error:
                self.write_error = f"cannot write {self.report_path}: {error.strerror}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.report is None:
            return
        title, lines = summary_lines(self.report)
        terminalreporter.write_sep("=", title)
        for line in lines:
            terminalreporter.write_line(line)
        if self.report_path is not None and self.write_error is None:
            terminalreporter.write_line(f"runtime report: {self.report_path}")
        if self.write_error is not None:
            terminalreporter.write_line(f"async-pitfalls-lint: {self.write_error}", red=True)
        if self.monitor.errors:
            terminalreporter.write_line(
                f"async-pitfalls-lint: the monitor failed {self.monitor.errors} time(s); "
                "some stalls may be missing",
                yellow=True,
            )

    # -- the report ------------------------------------------------------------------------------
    def build_report(self, raw_stalls: list[RawStall]) -> RuntimeReport:
        rootdir = str(self.config.rootpath)
        if not raw_stalls and self.findings_path is None:
            return RuntimeReport(
                threshold_ms=self.threshold_ms,
                rootdir=os.path.realpath(rootdir),
                tests=self.tests,
                loops=self.monitor.loops,
                tool_version=__version__,
            )
        # Resolving stacks and matching findings is for sessions that have stalls.
        from async_pitfalls_lint.runtime.stacks import FrameClassifier, collapse  # noqa: PLC0415

        classifier = FrameClassifier(rootdir)
        stalls = []
        for raw in raw_stalls:
            collapsed = collapse(raw.samples, classifier)
            stalls.append(
                Stall(
                    test=raw.test,
                    phase=raw.phase,
                    duration_ms=raw.duration * 1000.0,
                    thread=raw.thread,
                    route=raw.route,
                    samples=len(raw.samples),
                    frame=collapsed.frame,
                    library_call=collapsed.library_call,
                    stack=collapsed.stack,
                    project_lines=collapsed.project_lines,
                )
            )
        report = RuntimeReport(
            threshold_ms=self.threshold_ms,
            rootdir=classifier.rootdir,
            stalls=tuple(stalls),
            tests=self.tests,
            loops=self.monitor.loops,
            tool_version=__version__,
        )
        return self._with_findings(report, classifier)

    def _with_findings(self, report: RuntimeReport, classifier: FrameClassifier) -> RuntimeReport:
        from async_pitfalls_lint.runtime.matching import match_stalls  # noqa: PLC0415
        from async_pitfalls_lint.runtime.static_findings import FindingsError  # noqa: PLC0415

        source = "file" if self.findings_path is not None else "analysis"
        try:
            findings = self._findings(report)
        except FindingsError as error:
            return dataclasses.replace(report, findings_source="none", findings_error=str(error))
        except Exception as error:  # an analysis failure must not hide the stalls
            message = f"the analysis failed: {type(error).__name__}: {error}"
            return dataclasses.replace(report, findings_source="none", findings_error=message)
        if findings is None:
            return report
        matched = [
            dataclasses.replace(match.stall, finding=_matched(match.finding, classifier))
            for match in match_stalls(report, findings)
        ]
        return dataclasses.replace(
            report,
            stalls=tuple(matched),
            findings_source=source,
            findings_path=str(self.findings_path) if self.findings_path is not None else None,
        )

    def _findings(self, report: RuntimeReport) -> list[StaticFinding] | None:
        from async_pitfalls_lint.runtime.static_findings import (  # noqa: PLC0415
            analyse_files,
            read_findings_file,
        )

        if self.findings_path is not None:
            bases = [str(self.config.invocation_params.dir), report.rootdir]
            return read_findings_file(self.findings_path, bases)
        files = {
            report.absolute(location.path)
            for stall in report.stalls
            for location in stall.project_lines
        }
        existing = sorted(file for file in files if os.path.isfile(file))
        return analyse_files(existing) if existing else None


def _matched(finding: StaticFinding | None, classifier: FrameClassifier) -> MatchedFinding | None:
    if finding is None:
        return None
    return MatchedFinding(
        code=finding.code,
        path=classifier.display(finding.key),
        line=finding.line,
        column=finding.column,
        message=finding.message,
    )
