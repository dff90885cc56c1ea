"""Inline expectations in fixture files, read with `tokenize` (never `eval`).

A finding is expected where a comment names it: `# APL101:5` (code and 1-based column), with
an optional quoted message fragment, `# APL102:12 "requests.get"`; several may share a line.
Every other line of every fixture file must stay clean. Header directives in the leading
comment block configure the case: `# apl-test: options scope=all`.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ITEM = re.compile(r'(APL\d{3}):(\d+)(?:\s+"([^"]*)")?')
LOOKS_LIKE_ITEM = re.compile(r"\bAPL\d{3}\b")
DIRECTIVE = re.compile(r"#\s*apl-test:\s*(\w+)\s*(.*)$")


@dataclass(frozen=True)
class Expected:
    path: str
    line: int
    column: int
    code: str
    fragment: str = ""

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


@dataclass
class CaseFile:
    relative: str
    expected: list[Expected] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


class ExpectationError(ValueError):
    pass


def read_expectations(path: Path, relative: str) -> CaseFile:
    case = CaseFile(relative)
    source = path.read_bytes()
    in_header = True
    tokens = tokenize.tokenize(io.BytesIO(source).readline)
    for token in tokens:
        if token.type in (tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE):
            continue
        if token.type != tokenize.COMMENT:
            in_header = False
            continue
        directive = DIRECTIVE.match(token.string)
        if directive:
            if not in_header:
                raise ExpectationError(
                    f"{relative}:{token.start[0]}: directives belong in the header"
                )
            _read_directive(case, directive.group(1), directive.group(2), relative)
            continue
        items = list(ITEM.finditer(token.string))
        mentioned = LOOKS_LIKE_ITEM.findall(token.string)
        if len(mentioned) != len(items) and _is_annotation(token.string):
            raise ExpectationError(
                f"{relative}:{token.start[0]}: every expected code needs a column (APL101:5)"
            )
        for item in items:
            case.expected.append(
                Expected(
                    relative, token.start[0], int(item.group(2)), item.group(1), item.group(3) or ""
                )
            )
    return case


def _is_annotation(comment: str) -> bool:
    return comment.lstrip("# ").startswith("APL")


def _read_directive(case: CaseFile, name: str, value: str, relative: str) -> None:
    if name != "options":
        raise ExpectationError(f"{relative}: unknown directive {name!r}")
    for pair in value.split():
        key, _, option = pair.partition("=")
        if not option:
            raise ExpectationError(f"{relative}: option {pair!r} must be key=value")
        case.options[key] = option
