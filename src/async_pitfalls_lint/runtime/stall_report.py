"""The runtime report: every event-loop stall a monitored test session saw, as JSON.

Schema: `schemas/runtime-report.schema.json` in the repository. Paths of files under the
session's rootdir are relative to it ('/' separated); others (libraries) are absolute.
`schema_version` changes only when a field is removed or changes meaning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
TOOL_NAME = "async-pitfalls-lint"


class RuntimeReportError(Exception):
    """A runtime report that cannot be read: missing, not JSON, or not of this schema."""


@dataclass(frozen=True)
class Location:
    """A project line a stalled stack passed through (the call in progress on that line)."""

    path: str
    line: int
    column: int | None = None  # 1-based column of that call, when the interpreter tells


@dataclass(frozen=True)
class StackFrame:
    path: str
    line: int
    function: str
    module: str
    project: bool
    column: int | None = None


@dataclass(frozen=True)
class MatchedFinding:
    """The static finding a stall confirms."""

    code: str
    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Stall:
    """One period during which an event loop's thread did not come back to the loop."""

    test: str | None  # pytest node id; None outside any test (session fixtures, collection)
    phase: str | None  # setup, call or teardown
    duration_ms: float
    thread: str
    route: str | None  # "GET /items/{item_id}" when the stalled stack was serving a request
    samples: int
    frame: StackFrame | None  # the deepest project frame of the most frequent sample
    library_call: str | None  # what that frame was calling when sampled
    stack: tuple[StackFrame, ...] = ()  # that sample, outermost first, loop internals cut
    project_lines: tuple[Location, ...] = ()  # every project line of every sample, deepest first
    finding: MatchedFinding | None = None


@dataclass(frozen=True)
class RuntimeReport:
    threshold_ms: float
    rootdir: str
    stalls: tuple[Stall, ...] = ()
    tests: int = 0
    loops: int = 0  # event loops the session ran and monitored
    findings_source: str = "none"  # "analysis", "file" or "none"
    findings_path: str | None = None
    findings_error: str | None = None
    tool_version: str = field(default="")

    def absolute(self, path: str) -> str:
        """A report path as an absolute path on this machine."""
        return path if os.path.isabs(path) else os.path.join(self.rootdir, path)


# -- writing -------------------------------------------------------------------------------------
def _frame_dict(frame: StackFrame) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": frame.path,
        "line": frame.line,
        "function": frame.function,
        "module": frame.module,
        "project": frame.project,
    }
    if frame.column is not None:
        entry["column"] = frame.column
    return entry


def _location_dict(location: Location) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": location.path, "line": location.line}
    if location.column is not None:
        entry["column"] = location.column
    return entry


def stall_to_dict(stall: Stall) -> dict[str, Any]:
    finding = stall.finding
    return {
        "test": stall.test,
        "phase": stall.phase,
        "duration_ms": round(stall.duration_ms, 1),
        "thread": stall.thread,
        "route": stall.route,
        "samples": stall.samples,
        "frame": _frame_dict(stall.frame) if stall.frame is not None else None,
        "library_call": stall.library_call,
        "stack": [_frame_dict(frame) for frame in stall.stack],
        "project_lines": [_location_dict(location) for location in stall.project_lines],
        "finding": None
        if finding is None
        else {
            "code": finding.code,
            "path": finding.path,
            "line": finding.line,
            "column": finding.column,
            "message": finding.message,
        },
    }


def report_to_dict(report: RuntimeReport) -> dict[str, Any]:
    findings: dict[str, Any] = {"source": report.findings_source}
    if report.findings_path is not None:
        findings["path"] = report.findings_path
    if report.findings_error is not None:
        findings["error"] = report.findings_error
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "threshold_ms": report.threshold_ms,
        "rootdir": report.rootdir,
        "tests": report.tests,
        "loops": report.loops,
        "findings": findings,
        "stalls": [stall_to_dict(stall) for stall in report.stalls],
    }


def write_report(report: RuntimeReport, path: Path) -> None:
    text = json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


# -- reading -------------------------------------------------------------------------------------
def load_report(path: Path) -> RuntimeReport:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuntimeReportError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RuntimeReportError(f"{path} is not a JSON document: {error}") from None
    try:
        return report_from_dict(data)
    except _Malformed as error:
        raise RuntimeReportError(f"{path} is not a runtime report: {error}") from None


class _Malformed(Exception):
    pass


def _object(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _Malformed(f"{where} is not an object")
    return data


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise _Malformed(f"{where} has no {key!r}")
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python, never in the schema
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise _Malformed(f"{where}.{key} has the wrong type")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if data.get(key) is None:
        return None
    return _get(data, key, kind, where)


def _frame(raw: object, where: str) -> StackFrame:
    data = _object(raw, where)
    return StackFrame(
        path=_get(data, "path", str, where),
        line=_get(data, "line", int, where),
        function=_get(data, "function", str, where),
        module=_get(data, "module", str, where),
        project=_get(data, "project", bool, where),
        column=_optional(data, "column", int, where),
    )


def _location(raw: object, where: str) -> Location:
    data = _object(raw, where)
    return Location(
        _get(data, "path", str, where),
        _get(data, "line", int, where),
        _optional(data, "column", int, where),
    )


def _finding(raw: object, where: str) -> MatchedFinding | None:
    if raw is None:
        return None
    data = _object(raw, where)
    return MatchedFinding(
        code=_get(data, "code", str, where),
        path=_get(data, "path", str, where),
        line=_get(data, "line", int, where),
        column=_get(data, "column", int, where),
        message=_get(data, "message", str, where),
    )


def _stall(raw: object, where: str) -> Stall:
    data = _object(raw, where)
    frame = data.get("frame")
    return Stall(
        test=_optional(data, "test", str, where),
        phase=_optional(data, "phase", str, where),
        duration_ms=float(_get(data, "duration_ms", (int, float), where)),
        thread=_get(data, "thread", str, where),
        route=_optional(data, "route", str, where),
        samples=_get(data, "samples", int, where),
        frame=None if frame is None else _frame(frame, f"{where}.frame"),
        library_call=_optional(data, "library_call", str, where),
        stack=tuple(
            _frame(item, f"{where}.stack[{index}]")
            for index, item in enumerate(_get(data, "stack", list, where))
        ),
        project_lines=tuple(
            _location(item, f"{where}.project_lines[{index}]")
            for index, item in enumerate(_get(data, "project_lines", list, where))
        ),
        finding=_finding(data.get("finding"), f"{where}.finding"),
    )


def report_from_dict(raw: object) -> RuntimeReport:
    data = _object(raw, "the report")
    version = _get(data, "schema_version", int, "the report")
    if version != SCHEMA_VERSION:
        raise _Malformed(f"schema_version {version} (this version reads {SCHEMA_VERSION})")
    tool = _object(_get(data, "tool", dict, "the report"), "tool")
    if _get(tool, "name", str, "tool") != TOOL_NAME:
        raise _Malformed(f"it was written by {tool['name']!r}")
    findings = _object(_get(data, "findings", dict, "the report"), "findings")
    stalls: Sequence[object] = _get(data, "stalls", list, "the report")
    return RuntimeReport(
        threshold_ms=float(_get(data, "threshold_ms", (int, float), "the report")),
        rootdir=_get(data, "rootdir", str, "the report"),
        stalls=tuple(_stall(item, f"stalls[{index}]") for index, item in enumerate(stalls)),
        tests=_get(data, "tests", int, "the report"),
        loops=_get(data, "loops", int, "the report"),
        findings_source=_get(findings, "source", str, "findings"),
        findings_path=_optional(findings, "path", str, "findings"),
        findings_error=_optional(findings, "error", str, "findings"),
        tool_version=_get(tool, "version", str, "tool"),
    )
