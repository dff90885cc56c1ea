"""The automatic fixes: fixture outputs, the guarantees, the `fix` command, a bounded fuzz run.

A fixture `tests/fixtures/<group>/<case>.py` may have siblings `<case>.fixed.py` (the expected
output of `fix`) and `<case>.unsafe.py` (of `fix --unsafe-fixes`). Each is checked exactly,
re-linted (no finding with a fix of the applied kind is left, and nothing new appears) and fixed
again, which must change nothing. Inline annotations say what each finding offers:
`# APL101:5 fix=safe`, `fix=unsafe`, or `no-fix="fragment of the reason"`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.fixes.apply import (
    fix_paths,
)
from async_pitfalls_lint.model import Finding

from cases import OUTPUT_SUFFIXES, Case, discover_cases, is_output_file

CASES = discover_cases()
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"
MODES = {".fixed.py": False, ".unsafe.py": True}
FIX_NOTE = re.compile(r'\b(?:fix=(safe|unsafe)|no-fix="([^"]*)")')
ITEM = re.compile(r"\b(APL\d{3}):(\d+)")


# -- helpers ---------------------------------------------------------------------------------------
def _outputs(case: Case, suffix: str) -> dict[str, Path]:
    """The case's modules (relative paths) that have an expected output with `suffix`."""
    found = {}
    for case_file in case.files:
        source = case.source / case_file.relative if case.source.is_dir() else case.source
        expected = source.with_name(source.name.removesuffix(".py") + suffix)
        if expected.exists():
            found[case_file.relative] = expected
    return found


def _materialise(case: Case, target: Path) -> Path:
    project = case.materialise(target)
    for path in list(project.rglob("*.py")):
        if is_output_file(path):
            path.unlink()
    return project


def _findings(project: Path) -> list[tuple[str, Finding]]:
    reset_analyses()
    settings = load_settings(project)
    found = [
        (result.path, finding)
        for result in check_paths([project], settings)
        for finding in result.findings
    ]
    reset_analyses()
    return found


def _key(item: tuple[str, Finding]) -> tuple[str, str, str, str]:
    path, finding = item
    return (os.path.relpath(path), finding.code, finding.callee, finding.function)


def _applies(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def _snapshot(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*.py"))
    }


def _assert_parses_and_compiles(text: str, name: str) -> None:
    cst.parse_module(text)
    compile(text, name, "exec", dont_inherit=True)


FIX_RUNS = [
    pytest.param(case, suffix, id=f"{case.id}{suffix.removesuffix('.py')}")
    for case in CASES
    for suffix in OUTPUT_SUFFIXES
    if _outputs(case, suffix)
]


# -- fixtures with expected outputs ---------------------------------------------------------------
def test_fix_fixtures_exist() -> None:
    assert len(FIX_RUNS) >= 8
    groups = {param.values[0].id.split("/")[0] for param in FIX_RUNS}  # type: ignore[union-attr]
    assert "fixes" in groups


@pytest.mark.parametrize(("case", "suffix"), FIX_RUNS)
def test_fix_output_matches_and_is_stable(
    case: Case, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsafe = MODES[suffix]
    project = _materialise(case, tmp_path / "case")
    monkeypatch.chdir(project)
    before = _findings(project)
    settings = load_settings(project)

    run = fix_paths([project], settings, unsafe=unsafe)
    assert run.errors == []
    assert run.refused == []
    for relative, expected in _outputs(case, suffix).items():
        actual = (project / relative).read_bytes()
        assert actual.decode("utf-8") == expected.read_text(encoding="utf-8"), relative
        _assert_parses_and_compiles(actual.decode("utf-8"), relative)

    # Re-linted: no fix of the applied kind is left, nothing new appears, the fixed ones are gone.
    after = _findings(project)
    assert [f for _, f in after if _applies(f, unsafe)] == []
    fixed = Counter(_key(item) for item in before if _applies(item[1], unsafe))
    left = Counter(_key(item) for item in after)
    assert left - Counter(_key(item) for item in before) == Counter(), "new findings"
    for key, count in fixed.items():
        assert left[key] <= Counter(_key(item) for item in before)[key] - count, key

    # Fixing again changes nothing.
    snapshot = _snapshot(project)
    reset_analyses()
    again = fix_paths([project], settings, unsafe=unsafe)
    assert again.changed == []
    assert _snapshot(project) == snapshot


FIX_NOTED = [case for case in CASES if case.id.startswith("fixes/")]


@pytest.mark.parametrize("case", FIX_NOTED, ids=lambda case: case.id)
def test_fix_annotations(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fix=safe`, `fix=unsafe` and `no-fix="reason"` after an expectation say what the finding
    offers; every finding of a fixes/ case is annotated."""
    project = _materialise(case, tmp_path / "case")
    monkeypatch.chdir(project)
    notes: dict[tuple[str, int, int, str], tuple[str, str]] = {}
    for case_file in case.files:
        source = case.source / case_file.relative if case.source.is_dir() else case.source
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            comment = line.partition("#")[2]
            items = ITEM.findall(comment)
            note = FIX_NOTE.search(comment)
            if items:
                assert note is not None, f"{case_file.relative}:{number} needs a fix note"
                for code, column in items:
                    notes[(case_file.relative, number, int(column), code)] = note.groups("")
    found = {(path, f.line, f.column + 1, f.code): f for path, f in _findings(project)}
    assert set(found) == set(notes)
    for key, (kind, reason) in notes.items():
        finding = found[key]
        if kind:
            assert finding.fix is not None, (key, finding.fix_unavailable)
            assert finding.fix.safe == (kind == "safe"), key
            assert finding.fix.edits, key
            assert finding.fix_unavailable == ""
        else:
            assert finding.fix is None, key
            assert reason in finding.fix_unavailable, (key, finding.fix_unavailable)
