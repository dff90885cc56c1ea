"""Code actions: the fix engine's fixes as quick fixes, `# noqa` to ignore a line, and a
source action that applies every safe fix of the file.

The edits are the fix engine's: `fixes.apply.apply_fixes` applies the chosen fixes to the
buffer's text, refuses any that would not parse (or compile, when the text did), and drops
the imports they left unused; the action's edit turns the buffer into that text.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types

from async_pitfalls_lint.fixes.apply import apply_edits, apply_fixes, compiles
from async_pitfalls_lint.model import Edit, Finding
from async_pitfalls_lint.server.convert import Lines, diff_edits, text_edits

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.async-pitfalls-lint"
FIX_ALL_TITLE = "async-pitfalls-lint: fix all safe fixes in file"
_NOQA = re.compile(
    r"#\s*noqa:\s?(?P<codes>[A-Z]+[0-9]*(?:[ \t]*,[ \t]*[A-Z]+[0-9]*)*)", re.IGNORECASE
)


@dataclass(frozen=True)
class Action:
    """A code action before it becomes a protocol object: its title, kind and new text."""

    title: str
    kind: str
    edits: list[types.TextEdit]
    finding: Finding | None = None
    preferred: bool = False


def fix_action(text: str, lines: Lines, finding: Finding) -> Action | None:
    """The finding's own fix, as the fix engine applies it; None when it has none or the
    engine refuses it (the result would not parse)."""
    fix = finding.fix
    if fix is None:
        return None
    after = _apply(text, [finding])
    if after is None:
        return None
    title = fix.title if fix.safe else f"{fix.title} (unsafe)"
    return Action(
        title,
        types.CodeActionKind.QuickFix.value,
        _edits(text, lines, after, fix.edits),
        finding,
        preferred=fix.safe,
    )


def fix_all_action(text: str, lines: Lines, findings: Sequence[Finding]) -> Action | None:
    """Every safe fix of the file that the engine can apply together (one round: fixes that
    overlap another wait for the next time the action is run)."""
    safe = [finding for finding in findings if finding.fix is not None and finding.fix.safe]
    if not safe:
        return None
    after = _apply(text, safe)
    if after is None:
        return None
    edits = [edit for finding in safe if finding.fix is not None for edit in finding.fix.edits]
    return Action(FIX_ALL_TITLE, FIX_ALL_KIND, _edits(text, lines, after, edits))


def noqa_action(text: str, lines: Lines, finding: Finding) -> Action | None:
    """`# noqa: APLnnn` at the end of the finding's first line (added to a `# noqa:` list the
    line already has). Refused when the comment would not be a comment there (the line goes
    on in a string or after a backslash): the text must keep its syntax tree."""
    index = finding.line - 1
    line = lines.line(index)
    if not line and index >= len(lines.lines):
        return None
    existing = _NOQA.search(line)
    if existing is not None:
        column = existing.end("codes")
        insert = f", {finding.code}"
    else:
        body = line.rstrip()
        if body.endswith("\\"):
            return None
        column = len(body)
        insert = f"  # noqa: {finding.code}"
    offset = lines.starts[index] + column
    edit = Edit(offset, offset, insert)
    after = apply_edits(text, [edit])
    if not _same_tree(text, after):
        return None
    return Action(
        f"Ignore this line (# noqa: {finding.code})",
        types.CodeActionKind.QuickFix.value,
        text_edits(lines, [edit]),
        finding,
    )


def _apply(text: str, findings: Sequence[Finding]) -> str | None:
    applied = apply_fixes(text, findings, compiles(text))
    if not applied.fixed or applied.text == text:
        return None
    return applied.text


def _edits(text: str, lines: Lines, after: str, edits: Sequence[Edit]) -> list[types.TextEdit]:
    """The fixes' own edits when they give the engine's result, else a line diff to it."""
    try:
        if apply_edits(text, edits) == after:
            return text_edits(lines, edits)
    except ValueError:  # overlapping edits: the engine applied only some of them
        pass
    return diff_edits(lines, after)


def _same_tree(before: str, after: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
