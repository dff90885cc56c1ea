"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

`tool.driver.rules` is generated from the rule catalog (every rule, with its documentation and
a link to its page); each result has its region, the call chain as `relatedLocations` (followed
by the other call sites that reach the same blocking call, its root cause, also summed up in
`properties.rootCause`) and, when the finding has one, its fix as `fixes`. Columns are Unicode
code points, 1-based, and the end column is exclusive, as the format defines.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from async_pitfalls_lint import __version__
from async_pitfalls_lint.catalog import Catalog, Rule, load_catalog
from async_pitfalls_lint.explain import rule_markdown
from async_pitfalls_lint.model import ChainStep, Finding
from async_pitfalls_lint.report import Report, RootCause, RootKey, root_key
from async_pitfalls_lint.runtime.confirmation import confirmation_to_dict, runtime_to_dict

# Other call sites of a shared root cause listed in each result's relatedLocations, at most.
MAX_SHARED_SITES = 20

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
DOCS_URL = "https://async-pitfalls-lint.readthedocs.io/en/latest/"
SRCROOT = "%SRCROOT%"


def rule_help_uri(code: str) -> str:
    return f"{DOCS_URL}rules/{code}/"


def artifact_location(path: str) -> dict[str, Any]:
    """A relative path stays relative to %SRCROOT% (the working folder); others become file URIs."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def rule_descriptor(rule: Rule, catalog: Catalog) -> dict[str, Any]:
    category = catalog.categories.get(rule.category)
    tags = [rule.family, rule.category]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": " ".join(rule.why.split()), "markdown": rule_markdown(rule, catalog)},
        "helpUri": rule_help_uri(rule.code),
        "defaultConfiguration": {"enabled": rule.default, "level": _level(rule)},
        "properties": {
            "tags": tags,
            "category": category.title if category else rule.category,
            "fix": rule.fix,
        },
    }


def _level(rule: Rule) -> str:
    return "warning" if rule.family in ("offloading", "diagnostic") else "error"


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _step_location(index: int, step: ChainStep) -> dict[str, Any]:
    return {
        "id": index,
        "message": {"text": f"calls {step.label}"},
        "physicalLocation": {
            "artifactLocation": artifact_location(step.path),
            "region": {"startLine": step.line, "startColumn": max(1, step.column)},
        },
    }


def _also_location(index: int, step: ChainStep) -> dict[str, Any]:
    located = _step_location(index, step)
    located["message"] = {"text": f"also blocks: {step.label}"}
    return located


def _shared_site_location(index: int, other: Finding, cause: RootCause) -> dict[str, Any]:
    return {
        "id": index,
        "message": {
            "text": f"another call site reaching {cause.label} at {cause.path}:{cause.line}"
        },
        "physicalLocation": {
            "artifactLocation": artifact_location(other.path),
            "region": {"startLine": other.span.line, "startColumn": other.span.column + 1},
        },
    }


def result(
    finding: Finding,
    rule_index: dict[str, int],
    catalog: Catalog,
    causes: dict[RootKey, RootCause] | None = None,
) -> dict[str, Any]:
    span = finding.span
    rule = catalog.get(finding.code)
    entry: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _level(rule) if rule is not None else "error",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.path),
                    "region": _region(
                        span.line, span.column + 1, span.end_line, span.end_column + 1
                    ),
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash/v1": _fingerprint(finding)},
        "properties": {"category": finding.category},
    }
    if finding.code in rule_index:
        entry["ruleIndex"] = rule_index[finding.code]
    if finding.callee:
        entry["properties"]["callee"] = finding.callee
    if finding.chain:
        related = [_step_location(index, step) for index, step in enumerate(finding.chain, start=1)]
        related.extend(
            _also_location(len(related) + index, step)
            for index, step in enumerate(finding.also, start=1)
        )
        key = root_key(finding)
        cause = causes.get(key) if causes is not None and key is not None else None
        if cause is not None:
            entry["properties"]["rootCause"] = {
                "location": f"{cause.path}:{cause.line}:{cause.column}",
                "callee": cause.callee,
                "callSites": cause.call_sites,
            }
            others = [other for other in cause.findings if other is not finding]
            for other in others[:MAX_SHARED_SITES]:
                related.append(_shared_site_location(len(related) + 1, other, cause))
        entry["relatedLocations"] = related
    if finding.fix is not None:
        entry["fixes"] = [
            {
                "description": {
                    "text": finding.fix.title + ("" if finding.fix.safe else " (unsafe)")
                },
                "artifactChanges": [
                    {
                        "artifactLocation": artifact_location(finding.path),
                        "replacements": [
                            {
                                "deletedRegion": {
                                    "charOffset": edit.start,
                                    "charLength": edit.end - edit.start,
                                },
                                "insertedContent": {"text": edit.text},
                            }
                            for edit in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
        entry["properties"]["fixApplicability"] = "safe" if finding.fix.safe else "unsafe"
        if not finding.fix.edits:
            del entry["fixes"]
    return entry


def _fingerprint(finding: Finding) -> str:
    """Stable across runs: the code, the callee and the message, not the line number."""
    digest = hashlib.sha256(f"{finding.code}\0{finding.callee}\0{finding.message}".encode())
    return digest.hexdigest()[:32]


def _add_runtime(run: dict[str, Any], report: Report) -> None:
    """`check --runtime-report`: each result's confirmation, and the unexplained stalls."""
    assert report.runtime is not None
    for entry, finding in zip(run["results"], report.findings, strict=True):
        status = report.runtime.status(finding)
        if status is not None:
            entry["properties"]["runtime"] = confirmation_to_dict(status)
    run["properties"] = {"runtime": runtime_to_dict(report.runtime)}


def render(report: Report) -> str:
    catalog = load_catalog()
    causes = {cause.key: cause for cause in report.root_causes()}
    rules = [rule_descriptor(rule, catalog) for rule in catalog.rules]
    rule_index = {rule.code: index for index, rule in enumerate(catalog.rules)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"could not analyse this file: {problem.problem}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": artifact_location(problem.path)}}
            ],
        }
        for problem in report.problems
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not report.internal_errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "async-pitfalls-lint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": DOCS_URL,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": Path(os.getcwd()).as_uri() + "/"}},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": [result(finding, rule_index, catalog, causes) for finding in report.findings],
    }
    if report.runtime is not None:
        _add_runtime(run, report)
    document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
