"""One parametrised test over every fixture case: the exact set of (file, line, column, code).

Each case runs in-process through the public API and through a real `flake8` subprocess (all
cases in one run, each laid out as its own project); both must match the inline expectations
exactly, so every unannotated line is asserted clean.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from async_pitfalls_lint.analysis import analysis_for
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.runner import check_files

from cases import Case, case_findings, discover_cases

CASES = discover_cases()
FLAKE8_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>APL\d{3}) (?P<message>.*)$"
)


def _ids(case: Case) -> str:
    return case.id


def _actual(
    project: Path,
) -> tuple[set[tuple[str, int, int, str]], dict[tuple[str, int, int, str], str]]:
    settings = load_settings(project)
    found = set()
    messages = {}
    for result in check_paths([project], settings):
        for finding in result.findings:
            key = (result.path, finding.line, finding.column + 1, finding.code)
            found.add(key)
            messages[key] = finding.message
    return found, messages


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_fixture_in_process(case: Case) -> None:
    found = set()
    messages = {}
    for path, line, column, code, message, _callee in case_findings(case.id):
        found.add((path, line, column, code))
        messages[(path, line, column, code)] = message
    expected = {item.key for item in case.expected}
    assert sorted(found - expected) == [], "unexpected findings"
    assert sorted(expected - found) == [], "missing findings"
    for item in case.expected:
        if item.fragment:
            assert item.fragment in messages[item.key], f"{item.key}: {messages[item.key]!r}"


@pytest.fixture(scope="session")
def flake8_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, set[tuple[str, int, int, str]]]:
    base = tmp_path_factory.mktemp("flake8-cases")
    layout = {}
    for index, case in enumerate(CASES):
        folder = base / f"case{index:04d}"
        case.materialise(folder)
        layout[f"case{index:04d}"] = case.id
    completed = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=APL", "--jobs=2", "."],
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    results: dict[str, set[tuple[str, int, int, str]]] = {
        case_id: set() for case_id in layout.values()
    }
    for line in completed.stdout.splitlines():
        match = FLAKE8_LINE.match(line)
        assert match, f"unexpected flake8 output line: {line!r}"
        folder, _, relative = match.group("path").removeprefix("./").partition("/")
        results[layout[folder]].add(
            (relative, int(match.group("line")), int(match.group("col")), match.group("code"))
        )
    return results


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_fixture_through_flake8(
    case: Case, flake8_results: dict[str, set[tuple[str, int, int, str]]]
) -> None:
    expected = {item.key for item in case.expected}
    found = flake8_results[case.id]
    assert sorted(found - expected) == [], "unexpected findings"
    assert sorted(expected - found) == [], "missing findings"


# -- metamorphic variants of every case ---------------------------------------------------------

ANNOTATION = re.compile(r"#\s*APL\d{3}:\d+.*$")


def _rewrite_to_noqa(project: Path, case: Case) -> None:
    by_file: dict[str, dict[int, list[str]]] = {}
    for item in case.expected:
        by_file.setdefault(item.path, {}).setdefault(item.line, []).append(item.code)
    for relative, lines in by_file.items():
        path = project / relative
        source = path.read_text(encoding="utf-8").split("\n")
        for line, codes in lines.items():
            source[line - 1] = ANNOTATION.sub(
                f"# noqa: {','.join(sorted(set(codes)))}", source[line - 1]
            )
        path.write_text("\n".join(source), encoding="utf-8")


@pytest.mark.slow  # a metamorphic variant of every case: the slow suite runs it
@pytest.mark.parametrize("case", [case for case in CASES if case.expected], ids=_ids)
def test_noqa_silences_every_annotated_finding(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = case.materialise(tmp_path / "case")
    _rewrite_to_noqa(project, case)
    monkeypatch.chdir(project)
    report = check_files([project], load_settings(project))
    assert [(f.path, f.line, f.code) for f in report.findings] == []


class _Desugar(cst.CSTTransformer):
    """Every coroutine becomes a plain function: nothing is left to run on the event loop."""

    def leave_FunctionDef(
        self, _original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        return updated.with_changes(asynchronous=None)

    def leave_Await(self, _original: cst.Await, updated: cst.Await) -> cst.BaseExpression:
        return updated.expression.with_changes(lpar=updated.lpar, rpar=updated.rpar)

    def leave_For(self, _original: cst.For, updated: cst.For) -> cst.For:
        return updated.with_changes(asynchronous=None)

    def leave_With(self, _original: cst.With, updated: cst.With) -> cst.With:
        return updated.with_changes(asynchronous=None)

    def leave_CompFor(self, _original: cst.CompFor, updated: cst.CompFor) -> cst.CompFor:
        return updated.with_changes(asynchronous=None)


@pytest.mark.slow  # a metamorphic variant of every case: the slow suite runs it
@pytest.mark.parametrize("case", [case for case in CASES if case.expected], ids=_ids)
def test_without_coroutines_only_startup_handlers_block_the_loop(
    case: Case, tmp_path: Path
) -> None:
    """FastAPI runs plain `def` handlers in its threadpool; Starlette still runs sync
    startup/shutdown handlers on the loop, and python-socketio's AsyncServer sync event handlers,
    so only findings inside those may remain."""
    project = case.materialise(tmp_path / "case")
    for path in project.rglob("*.py"):
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        path.write_text(module.visit(_Desugar()).code, encoding="utf-8")
    settings = load_settings(project)
    for result in check_paths([project], settings):
        for finding in result.findings:
            assert finding.code != "APL900", finding.message
            analysis = analysis_for(project / result.path, settings)
            reason = analysis.index.reason_for(
                str((project / result.path).resolve()), finding.function
            )
            where = f"{result.path}:{finding.line} {finding.code} {finding.message}"
            assert reason is not None, where
            assert reason.handler.kind in ("event_handler", "socketio"), where
