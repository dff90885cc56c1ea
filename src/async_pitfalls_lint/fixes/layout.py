"""Keeping a fixed line formatted as the project's formatter would leave it.

The unsafe fix makes a call longer (`requests.get(url)` -> `await asyncio.to_thread(requests.get,
url)`). When the original line fitted the project's line length and the fixed one does not, the
line is split the way black and ruff's formatter split it ("right-hand split"): after the
opening bracket of the last bracket pair on the line, with the contents on one line indented one
level deeper, or, when they do not fit either, one element a line with a trailing comma, each
element split again the same way if it is still too long. A trailing comment stays after the
closing bracket. Quotes, names and spacing inside the elements are kept as written.

The line length comes from the project's configuration: `line-length` in `[tool.ruff]`
(pyproject.toml, ruff.toml or .ruff.toml) or `[tool.black]`, read from the nearest file above
the fixed file; 88, both formatters' default, otherwise.
"""

from __future__ import annotations

import io
import os
import tokenize
from functools import lru_cache
from pathlib import Path

from async_pitfalls_lint._toml import TOMLDecodeError, load_toml_bytes

DEFAULT_LINE_LENGTH = 88
_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = {")": "(", "]": "[", "}": "{"}


def line_length_for(path: str) -> int:
    """The line length the formatter configured for the file's project uses."""
    return _line_length_in(os.path.dirname(os.path.abspath(path)))


@lru_cache(maxsize=256)
def _line_length_in(folder: str) -> int:
    current = Path(folder)
    for directory in (current, *current.parents):
        for name in ("ruff.toml", ".ruff.toml"):
            length = _read_length(directory / name, ())
            if length is not None:
                return length
        pyproject = directory / "pyproject.toml"
        for table in (("tool", "ruff"), ("tool", "black")):
            length = _read_length(pyproject, table)
            if length is not None:
                return length
        if (directory / ".git").exists():
            break
    return DEFAULT_LINE_LENGTH


def _read_length(path: Path, table: tuple[str, ...]) -> int | None:
    try:
        data = load_toml_bytes(path.read_bytes())
    except (OSError, TOMLDecodeError, UnicodeDecodeError):
        return None
    for key in table:
        value = data.get(key)
        if not isinstance(value, dict):
            return None
        data = value
    length = data.get("line-length", data.get("line_length"))
    if isinstance(length, int) and not isinstance(length, bool) and 20 <= length <= 1000:
        return length
    return None


def clear_line_length_cache() -> None:
    _line_length_in.cache_clear()


# -- splitting a line ------------------------------------------------------------------------
def split_line(line: str, unit: str, limit: int) -> str | None:
    """`line` (one physical line of code, its indentation included, no line break) split so
    every part fits `limit`, as black would; None when it cannot be split (no brackets, or
    something tokenize does not read as a line of its own)."""
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    code, comment = _code_and_comment(line)
    if code is None:
        return None
    lines = _right_hand_split(code.strip(), indent, unit, limit)
    if lines is None:
        return None
    if comment:
        lines[-1] += "  " + comment
    return "\n".join(lines)


def _code_and_comment(line: str) -> tuple[str | None, str]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None, ""
    stripped = line.strip()
    for token in tokens:
        if token.type == tokenize.COMMENT:
            return stripped[: token.start[1]].rstrip(), token.string
    return stripped, ""


def _brackets(code: str) -> list[tuple[int, int]] | None:
    """(opening, closing) offsets of the top-level-first bracket pairs, strings skipped."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for token in tokens:
        if token.type != tokenize.OP or token.start[0] != 1:
            continue
        if token.string in _OPENING:
            stack.append(token.start[1])
        elif token.string in _CLOSING:
            if not stack:
                return None
            pairs.append((stack.pop(), token.start[1]))
    return pairs if not stack else None


def _right_hand_split(code: str, indent: str, unit: str, limit: int) -> list[str] | None:
    pairs = _brackets(code)
    if not pairs:
        return None
    opening, closing = max(pairs, key=lambda pair: pair[1])  # the last closing bracket
    head, body, tail = code[: opening + 1], code[opening + 1 : closing].strip(), code[closing:]
    if not body:
        return None
    inner = indent + unit
    if len(inner) + len(body) <= limit:
        return [indent + head, inner + body, indent + tail]
    elements = _top_level_elements(body)
    if elements is None:
        return None
    if len(elements) == 1:
        nested = _right_hand_split(elements[0], inner, unit, limit)
        return [indent + head, *(nested or [inner + elements[0]]), indent + tail]
    lines = [indent + head]
    for element in elements:
        text = element + ","
        if len(inner) + len(text) > limit:
            nested = _right_hand_split(element, inner, unit, limit - 1)
            if nested is not None:
                nested[-1] += ","
                lines.extend(nested)
                continue
        lines.append(inner + text)
    lines.append(indent + tail)
    return lines


def _top_level_elements(body: str) -> list[str] | None:
    """The comma-separated elements of a bracket's contents (a trailing comma dropped)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(body + "\n").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    depth = 0
    cuts = []
    for token in tokens:
        if token.type != tokenize.OP or token.start[0] != 1:
            continue
        if token.string in _OPENING:
            depth += 1
        elif token.string in _CLOSING:
            depth -= 1
        elif token.string == "," and depth == 0:
            cuts.append(token.start[1])
    elements = []
    start = 0
    for cut in cuts:
        elements.append(body[start:cut].strip())
        start = cut + 1
    last = body[start:].strip()
    if last:
        elements.append(last)
    return [element for element in elements if element] or None


def indent_unit(text: str, def_start: int) -> str:
    """One level of indentation as the function at `def_start` uses it (its body's indent
    minus its own), four spaces when that cannot be told."""
    line_start = text.rfind("\n", 0, def_start) + 1
    own = _indentation(text[line_start:def_start])
    for line in text[def_start:].splitlines()[1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = _indentation(line)
        if len(body) > len(own) and body.startswith(own):
            return body[len(own) :]
        break
    return "    "


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]
