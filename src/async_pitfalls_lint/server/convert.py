"""Findings as LSP diagnostics, and fix-engine edits as LSP text edits.

The analysis counts columns and offsets in code points; LSP positions count in the encoding
the client and server agreed on (UTF-16 unless the client offers another), so every position
goes through the document's lines. Lines end at \\n, \\r\\n or \\r, as both Python and LSP
define them.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from async_pitfalls_lint.catalog import Catalog
from async_pitfalls_lint.model import ChainStep, Edit, Finding
from async_pitfalls_lint.output.sarif import rule_help_uri

SOURCE = "async-pitfalls-lint"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_WORD = re.compile(r"[\w.]+")


class Lines:
    """A text's lines, for turning code-point positions into client positions and back."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.text = text
        self.codec = codec
        self.lines: list[str] = _LINE.findall(text)
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line)

    def line(self, index: int) -> str:
        """Line `index` (0-based) without its line break; "" past the end."""
        if 0 <= index < len(self.lines):
            return self.lines[index].rstrip("\r\n")
        return ""

    def position(self, line: int, column: int) -> types.Position:
        """0-based line, 0-based code-point column -> client position (clamped)."""
        if line >= len(self.lines):
            if not self.lines:
                return types.Position(0, 0)
            last = self.lines[-1]
            if last.endswith(("\n", "\r")):
                return types.Position(len(self.lines), 0)
            return types.Position(len(self.lines) - 1, self.codec.client_num_units(last))
        text = self.line(max(line, 0))
        column = min(max(column, 0), len(text))
        return types.Position(max(line, 0), self.codec.client_num_units(text[:column]))

    def position_at(self, offset: int) -> types.Position:
        """A code-point offset into the text -> client position."""
        offset = min(max(offset, 0), len(self.text))
        index = max(0, bisect.bisect_right(self.starts, offset) - 1)
        if not self.starts:
            return types.Position(0, 0)
        column = offset - self.starts[index]
        line = self.lines[index]
        body = len(line.rstrip("\r\n"))
        if column > body:  # at (or inside) the line break: the start of the next line
            return types.Position(index + 1, 0)
        return self.position(index, column)

    def column(self, position: types.Position) -> int:
        """A client position's column in code points."""
        text = self.line(position.line)
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return index
            units += self.codec.client_num_units(char)
        return len(text)

    def word_at(self, position: types.Position) -> str:
        """The identifier (dotted name) under a client position."""
        text = self.line(position.line)
        column = self.column(position)
        for match in _WORD.finditer(text):
            if match.start() <= column <= match.end():
                return match.group().strip(".")
        return ""


def severity(catalog: Catalog, code: str) -> types.DiagnosticSeverity:
    """The SARIF levels: offloading and diagnostic rules warn, blocking calls are errors."""
    rule = catalog.get(code)
    if rule is not None and rule.family in ("offloading", "diagnostic"):
        return types.DiagnosticSeverity.Warning
    return types.DiagnosticSeverity.Error


def diagnostic(
    finding: Finding,
    lines: Lines,
    catalog: Catalog,
    root: str,
    lines_of: Callable[[str], Lines | None],
    related: bool = True,
) -> types.Diagnostic:
    span = finding.span
    start = lines.position(span.line - 1, span.column)
    end = lines.position(span.end_line - 1, span.end_column)
    if finding.code == "APL900" or (start.line, start.character) >= (end.line, end.character):
        # A file that cannot be analysed (or an empty span): mark the whole first line.
        end = lines.position(start.line, len(lines.line(start.line)))
    information = None
    if related and finding.chain:
        information = [chain_location(step, root, lines_of) for step in finding.chain]
        information += [
            chain_location(step, root, lines_of, "also blocks:") for step in finding.also
        ]
    return types.Diagnostic(
        range=types.Range(start, end),
        message=finding.message,
        severity=severity(catalog, finding.code),
        code=finding.code,
        code_description=types.CodeDescription(href=rule_help_uri(finding.code)),
        source=SOURCE,
        related_information=information,
        data={"code": finding.code, "line": span.line, "column": span.column},
    )


def chain_location(
    step: ChainStep, root: str, lines_of: Callable[[str], Lines | None], verb: str = "calls"
) -> types.DiagnosticRelatedInformation:
    """One step of a chain: where it calls what. Step columns are 1-based code points."""
    path = os.path.normpath(os.path.join(root, step.path))
    line, column = max(step.line - 1, 0), max(step.column - 1, 0)
    target = lines_of(path)
    if target is None:
        where = types.Range(types.Position(line, column), types.Position(line, column))
    else:
        text = target.line(line)
        match = _WORD.match(text, column)
        end = match.end() if match else column
        where = types.Range(target.position(line, column), target.position(line, end))
    return types.DiagnosticRelatedInformation(
        location=types.Location(uri=Path(path).as_uri(), range=where),
        message=f"{verb} {step.label}",
    )


def text_edits(lines: Lines, edits: Iterable[Edit]) -> list[types.TextEdit]:
    """The fix engine's edits (code-point offsets into the text) as LSP text edits."""
    return [
        types.TextEdit(
            range=types.Range(lines.position_at(edit.start), lines.position_at(edit.end)),
            new_text=edit.text,
        )
        for edit in sorted(set(edits), key=lambda edit: (edit.start, edit.end))
    ]


def diff_edits(lines: Lines, after: str) -> list[types.TextEdit]:
    """Edits that turn the text into `after`, line by line (for results the fix engine tidied
    after applying the fixes' own edits: unused imports it removed)."""
    before_lines: Sequence[str] = lines.lines
    after_lines = _LINE.findall(after)
    matcher = difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False)
    found: list[types.TextEdit] = []
    for tag, first, last, new_first, new_last in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = lines.starts[first] if first < len(lines.starts) else len(lines.text)
        end = lines.starts[last] if last < len(lines.starts) else len(lines.text)
        found.append(
            types.TextEdit(
                range=types.Range(lines.position_at(start), _end_position(lines, end)),
                new_text="".join(after_lines[new_first:new_last]),
            )
        )
    return found


def _end_position(lines: Lines, offset: int) -> types.Position:
    if offset >= len(lines.text) and lines.lines and lines.lines[-1].endswith(("\n", "\r")):
        return types.Position(len(lines.lines), 0)
    return lines.position_at(offset)
