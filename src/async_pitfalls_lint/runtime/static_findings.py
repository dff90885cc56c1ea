"""Where the monitored session gets the static findings it matches stalls against.

By default the analysis runs in-process, at the end of the session, on the project files that
appear in stalled stacks (each file with the settings of its nearest pyproject.toml, like
`async-pitfalls-lint check` on that file); with `--apl-findings PATH` it reads the JSON report of
an earlier `async-pitfalls-lint check --format json` instead.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.runtime.matching import StaticFinding, path_key


class FindingsError(Exception):
    """The findings could not be had: a findings file that cannot be read, a broken config."""


def from_findings(findings: Iterable[Finding], file: str | None = None) -> list[StaticFinding]:
    """`file`: the absolute path the findings are in, when their paths are not relative to the
    working folder (the API reports them relative to their project's root)."""
    return [
        StaticFinding(
            code=finding.code,
            path=finding.path,
            line=finding.line,
            end_line=max(finding.span.end_line, finding.line),
            column=finding.column + 1,
            message=finding.message,
            key=path_key(file if file is not None else finding.path),
        )
        for finding in findings
    ]


def analyse_files(files: Sequence[str]) -> list[StaticFinding]:
    """Findings of `files` (absolute paths), grouped by the pyproject.toml that configures them."""
    # the analysis (libcst) loads only when a session has stalls to match
    from async_pitfalls_lint.api import check_paths  # noqa: PLC0415
    from async_pitfalls_lint.config import (  # noqa: PLC0415
        ConfigError,
        find_pyproject,
        load_settings,
    )

    groups: dict[Path | None, list[str]] = defaultdict(list)
    for file in sorted(set(files)):
        groups[find_pyproject(Path(file).parent)].append(file)
    found: list[StaticFinding] = []
    for config, members in groups.items():
        try:
            settings = load_settings(Path(members[0]).parent, config)
        except ConfigError as error:
            raise FindingsError(str(error)) from None
        for member in members:
            for result in check_paths([member], settings):
                found.extend(from_findings(result.findings, member))
    return found


def read_findings_file(path: Path, bases: Sequence[str]) -> list[StaticFinding]:
    """Findings from `check --format json`; relative paths are tried against each of `bases`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FindingsError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FindingsError(f"{path} is not a JSON document: {error}") from None
    entries = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FindingsError(f"{path} is not a findings report (`check --format json`)")
    found = []
    for entry in entries:
        try:
            code, file, line = str(entry["code"]), str(entry["path"]), int(entry["line"])
            end_line = int(entry.get("end_line", line))
            column = int(entry.get("column", 1))
            message = str(entry.get("message", ""))
        except (KeyError, TypeError, ValueError):
            raise FindingsError(f"{path}: a finding without code, path and line") from None
        found.append(
            StaticFinding(
                code=code,
                path=file,
                line=line,
                end_line=max(end_line, line),
                column=column,
                message=message,
                key=path_key(_existing(file, bases)),
            )
        )
    return found


def _existing(path: str, bases: Sequence[str]) -> str:
    if os.path.isabs(path):
        return path
    candidates = [os.path.join(base, path) for base in bases]
    return next((candidate for candidate in candidates if os.path.exists(candidate)), candidates[0])
