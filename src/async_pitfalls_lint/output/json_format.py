"""Versioned JSON output; the schema is `schemas/report.schema.json` in the repository.

`schema_version` changes only when a field is removed or changes meaning; new optional fields
keep the version. Lines and columns are 1-based; `end_column` is exclusive.
"""

from __future__ import annotations

import json
from typing import Any

from async_pitfalls_lint import __version__
from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.report import Report, RootCause, RootKey, root_key
from async_pitfalls_lint.runtime.confirmation import confirmation_to_dict, runtime_to_dict

SCHEMA_VERSION = 1


def finding_to_dict(
    finding: Finding, causes: dict[RootKey, RootCause] | None = None
) -> dict[str, Any]:
    rule = load_catalog().get(finding.code)
    fix: dict[str, Any] = {"available": finding.fix is not None}
    if finding.fix is not None:
        fix.update(
            applicability="safe" if finding.fix.safe else "unsafe",
            title=finding.fix.title,
            edits=[{"start": e.start, "end": e.end, "content": e.text} for e in finding.fix.edits],
        )
    elif finding.fix_unavailable:
        fix["reason"] = finding.fix_unavailable
    return {
        "path": finding.path,
        "line": finding.span.line,
        "column": finding.span.column + 1,
        "end_line": finding.span.end_line,
        "end_column": finding.span.end_column + 1,
        "code": finding.code,
        "name": rule.name if rule else "",
        "category": finding.category,
        "message": finding.message,
        "callee": finding.callee,
        "chain": [
            {"label": step.label, "path": step.path, "line": step.line, "column": step.column}
            for step in finding.chain
        ],
        **_also(finding),
        "fix": fix,
        **_root_cause(finding, causes),
    }


def _also(finding: Finding) -> dict[str, Any]:
    if not finding.also:
        return {}
    return {
        "also": [
            {"label": step.label, "path": step.path, "line": step.line, "column": step.column}
            for step in finding.also
        ]
    }


def _finding_entry(
    finding: Finding, report: Report, causes: dict[RootKey, RootCause]
) -> dict[str, Any]:
    entry = finding_to_dict(finding, causes)
    status = report.runtime.status(finding) if report.runtime is not None else None
    if status is not None:
        entry["runtime"] = confirmation_to_dict(status)
    return entry


def _root_cause(finding: Finding, causes: dict[RootKey, RootCause] | None) -> dict[str, Any]:
    key = root_key(finding)
    cause = causes.get(key) if causes is not None and key is not None else None
    if cause is None:
        return {}
    return {"root_cause": root_cause_to_dict(cause, with_sites=False)}


def root_cause_to_dict(cause: RootCause, with_sites: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "path": cause.path,
        "line": cause.line,
        "column": cause.column,
        "label": cause.label,
        "callee": cause.callee,
        "call_sites": cause.call_sites,
    }
    if with_sites:
        document["codes"] = dict(sorted(cause.codes().items()))
        document["sites"] = [
            {"path": f.path, "line": f.span.line, "column": f.span.column + 1, "code": f.code}
            for f in cause.findings
        ]
    return document


def render(report: Report) -> str:
    causes = report.root_causes()
    by_key = {cause.key: cause for cause in causes}
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "async-pitfalls-lint", "version": __version__},
        "files_checked": report.files_checked,
        "fixes_available": report.fixable,
        "findings": [_finding_entry(finding, report, by_key) for finding in report.findings],
        "root_causes": [root_cause_to_dict(cause) for cause in causes],
        "problems": [
            {"path": problem.path, "message": problem.problem} for problem in report.problems
        ],
        "statistics": dict(sorted(report.counts().items())),
    }
    if report.runtime is not None:
        document["runtime"] = runtime_to_dict(report.runtime)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
