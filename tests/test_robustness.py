"""Bad and unusual input (issue 7): one clear diagnostic, everything else still checked.

One project tree holds every case next to each other (scope "all", no cache). It is checked once
by the CLI (serially and with a worker pool), once by a real `flake8` and once in-process, and
every case is then asserted on its own:

- genuinely bad input (syntax errors, undecodable bytes, NUL bytes, unknown or wrong coding
  cookies, unreadable files, nesting Python itself refuses) gets exactly one diagnostic: APL900
  at 1:1 naming the problem (CLI, API, and flake8 when flake8's own parser accepts the file) or
  flake8's own E999/E902 when flake8 cannot parse or read the file (the plugin is never called);
- valid but unusual input (BOM, CRLF, lone CR, form feeds, tabs, empty files, stubs, long lines,
  big files, deep but legal nesting, Python 3.12/3.13 syntax, directories named `x.py`, symlink
  loops) is analysed normally: exactly the expected findings, at the right line and column.

Because all cases share one run, every case is also "another file in the run" for every other:
one bad file hiding the rest would fail the valid cases. Nothing may be written to the tree.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings

from clirun import run_cli, run_flake8_in_process
from fuzzing import parse_report, run_flake8, run_tool, write_project

SCOPE_ALL = 'cache = false\nscope = "all"\n'
PY312 = sys.version_info >= (3, 12)
PY313 = sys.version_info >= (3, 13)
PY314 = sys.version_info >= (3, 14)
FLAKE8_OWN = ("E999", "E902")  # flake8's own "cannot parse" and "cannot read" codes


def _sleeper() -> str:
    """A module whose only finding (with scope "all") is `time.sleep(1)` at line 5, column 5."""
    return "import time\n\n\nasync def f():\n    time.sleep(1)\n"


@dataclass(frozen=True)
class Case:
    """One file (or special entry) of the tree and what every tool must say about it.

    `problem`: a fragment of the APL900 message when the file is bad, else None.
    `findings`: the expected (line, 1-based column, code) when the file is valid.
    `flake8`: None when flake8 must agree with the CLI (findings, or APL900); else the one code
    flake8 itself reports (E999, E902) because the plugin never sees the file.
    """

    name: str
    content: bytes | None
    problem: str | None = None
    findings: tuple[tuple[int, int, str], ...] = ()
    flake8: str | None = None
    in_flake8_run: bool = True  # False: flake8 itself crashes or hangs on it (see below)


def _deep(prefix: str, middle: str, suffix: str) -> bytes:
    return (prefix + middle + suffix).encode("utf-8")


def _elif_chain(count: int, body: str) -> str:
    lines = ["import time", "", "", "async def f(x):", "    if x == 0:", "        pass"]
    lines += [f"    elif x == {index}:\n        pass" for index in range(1, count)]
    lines += ["    else:", f"        {body}", "    time.sleep(2)", ""]
    return "\n".join(lines)


def _plus_chain(count: int) -> str:
    terms = " + ".join(f"a{index}" for index in range(count))
    return f"import time\n\n\nasync def f():\n    y = {terms}\n    time.sleep(1)\n"


def _ast_crashes(data: bytes) -> bool:
    """Whether the interpreter's parser dies with RecursionError/MemoryError (flake8 then
    crashes itself, before any plugin runs)."""
    try:
        ast.parse(data)
    except (RecursionError, MemoryError):
        return True
    except (SyntaxError, ValueError):
        return False
    return False


def _libcst_rejects(text: str) -> bool:
    try:
        cst.parse_module(text)
    except Exception:
        return True
    return False


# libcst raises TypeError on this valid expression (Instagram/LibCST#1061); should a later libcst
# accept it, the file is valid and its finding must be reported instead.
LIBCST_ONLY_BAD = (
    "import time\n\nx = () if 0 else(lambda:())\n\n\nasync def f():\n    time.sleep(1)\n"
)
LIBCST_BUG = _libcst_rejects(LIBCST_ONLY_BAD)
assert ast.parse(LIBCST_ONLY_BAD)

PY312_SOURCE = """\
import time

type Pair[T] = tuple[T, T]


def first[T](items: list[T]) -> T:
    return items[0]


class Box[T: int]:
    async def get(self) -> None:
        time.sleep(1)


async def f():
    label = f"{"quoted"} {'\\n'.join(["a", "b"])}"
    x = f"{time.sleep(2)!r:>{"10"}}"
"""
# PEP 758 (Python 3.14): several exception types without parentheses.
PY314_SOURCE = """\
import time


async def f():
    try:
        time.sleep(1)
    except ValueError, KeyError:
        time.sleep(2)
"""
PY313_SOURCE = """\
import time


def first[T = int](items: list[T]) -> T:
    return items[0]


class Box[*Ts = *tuple[int]]:
    pass


async def f():
    time.sleep(1)
"""

LONG = 100_000
ELIF_OK = _elif_chain(500, "time.sleep(1)")
PLUS_OK = _plus_chain(1_000)
NESTED_DEFS = "".join("    " * depth + f"def f{depth}():\n" for depth in range(90))
NESTED_DEFS += "    " * 90 + "async def inner():\n" + "    " * 91 + "time.sleep(1)\n"

CASES = [
    # -- genuinely bad: one APL900 (or flake8's own E999/E902) ----------------------------------
    Case(
        "syntax_error.py",
        b"import time\n\nasync def f(:\n    time.sleep(1)\n",
        problem="syntax error at line 3",
        flake8="E999",
    ),
    Case(
        "py2_print.py",
        b"import time\n\nasync def f():\n    print 'x'\n    time.sleep(1)\n",
        problem="Missing parentheses in call to 'print'",
        flake8="E999",
    ),
    Case(
        "interpreter_rejects.py",
        b"import time\n\nx = b'\xc3\xa9'\n\n\nasync def f():\n    time.sleep(1)\n",
        problem="bytes can only contain ASCII literal characters",
        flake8="E999",
    ),
    Case("libcst_rejects.py", LIBCST_ONLY_BAD.encode(), problem="parser failed")
    if LIBCST_BUG
    else Case("libcst_rejects.py", LIBCST_ONLY_BAD.encode(), findings=((7, 5, "APL101"),)),
    Case(
        "not_utf8_first_line.py",
        b'x = "\xff"\n' + _sleeper().encode(),
        problem="not valid UTF-8 (byte 0xff on line 1)",
    ),
    Case(
        "not_utf8_later.py",
        _sleeper().encode() + b"# caf\xe9\n",
        problem="not valid UTF-8 (byte 0xe9 on line 6)",
    ),
    Case(
        "unknown_cookie.py",
        b"# -*- coding: klingon -*-\n" + _sleeper().encode(),
        problem="unknown encoding: klingon",
    ),
    Case(
        "wrong_cookie.py",
        (
            b"# coding: ascii\nimport time\n\n\nasync def f():\n    x = '\xc3\xa9'\n"
            b"    time.sleep(1)\n"
        ),
        problem="line 6 cannot be decoded as ascii",
    ),
    Case(
        "bom_and_latin1_cookie.py",
        b"\xef\xbb\xbf# coding: latin-1\n" + _sleeper().encode(),
        problem="encoding problem: utf-8",
    ),
    Case(
        "nul_bytes.py",
        b"import time\n\nasync def f():\n    time.sleep(1)\x00\n",
        problem="NUL bytes",
        flake8="E999",
    ),
    Case(
        "tabs_inconsistent.py",
        b"import time\n\n\nasync def f():\n        x = 1\n\ttime.sleep(1)\n",
        problem="inconsistent use of tabs",
        flake8="E999",
    ),
    Case(
        "too_many_indents.py",
        (
            "import time\n"
            + "".join("    " * depth + "if time:\n" for depth in range(101))
            + "    " * 101
            + "pass\n"
        ).encode(),
        problem="too many levels of indentation",
        flake8="E999",
    ),
    Case(
        "too_deep_parens.py",
        _deep(
            "import time\n\nx = ",
            "(" * 5_000 + "1" + ")" * 5_000,
            "\n\n\nasync def f():\n    time.sleep(1)\n",
        ),
        problem="too many nested parentheses",
        flake8="E999",
    ),
    Case(
        "too_deep_plus.py", _plus_chain(20_000).encode(), problem="nesting too deep for the parser"
    ),
    Case(
        "too_deep_elif.py",
        _elif_chain(5_000, "pass").encode(),
        problem="nesting too deep for the parser",
    ),
    Case("dangling.py", None, problem="cannot read file: No such file or directory", flake8="E902"),
    Case(
        "self_loop.py",
        None,
        problem="cannot read file: Too many levels of symbolic links",
        flake8="E902",
    ),
    # -- valid but unusual: analysed normally ------------------------------------------------------
    Case("empty.py", b""),
    Case("blank.py", b"\n\n   \n\t\n"),
    Case("comment_only_no_newline.py", b"# nothing here"),
    Case("no_final_newline.py", _sleeper().rstrip("\n").encode(), findings=((5, 5, "APL101"),)),
    Case("bom.py", b'\xef\xbb\xbfasync def f(): return open("x")\n', findings=((1, 23, "APL103"),)),
    Case("bom_sleeper.py", b"\xef\xbb\xbf" + _sleeper().encode(), findings=((5, 5, "APL101"),)),
    Case(
        "crlf.py",
        b"import time\r\n\r\n\r\nasync def f():\r\n    x = 1; time.sleep(1)\r\n",
        findings=((5, 12, "APL101"),),
    ),
    Case(
        "lone_cr.py",
        b"import time\r\r\rasync def f():\r    x = 1; time.sleep(1)\r",
        findings=((5, 12, "APL101"),),
    ),
    Case(
        "mixed_newlines.py",
        b"import time\n\r\n\rasync def f():\r\n    time.sleep(1)\n    x = 2; time.sleep(2)\r",
        findings=((5, 5, "APL101"), (6, 12, "APL101")),
    ),
    Case(
        "form_feed.py",
        (
            b"import time\n\x0c\n\nasync def f():\n    time.sleep(1)\n\x0c\n"
            b"async def g():\n\x0c    x = 1; time.sleep(2)\n"
        ),
        findings=((5, 5, "APL101"), (8, 13, "APL101")),
    ),
    Case(
        "tabs.py",
        (
            b"import time\n\n\nasync def f():\n\ttime.sleep(1)\n"
            b"\tx = 1;\ttime.sleep(2)\n\n\nasync def g():\n"
            b"        x = 1; time.sleep(3)\n"
        ),
        findings=((5, 2, "APL101"), (6, 9, "APL101"), (10, 16, "APL101")),
    ),
    Case(
        "unicode.py",
        'import time\n\n\nasync def f():\n    été = "😀"; time.sleep(1)\n'.encode(),
        findings=((5, 16, "APL101"),),
    ),
    Case(
        "latin1_cookie.py",
        (
            b"# -*- coding: latin-1 -*-\nimport time\n\n\nasync def f():\n"
            b'    x = "\xe9\xe9"; time.sleep(1)\n'
        ),
        findings=((6, 15, "APL101"),),
    ),
    Case(
        "long_line.py",
        ('import time\n\n\nasync def f():\n    x = "' + "a" * LONG + '"; time.sleep(1)\n').encode(),
        findings=((5, 4 + 5 + LONG + 3 + 1, "APL101"),),
    ),
    Case(
        "long_file.py",
        (
            "import time\n"
            + "".join(f"v{index} = {index}\n" for index in range(5_000))
            + "\n\nasync def f():\n    time.sleep(1)\n"
        ).encode(),
        findings=((5_005, 5, "APL101"),),
    ),
    Case("deep_elif_ok.py", ELIF_OK.encode(), findings=((1006, 9, "APL101"), (1007, 5, "APL101"))),
    Case("deep_plus_ok.py", PLUS_OK.encode(), findings=((6, 5, "APL101"),)),
    Case(
        "deep_parens_ok.py",
        (
            "import time\n\n\nasync def f():\n    x = "
            + "(" * 150
            + "time.sleep(1)"
            + ")" * 150
            + "\n"
        ).encode(),
        findings=((5, 9 + 150, "APL101"),),
    ),
    Case(
        "nested_defs_ok.py",
        ("import time\n" + NESTED_DEFS).encode(),
        findings=((93, 4 * 91 + 1, "APL101"),),
    ),
    Case(
        "py312_syntax.py",
        PY312_SOURCE.encode(),
        findings=((12, 9, "APL101"), (17, 12, "APL101")),
        flake8=None if PY312 else "E999",
    ),
    Case(
        "py313_syntax.py",
        PY313_SOURCE.encode(),
        findings=((13, 5, "APL101"),),
        flake8=None if PY313 else "E999",
    ),
    Case(
        "py314_syntax.py",
        PY314_SOURCE.encode(),
        findings=((6, 9, "APL101"), (8, 9, "APL101")),
        flake8=None if PY314 else "E999",
    ),
    Case(
        "stub.pyi",
        b"import time\n\nasync def f():\n    time.sleep(1)\n\ndef g(x: int) -> int: ...\n",
        findings=((4, 5, "APL101"),),
    ),
    Case("dir.py/inner.py", _sleeper().encode(), findings=((5, 5, "APL101"),)),
    Case(
        "imports_broken.py",
        (
            b"import time\n\nfrom syntax_error import f as broken\n\n\n"
            b"async def g():\n    broken()\n    time.sleep(1)\n"
        ),
        findings=((8, 5, "APL101"),),
    ),
    Case("pkg/__init__.py", b""),
    Case("pkg/mod.py", _sleeper().encode(), findings=((5, 5, "APL101"),)),
]
CASES = [
    case
    if case.content is None or not _ast_crashes(case.content)
    else Case(
        case.name, case.content, case.problem, case.findings, case.flake8, in_flake8_run=False
    )
    for case in CASES
]
BAD = [case for case in CASES if case.problem is not None]
GOOD = [case for case in CASES if case.problem is None]
BY_NAME = {case.name: case for case in CASES}


def _build(root: Path) -> Path:
    write_project(
        root, {case.name: case.content for case in CASES if case.content is not None}, SCOPE_ALL
    )
    (root / "dangling.py").symlink_to("missing-target.py")
    (root / "self_loop.py").symlink_to("self_loop.py")
    (root / "pkg" / "back").symlink_to("..", target_is_directory=True)  # a symlink loop
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo.py")  # never read: reading a FIFO would block forever
    return root


def _snapshot(root: Path) -> dict[str, tuple[bytes, int] | str]:
    """Every entry under root (without following symlinks) with its bytes and mtime."""
    entries: dict[str, tuple[bytes, int] | str] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder, name)
            info = path.lstat()
            relative = path.relative_to(root).as_posix()
            if stat.S_ISREG(info.st_mode):
                entries[relative] = (path.read_bytes(), info.st_mtime_ns)
            else:
                entries[relative] = stat.filemode(info.st_mode)
    return entries


@dataclass
class Runs:
    root: Path
    cli: Any
    flake8: Any
    api: dict[str, list[tuple[int, int, str, str]]]
    before: dict[str, tuple[bytes, int] | str]
    after: dict[str, tuple[bytes, int] | str]


def _by_file(stdout: str) -> dict[str, list[tuple[int, int, str, str]]]:
    results: dict[str, list[tuple[int, int, str, str]]] = {}
    for (path, line, column, code), message in parse_report(stdout):
        results.setdefault(path, []).append((line, column, code, message))
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = _build(tmp_path_factory.mktemp("robustness") / "tree")
    before = _snapshot(root)
    cli = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    excluded = ["fifo.py", *(case.name for case in CASES if not case.in_flake8_run)]
    flake8 = run_flake8(
        [
            "--select=APL,E9",
            "--jobs=2",
            "--filename=*.py,*.pyi",
            f"--exclude={','.join(excluded)}",
            ".",
        ],
        root,
    )
    api: dict[str, list[tuple[int, int, str, str]]] = {}
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for result in check_paths(["."], load_settings(root)):
            for finding in result.findings:
                api.setdefault(result.path, []).append(
                    (finding.line, finding.column + 1, finding.code, finding.message)
                )
    finally:
        os.chdir(cwd)
    return Runs(root, cli, flake8, api, before, _snapshot(root))


def _assert_one_problem(reports: list[tuple[int, int, str, str]], case: Case) -> None:
    assert [(line, column, code) for line, column, code, _ in reports] == [(1, 1, "APL900")], (
        reports
    )
    message = reports[0][3]
    assert message.startswith("could not analyse this file: "), message
    assert case.problem is not None
    assert case.problem in message, message


def _keys(reports: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str]]:
    return [(line, column, code) for line, column, code, _ in reports]


def _ids(case: Case) -> str:
    return case.name


# -- the CLI --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_cli(case: Case, runs: Runs) -> None:
    reports = _by_file(runs.cli.stdout).get(case.name, [])
    if case.problem is not None:
        _assert_one_problem(reports, case)
    else:
        assert [(line, column, code) for line, column, code, _ in reports] == list(case.findings)


def test_cli_run_is_clean_and_counts_every_problem(runs: Runs) -> None:
    assert "Traceback" not in runs.cli.stderr
    assert "internal error" not in runs.cli.stdout + runs.cli.stderr
    checked = len(CASES)  # one checked file per case; fifo.py is skipped, never read
    findings = len(BAD) + sum(len(case.findings) for case in GOOD)
    summary = runs.cli.stderr.strip().splitlines()[-1]
    assert re.match(
        rf"async-pitfalls-lint: {checked} files checked, {findings} findings, "
        rf"\d+ fix(es)? available, "
        rf"{len(BAD)} files could not be analysed$",
        summary,
    ), summary
    assert runs.cli.returncode == 1  # findings in other files set 1
    assert set(_by_file(runs.cli.stdout)) == {
        case.name for case in CASES if case.problem or case.findings
    }


@pytest.mark.slow
def test_cli_parallel_run_is_identical(runs: Runs) -> None:
    parallel = run_tool(["async_pitfalls_lint", "check", "--jobs", "2", "."], runs.root)
    assert parallel.returncode == runs.cli.returncode
    assert parallel.stdout == runs.cli.stdout
    assert parallel.stderr.splitlines()[-1] == runs.cli.stderr.splitlines()[-1]


def test_symlink_loop_and_directory_named_py(runs: Runs) -> None:
    """The walk follows pkg/back -> .. once (no file twice), and dir.py/ is a folder."""
    paths = list(_by_file(runs.cli.stdout))
    assert not [path for path in paths if "back/" in path]
    assert "dir.py" not in paths
    assert "fifo.py" not in runs.cli.stdout


# -- in-process API -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_api(case: Case, runs: Runs) -> None:
    reports = runs.api.get(case.name, [])
    if case.problem is not None:
        _assert_one_problem(reports, case)
    else:
        assert [(line, column, code) for line, column, code, _ in reports] == list(case.findings)


# -- flake8 ---------------------------------------------------------------------------------------
def test_flake8_run_has_no_plugin_failure(runs: Runs) -> None:
    assert runs.flake8.returncode == 1, runs.flake8.stderr
    assert "Traceback" not in runs.flake8.stderr, runs.flake8.stderr
    assert "internal error" not in runs.flake8.stdout


@pytest.mark.parametrize("case", [case for case in CASES if case.in_flake8_run], ids=_ids)
def test_flake8(case: Case, runs: Runs) -> None:
    reports = _by_file(runs.flake8.stdout).get(case.name, [])
    if case.flake8 is not None:
        # flake8 could not parse or read the file: its own single diagnostic, no plugin report.
        assert [code for _, _, code, _ in reports] == [case.flake8], reports
    elif case.problem is not None:
        _assert_one_problem(reports, case)
    else:
        assert [(line, column, code) for line, column, code, _ in reports] == list(case.findings)


@pytest.mark.parametrize("case", [case for case in CASES if not case.in_flake8_run], ids=_ids)
def test_flake8_itself_fails_on_nesting_the_interpreter_cannot_parse(
    case: Case, runs: Runs
) -> None:
    """flake8 builds its own AST before any plugin runs; on these files the interpreter's parser
    raises RecursionError and flake8 itself stops (an upstream limitation). The plugin is never
    reached, so it cannot be the cause: the traceback must not pass through it."""
    completed = run_flake8(["--select=APL,E9", case.name], runs.root)
    if "Traceback" not in completed.stderr:  # a flake8 or Python that reports it: one E999
        assert [code for (_, _, _, code), _ in parse_report(completed.stdout)] == ["E999"]
        return
    assert "RecursionError" in completed.stderr or "MemoryError" in completed.stderr
    assert "flake8/processor.py" in completed.stderr  # flake8's own ast.parse
    assert "async_pitfalls_lint" not in completed.stderr


# -- nothing written ------------------------------------------------------------------------------
def test_no_run_writes_anything(runs: Runs) -> None:
    assert runs.after == runs.before


# -- unreadable files -----------------------------------------------------------------------------
def _deny(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    real_open: Callable[..., Any] = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) == str(denied):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)


def test_permission_denied_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "p", {"secret.py": _sleeper(), "app.py": _sleeper()}, SCOPE_ALL)
    _deny(monkeypatch, root / "secret.py")
    monkeypatch.chdir(root)
    results = {result.path: result for result in check_paths(["."], load_settings(root))}
    assert [(f.line, f.column, f.code) for f in results["secret.py"].findings] == [(1, 0, "APL900")]
    assert "cannot read file: Permission denied" in results["secret.py"].findings[0].message
    assert [(f.line, f.column, f.code) for f in results["app.py"].findings] == [(5, 4, "APL101")]


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode"
)
def test_permission_denied_cli_and_flake8(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"secret.py": _sleeper(), "app.py": _sleeper()}, SCOPE_ALL)
    (root / "secret.py").chmod(0)
    try:
        cli = run_tool(["async_pitfalls_lint", "check", "."], root)
        flake8 = run_flake8(["--select=APL,E9", "."], root)
    finally:
        (root / "secret.py").chmod(0o644)
    cli_reports = _by_file(cli.stdout)
    assert _keys(cli_reports["secret.py"]) == [(1, 1, "APL900")]
    assert "Permission denied" in cli_reports["secret.py"][0][3]
    assert _keys(cli_reports["app.py"]) == [(5, 5, "APL101")]
    flake8_reports = _by_file(flake8.stdout)
    assert [code for _, _, code, _ in flake8_reports["secret.py"]] == ["E902"]
    assert _keys(flake8_reports["app.py"]) == [(5, 5, "APL101")]


# -- size limit -----------------------------------------------------------------------------------
def test_file_over_the_size_limit(tmp_path: Path) -> None:
    big = _sleeper() + "".join(f"# filler line {index}\n" for index in range(200))
    root = write_project(
        tmp_path / "p", {"big.py": big, "app.py": _sleeper()}, SCOPE_ALL + "max-file-size = 2000\n"
    )
    cli = run_tool(["async_pitfalls_lint", "check", "."], root)
    flake8 = run_flake8(["--select=APL,E9", "."], root)
    for output in (cli.stdout, flake8.stdout):
        reports = _by_file(output)
        assert _keys(reports["big.py"]) == [(1, 1, "APL900")]
        assert f"{len(big.encode()):,} bytes, over the 2,000-byte limit" in reports["big.py"][0][3]
        assert _keys(reports["app.py"]) == [(5, 5, "APL101")]
    assert "Traceback" not in cli.stderr + flake8.stderr


# -- a run of only bad files ----------------------------------------------------------------------
def test_run_with_only_unanalysable_files_exits_2(tmp_path: Path) -> None:
    """Issue 7: a "could not analyse" line, and exit 2 unless other findings set 1."""
    root = write_project(tmp_path / "p", {"broken.py": "async def f(:\n    pass\n"}, SCOPE_ALL)
    cli = run_tool(["async_pitfalls_lint", "check", "."], root)
    assert cli.stdout.startswith("broken.py:1:1: APL900 could not analyse this file: syntax error")
    assert "1 file could not be analysed" in cli.stderr
    assert cli.returncode == 2


# -- configuration errors -------------------------------------------------------------------------
CONFIG_ERRORS = {
    "bad-toml": ("[tool.async-pitfalls-lint\nscope = 'all'\n", ["invalid TOML"]),
    "unknown-key": ("[tool.async-pitfalls-lint]\nscoop = 'all'\n", ["unknown key 'scoop'"]),
    "bad-value": (
        "[tool.async-pitfalls-lint]\nmax-depth = 'deep'\n",
        ["max-depth", "positive integer"],
    ),
    "bad-scope": ("[tool.async-pitfalls-lint]\nscope = 'everything'\n", ["scope", "'everything'"]),
}


@pytest.mark.parametrize("name", sorted(CONFIG_ERRORS))
def test_configuration_error(name: str, tmp_path: Path) -> None:
    config, fragments = CONFIG_ERRORS[name]
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    (root / "app.py").write_text(_sleeper(), encoding="utf-8")
    names_the_file = re.compile(rf"(?:{re.escape(str(root))}/)?pyproject\.toml: ")
    # One case through real processes, the others in-process (the same code paths).
    real = name == "bad-value"
    cli = (
        run_tool(["async_pitfalls_lint", "check", "."], root)
        if real
        else run_cli("check", ".", cwd=root)
    )
    assert cli.returncode == 2
    assert cli.stdout == ""
    assert "Traceback" not in cli.stderr
    assert cli.stderr.startswith("async-pitfalls-lint: configuration error: ")
    assert names_the_file.search(cli.stderr), cli.stderr
    for fragment in fragments:
        assert fragment in cli.stderr
    flake8 = (
        run_flake8(["--select=APL", "."], root)
        if real
        else run_flake8_in_process(root, "--select=APL")
    )
    assert "Traceback" not in flake8.stderr
    reports = _by_file(flake8.stdout.replace("./", ""))
    assert _keys(reports["app.py"]) == [(1, 1, "APL900")]
    message = reports["app.py"][0][3]
    assert "configuration error" in message
    assert names_the_file.search(message), message
    for fragment in fragments:
        assert fragment in message


# -- a 50,000-line generated file -----------------------------------------------------------------
@pytest.mark.slow
def test_fifty_thousand_line_file(tmp_path: Path) -> None:
    lines = ["import time", "from fastapi import FastAPI", "", "app = FastAPI()", ""]
    for index in range(1_000):
        lines += [
            f"def generated_{index}(x):",
            f"    value = x * {index}",
            "    return value + 1",
            "",
            "",
        ]
    lines += [f"TABLE_{index} = {{'key': {index}, 'value': '{index}'}}" for index in range(44_993)]
    lines += ["", "", '@app.get("/")', "async def root():", "    time.sleep(1)", ""]
    source = "\n".join(lines)
    assert source.count("\n") >= 50_000
    line = source.count("\n")  # the sleep is on the last line
    root = write_project(tmp_path / "p", {"generated.py": source, "app.py": _sleeper()})
    cli = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    flake8 = run_flake8(["--select=APL", "."], root)
    for output in (cli.stdout, flake8.stdout):
        reports = _by_file(output)
        assert _keys(reports["generated.py"]) == [(line, 5, "APL101")]
    assert cli.returncode == 1
    assert "Traceback" not in cli.stderr + flake8.stderr
