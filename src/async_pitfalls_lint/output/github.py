"""GitHub Actions workflow commands: one `::error` annotation per finding.

Escaping follows the runner's rules: in the message `%`, CR and LF are percent-encoded; in
property values `:` and `,` are encoded as well, since they separate the properties.
"""

from __future__ import annotations

from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.report import Report


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_finding(finding: Finding) -> str:
    span = finding.span
    properties = ",".join(
        f"{key}={escape_property(value)}"
        for key, value in (
            ("file", finding.path),
            ("line", str(span.line)),
            ("col", str(span.column + 1)),
            ("endLine", str(span.end_line)),
            ("endColumn", str(span.end_column + 1)),
            ("title", finding.code),
        )
    )
    return f"::error {properties}::{escape_data(finding.message)}"


def render(report: Report) -> str:
    return "".join(format_finding(finding) + "\n" for finding in report.findings)
