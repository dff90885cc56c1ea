"""Rendering the `routes` inventory: a terminal table (coloured on a terminal, fitted to its
width) or versioned JSON (schema: `schemas/routes.schema.json` in the repository)."""

from __future__ import annotations

import json
from typing import Any

from async_pitfalls_lint import __version__
from async_pitfalls_lint.inventory import EVENT_LOOP, Inventory, RootEntry, RouteEntry
from async_pitfalls_lint.output.json_format import finding_to_dict

SCHEMA_VERSION = 1

_RESET = "\033[0m"
_BOLD = "\033[1m"
_RED = "\033[31m"
_GREEN = "\033[32m"
_YELLOW = "\033[33m"
_DIM = "\033[2m"

_HEADERS = ("METHOD", "PATH", "FUNCTION", "LOCATION", "RUNS IN", "DEPENDENCIES", "FINDINGS")


_ELLIPSIS = "\u2026"
# Columns that give way when the table is wider than the terminal, most expendable first, each
# down to a minimum width: dependencies, path, function, location.
_SHRINKABLE = {5: 12, 1: 8, 2: 8, 3: 12}


def _row(entry: RouteEntry) -> tuple[str, ...]:
    dependencies = ", ".join(dependency.name for dependency in entry.dependencies) or "-"
    return (
        entry.method or "-",
        entry.route or "-",
        entry.function,
        f"{entry.path}:{entry.line}",
        entry.runs_in,
        dependencies,
        str(len(entry.findings)),
    )


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{style}{text}{_RESET}" if colour and style else text


def roots_text(roots: list[RootEntry]) -> str:
    """One line naming the folders imports were resolved from besides the project root."""
    if not roots:
        return "source roots: the project root and src/ only"
    described = "; ".join(f"{root.path} ({root.origin}: {root.reason})" for root in roots)
    return f"source roots: {described}"


def _clip(text: str, width: int) -> str:
    """The text cut to `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + _ELLIPSIS


def _clip_left(text: str, width: int) -> str:
    """Cut from the left, for `path:line` locations: the file name and line stay."""
    return text if len(text) <= width else _ELLIPSIS + text[len(text) - width + 1 :]


def _clip_names(text: str, width: int) -> str:
    """A comma-separated list cut at a name, with how many are left out (`a, b, +3`)."""
    if len(text) <= width:
        return text
    names = text.split(", ")
    for kept in range(len(names) - 1, 0, -1):
        shown = ", ".join(names[:kept]) + f", +{len(names) - kept}"
        if len(shown) <= width:
            return shown
    return _clip(f"{names[0]}, +{len(names) - 1}", width)


def _fit(widths: list[int], limit: int) -> list[int]:
    """Column widths that fit `limit` characters (two spaces between columns), taken from the
    shrinkable columns in order (dependencies first), each down to its minimum."""
    fitted = list(widths)
    excess = sum(fitted) + 2 * (len(fitted) - 1) - limit
    for index, low in _SHRINKABLE.items():
        if excess <= 0:
            break
        give = min(excess, max(0, fitted[index] - low))
        fitted[index] -= give
        excess -= give
    return fitted


def _cell(index: int, text: str, width: int) -> str:
    if index == 3:
        return _clip_left(text, width)
    if index == 5:
        return _clip_names(text, width)
    return _clip(text, width)


def render_table(inventory: Inventory, colour: bool = False, width: int | None = None) -> str:
    """The table; with `width` (a terminal's), every line fits it: wide columns give way
    (cells cut with an ellipsis, dependency lists at a name with a `+N` count) and findings and
    chain lines are cut at the edge. The JSON format always has everything."""
    if not inventory.routes:
        return (
            "\n".join(
                [
                    "no routes or websockets found",
                    roots_text(inventory.source_roots),
                    *_project_lines(inventory),
                ]
            )
            + "\n"
        )
    rows = [_row(entry) for entry in inventory.routes]
    widths = [
        max(len(header), *(len(row[index]) for row in rows))
        for index, header in enumerate(_HEADERS)
    ]
    if width is not None:
        widths = _fit(widths, width)

    def line(text: str) -> str:
        return _clip(text, width) if width is not None else text

    lines = [
        _paint(
            "  ".join(_clip(h, w).ljust(w) for h, w in zip(_HEADERS, widths, strict=True)).rstrip(),
            _BOLD,
            colour,
        )
    ]
    for entry, row in zip(inventory.routes, rows, strict=True):
        cells = [
            _cell(index, cell, w).ljust(w)
            for index, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        cells[4] = _paint(cells[4], _YELLOW if entry.runs_in == EVENT_LOOP else _GREEN, colour)
        cells[6] = _paint(cells[6], _RED if entry.findings else _GREEN, colour)
        lines.append("  ".join(cells).rstrip())
        for finding in entry.findings:
            location = f"{finding.path}:{finding.line}:{finding.column + 1}"
            text = line(f"    {finding.code} {location} {finding.message}")
            code = _paint(finding.code, _RED, colour)
            lines.append(text.replace(finding.code, code, 1))
            for step in finding.chain:
                lines.append(
                    _paint(
                        line(f"        -> {step.label} at {step.path}:{step.line}:{step.column}"),
                        _DIM,
                        colour,
                    )
                )
    on_loop = sum(1 for entry in inventory.routes if entry.runs_in == EVENT_LOOP)
    affected = sum(1 for entry in inventory.routes if entry.findings)
    lines.append("")
    lines.append(
        line(
            f"{len(inventory.routes)} routes: {on_loop} on the event loop, "
            f"{len(inventory.routes) - on_loop} in the threadpool; {affected} with findings"
        )
    )
    lines.append(_paint(roots_text(inventory.source_roots), _DIM, colour))
    lines.extend(_project_lines(inventory))
    return "\n".join(lines) + "\n"


def _project_lines(inventory: Inventory) -> list[str]:
    return [f"project {info.root}: libraries: {info.libraries}" for info in inventory.projects]


def route_to_dict(entry: RouteEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "method": entry.method,
        "route": entry.route,
        "function": entry.function,
        "path": entry.path,
        "line": entry.line,
        "runs_in": entry.runs_in,
        "dependencies": [
            {"name": dep.name, "path": dep.path, "line": dep.line, "runs_in": dep.runs_in}
            for dep in entry.dependencies
        ],
        "findings": [finding_to_dict(finding) for finding in entry.findings],
    }


def render_json(inventory: Inventory) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "async-pitfalls-lint", "version": __version__},
        "files_checked": inventory.files_checked,
        "source_roots": [
            {
                "path": root.path,
                "origin": root.origin,
                "placement": root.placement,
                "reason": root.reason,
            }
            for root in inventory.source_roots
        ],
        "routes": [route_to_dict(entry) for entry in inventory.routes],
        "projects": [
            {"root": info.root, "libraries": info.libraries} for info in inventory.projects
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
