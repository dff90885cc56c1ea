"""Applying fixes: `async-pitfalls-lint fix`.

Each round checks the files, takes the fixes of the findings that have one (safe fixes, plus
unsafe ones with `unsafe`), and applies their edits to the text:

- fixes are taken in finding order; a fix whose edits overlap an edit already taken waits for
  the next round (identical edits, such as the same `import asyncio`, are shared);
- the result must parse with libcst and, when the original compiled, compile: a fix that breaks
  either is refused (left out and reported) and the others are kept;
- module-level imports whose last use the applied fixes replaced are removed (fixes/cleanup.py);
- the new text is re-analysed by a fresh analysis of the project that reads it through
  `Project.set_content`, until no fixable finding remains or `max_rounds` is reached.

Files are written only when their bytes change, in their own encoding, byte-order mark and
newline style (the text is never re-encoded line by line: edits are spliced into it).
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.cache import content_key
from async_pitfalls_lint.config import Settings
from async_pitfalls_lint.files import iter_python_files
from async_pitfalls_lint.fixes.cleanup import drop_unused_imports
from async_pitfalls_lint.model import Edit, FileResult, Finding, Fix
from async_pitfalls_lint.project import project_root_for
from async_pitfalls_lint.report import Report
from async_pitfalls_lint.runner import check_one, warm
from async_pitfalls_lint.source import (
    SourceProblem,
    decode_source,
    parse_module,
    run_with_big_stack,
)

MAX_ROUNDS = 4
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


# -- edits ---------------------------------------------------------------------------------------
def _overlap(first: Edit, second: Edit) -> bool:
    """Whether two edits touch the same text (inserts at one point conflict: which goes first?)."""
    if first == second:
        return False  # the same edit from two fixes (an import): applied once
    if first.start == first.end and second.start == second.end:
        return first.start == second.start
    if first.start == first.end:
        return second.start < first.start < second.end
    if second.start == second.end:
        return first.start < second.start < first.end
    return first.start < second.end and second.start < first.end


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Splice non-overlapping edits (character offsets into `text`) into the text."""
    pieces = []
    position = 0
    for edit in sorted(set(edits), key=lambda edit: (edit.start, edit.end)):
        if edit.start < position:
            raise ValueError(f"overlapping edit at offset {edit.start}")
        pieces.append(text[position : edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


def compatible(fixes: Sequence[Fix]) -> tuple[list[int], list[int]]:
    """Indices of the fixes to apply together (in order, none overlapping an earlier one) and of
    those left for the next round."""
    taken: list[Edit] = []
    chosen: list[int] = []
    deferred: list[int] = []
    for index, fix in enumerate(fixes):
        if any(_overlap(edit, other) for edit in fix.edits for other in taken):
            deferred.append(index)
            continue
        chosen.append(index)
        taken.extend(fix.edits)
    return chosen, deferred


def compiles(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<fixed>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            return False
    return True


def text_problem(text: str, must_compile: bool) -> str | None:
    """Why the fixed text is not acceptable (it does not parse or compile), or None."""
    try:
        run_with_big_stack(lambda: parse_module(text))
    except SourceProblem as problem:
        return str(problem)
    if must_compile and not compiles(text):
        return "the fixed code does not compile"
    return None


@dataclass
class Applied:
    """What one round did to one file's text."""

    text: str
    fixed: list[Finding] = field(default_factory=list)
    deferred: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)


def apply_fixes(text: str, findings: Sequence[Finding], must_compile: bool) -> Applied:
    """Apply the fixes of `findings` (each has one) to `text`, keeping only what parses."""
    fixes = [finding.fix for finding in findings if finding.fix is not None]
    chosen, deferred = compatible(fixes)
    result = Applied(text, deferred=[findings[index] for index in deferred])
    edits = [edit for index in chosen for edit in fixes[index].edits]
    fixed_text = apply_edits(text, edits)
    if text_problem(fixed_text, must_compile) is None:
        result.text = _tidy(text, fixed_text, edits, must_compile)
        result.fixed = [findings[index] for index in chosen]
        return result
    # Something broke the file: add the fixes one at a time and refuse those that break it.
    kept: list[Edit] = []
    current = text
    for index in chosen:
        candidate = apply_edits(text, [*kept, *fixes[index].edits])
        problem = text_problem(candidate, must_compile)
        if problem is None:
            kept.extend(fixes[index].edits)
            current = candidate
            result.fixed.append(findings[index])
        else:
            result.refused.append((findings[index], problem))
    result.text = _tidy(text, current, kept, must_compile)
    return result


def _tidy(before: str, after: str, edits: Sequence[Edit], must_compile: bool) -> str:
    """The fixed text without the imports the fixes left unused (when that still parses)."""
    tidied = drop_unused_imports(before, after, edits)
    if tidied != after and text_problem(tidied, must_compile) is not None:
        return after
    return tidied


# -- files ---------------------------------------------------------------------------------------
@dataclass
class FileFix:
    """One file's original text and its fixed text."""

    path: str  # absolute
    display: str
    original: bytes
    encoding: str
    before: str
    after: str
    must_compile: bool
    fixed: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)
    refused_keys: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def read(cls, path: str, display: str, data: bytes, max_bytes: int) -> FileFix:
        source = decode_source(data, max_bytes)
        return cls(
            path,
            display,
            data,
            source.encoding,
            source.text,
            source.text,
            compiles(source.text),
        )

    def encode(self, text: str) -> bytes:
        bom = self.original.startswith(codecs.BOM_UTF8)
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        data = text.encode(encoding)
        return codecs.BOM_UTF8 + data if bom else data

    @property
    def data(self) -> bytes:
        return self.encode(self.after)

    @property
    def changed(self) -> bool:
        return self.data != self.original

    def diff(self) -> str:
        lines = difflib.unified_diff(
            _lines(self.before),
            _lines(self.after),
            fromfile=f"a/{self.display}",
            tofile=f"b/{self.display}",
        )
        out = []
        for line in lines:
            if line.endswith(("\n", "\r")):
                out.append(line)
            else:
                out.append(line + "\n\\ No newline at end of file\n")
        return "".join(out)


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


@dataclass
class FixRun:
    """Everything `fix` did: the files it changed and the findings left after the last round."""

    report: Report = field(default_factory=Report)
    files: list[FileFix] = field(default_factory=list)  # files with fixes, in order
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [file for file in self.files if file.changed]

    @property
    def fixed(self) -> list[Finding]:
        return [finding for file in self.changed for finding in file.fixed]

    @property
    def refused(self) -> list[tuple[Finding, str]]:
        return [item for file in self.files for item in file.refused]

    @property
    def remaining(self) -> list[Finding]:
        return self.report.findings

    def diff(self) -> str:
        return "".join(file.diff() for file in self.changed)


def fix_paths(
    paths: Iterable[Path],
    settings: Settings,
    unsafe: bool = False,
    jobs: int = 1,
    write: bool = True,
    max_rounds: int = MAX_ROUNDS,
) -> FixRun:
    """Fix every Python file under `paths`; write the changed ones unless `write` is False."""
    run = FixRun()
    groups: dict[str, list[Path]] = {}
    for file in iter_python_files(paths, settings.exclude):
        root = os.path.abspath(project_root_for(file, settings))
        groups.setdefault(root, []).append(file)
    for root, files in groups.items():
        _fix_project(run, Path(root), files, settings, unsafe, jobs, max_rounds)
    if write:
        for fixed in run.changed:
            try:
                with open(fixed.path, "wb") as handle:
                    handle.write(fixed.data)
            except OSError as error:
                run.errors.append(f"{fixed.display}: cannot write: {error.strerror or error}")
    return run


def _fix_project(
    run: FixRun,
    root: Path,
    files: list[Path],
    settings: Settings,
    unsafe: bool,
    jobs: int,
    max_rounds: int,
) -> None:
    analysis = Analysis(root, settings)
    warm(analysis, files, jobs)
    state: dict[str, FileFix] = {}
    results: dict[str, FileResult] = {}
    pending = files
    for round_number in range(max_rounds + 1):
        changed: list[str] = []
        for file in pending:
            key = os.path.abspath(file)
            result = check_one(analysis, file)
            results[key] = result
            if round_number == max_rounds:
                continue
            if _fix_file(run, analysis, key, result, state, unsafe, settings.max_file_size):
                changed.append(key)
        if not changed:
            break
        pending = [file for file in files if os.path.abspath(file) in changed]
        analysis = _next_analysis(analysis, root, settings, state, changed)
    run.report.results.extend(results[os.path.abspath(file)] for file in files)
    run.files.extend(
        state[os.path.abspath(file)] for file in files if os.path.abspath(file) in state
    )


def _fix_file(
    run: FixRun,
    analysis: Analysis,
    key: str,
    result: FileResult,
    state: dict[str, FileFix],
    unsafe: bool,
    max_bytes: int,
) -> bool:
    """Apply one round of fixes to a file; whether its text changed."""
    known = state.get(key)
    chosen = [
        finding
        for finding in result.findings
        if finding.fix is not None
        and (finding.fix.safe or unsafe)
        and (known is None or (finding.code, finding.message) not in known.refused_keys)
    ]
    if not chosen:
        return False
    if known is None:
        data = analysis.project.read_bytes(key)
        if data is None:
            return False
        try:
            known = FileFix.read(key, result.path, data, max_bytes)
        except SourceProblem:
            return False
        state[key] = known
    applied = apply_fixes(known.after, chosen, known.must_compile)
    for finding, problem in applied.refused:
        known.refused.append((finding, problem))
        known.refused_keys.add((finding.code, finding.message))
    if applied.text == known.after:
        return False
    try:
        known.encode(applied.text)
    except UnicodeEncodeError as error:
        run.errors.append(f"{known.display}: the fixed text cannot be encoded: {error}")
        return False
    known.after = applied.text
    known.fixed.extend(applied.fixed)
    return True


def _next_analysis(
    previous: Analysis,
    root: Path,
    settings: Settings,
    state: dict[str, FileFix],
    changed: list[str],
) -> Analysis:
    """A fresh analysis of the project that sees every fixed text; the facts of files that did
    not change this round are reused."""
    analysis = Analysis(root, settings)
    project = analysis.project
    for key, file in state.items():
        if file.after != file.before:
            project.set_content(key, file.encode(file.after))
    old = previous.project
    stale = set(changed)
    for path in old.python_files():
        if path in stale or not old.is_loaded(path):
            continue
        data = old.read_bytes(path)
        if data is not None:
            project.preload(path, content_key(data), old.summary_for(path))
    return analysis
