"""`routes`: findings credited to every route that reaches them, paths that do not depend on the
project-root marker, a table that fits the terminal, colour settings, a throttled progress line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.cli import main
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.progress import ProgressLine
from async_pitfalls_lint.runner import check_files

from clirun import run_cli

DEPS = """\
import time

from fastapi import Depends


async def verify_token():
    time.sleep(1)


async def audit_log():
    time.sleep(2)


async def tenant():
    time.sleep(3)


async def load_user():
    time.sleep(4)


async def current_user(user=Depends(load_user)):
    return user
"""
MAIN = """\
import functools

from fastapi import APIRouter, Depends, FastAPI

from app.deps import audit_log, current_user, tenant, verify_token
from app.services import Clock

app = FastAPI(dependencies=[Depends(tenant)])
router = APIRouter(prefix="/r", dependencies=[Depends(verify_token)])


def timed(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        Clock()
        return await func(*args, **kwargs)

    return wrapper


@router.get("/a")
async def a():
    return 1


@router.get("/b")
async def b(user=Depends(current_user)):
    return 2


@app.get("/c")
@timed
async def c():
    return 3


@app.get("/d")
@timed
async def d(user=Depends(current_user)):
    return 4


app.include_router(router, dependencies=[Depends(audit_log)])
"""
SERVICES = """\
import time


class Clock:
    def __init__(self):
        time.sleep(5)
"""


def _service(root: Path, marker: str = "pyproject.toml") -> Path:
    files = {"app/__init__.py": "", "app/deps.py": DEPS, "app/main.py": MAIN}
    files["app/services.py"] = SERVICES
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    if marker == "pyproject.toml":
        (root / "pyproject.toml").write_text(
            "[tool.async-pitfalls-lint]\ncache = false\n", encoding="utf-8"
        )
    else:
        (root / marker).mkdir()
    return root


def _routes(root: Path) -> dict[str, list[tuple[str, int]]]:
    document = json.loads(run_cli("routes", "--format", "json", "--no-cache", cwd=root).stdout)
    return {
        f"{route['method']} {route['route']} {route['function']}": [
            (finding["path"], finding["line"]) for finding in route["findings"]
        ]
        for route in document["routes"]
    }


def test_findings_are_credited_to_every_route_that_reaches_them(tmp_path: Path) -> None:
    routes = _routes(_service(tmp_path / "svc"))
    tenant, verify, audit, user = [("app/deps.py", line) for line in (15, 7, 11, 19)]
    clock = ("app/main.py", 15)  # Clock() in the wrapper of the project decorator
    assert routes == {
        # app-level, router-level, include_router-level and route dependencies, transitively
        "GET /r/b b": sorted([tenant, verify, audit, user]),
        "GET /r/a a": sorted([tenant, verify, audit]),
        # the decorator's wrapper runs for both routes it wraps, and is no route of its own
        "GET /d d": sorted([tenant, user, clock]),
        "GET /c c": sorted([tenant, clock]),
    }


def _report(root: Path, cwd: Path) -> tuple[str, str]:
    text = run_cli("check", "--no-cache", "-q", str(root), cwd=cwd).stdout
    document = json.loads(
        run_cli("check", "--no-cache", "--format", "json", str(root), cwd=cwd).stdout
    )
    return text, json.dumps([(f["message"], f["chain"]) for f in document["findings"]])


def test_chain_paths_do_not_depend_on_the_root_marker(tmp_path: Path) -> None:
    with_pyproject = _service(tmp_path / "one" / "svc")
    with_git = _service(tmp_path / "two" / "svc", marker=".git")
    # The same tree, its root found through pyproject.toml or through .git, checked from its
    # folder: the same report, chains included.
    assert _report(with_pyproject, with_pyproject) == _report(with_git, with_git)
    text, _ = _report(with_git, with_git)
    assert "(Clock → time.sleep at app/services.py:6)" in text


def test_chain_paths_resolve_from_the_working_folder(tmp_path: Path) -> None:
    """Run from another folder, every path of a report (findings, chain steps, the location in
    the message) is relative to that folder."""
    root = _service(tmp_path / "svc", marker=".git")
    text, chains = _report(root, tmp_path)
    assert "(Clock → time.sleep at svc/app/services.py:6)" in text
    for message, chain in json.loads(chains):
        for step in chain:
            assert (tmp_path / step["path"]).is_file(), step
        if "→" in message:
            location = message.split(" at ", 1)[1].split(")", 1)[0]
            assert (tmp_path / location.rsplit(":", 1)[0]).is_file(), message


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _routes_on(stream: io.StringIO, root: Path, *args: str) -> str:
    reset_analyses()
    code = main(["routes", "--no-cache", *args], stdout=stream, stderr=io.StringIO())
    assert code == 0
    return stream.getvalue()


def test_the_table_fits_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _service(tmp_path / "svc")
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    table = _routes_on(_Terminal(), root)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == [
        "METHOD", "PATH", "FUNCTION", "LOCATION", "RUNS", "IN", "DEPENDENCIES", "FINDINGS"
    ]  # fmt: skip
    first = lines[1]
    assert first.startswith("GET     /r/b  b         app/main.py:27  event loop  tenant, +4 ")
    assert any(line.endswith("\u2026") for line in lines)  # long messages cut at the edge
    # A pipe or a file gets every cell whole.
    piped = _routes_on(io.StringIO(), root)
    assert "tenant, audit_log, verify_token, current_user, load_user" in piped
    assert "\u2026" not in piped


@pytest.mark.parametrize(
    ("environment", "option", "terminal", "coloured"),
    [
        ({}, "auto", True, True),
        ({}, "auto", False, False),
        ({"NO_COLOR": "1"}, "auto", True, False),
        ({"FORCE_COLOR": "1"}, "auto", False, True),
        ({"FORCE_COLOR": "0"}, "auto", False, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, "auto", True, False),
        ({"NO_COLOR": "1"}, "always", False, True),
        ({"FORCE_COLOR": "1"}, "never", True, False),
    ],
)
def test_colour_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    option: str,
    terminal: bool,
    coloured: bool,
) -> None:
    root = _service(tmp_path / "svc")
    monkeypatch.chdir(root)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    stream = _Terminal() if terminal else io.StringIO()
    table = _routes_on(stream, root, f"--color={option}")
    assert ("\033[" in table) == coloured


def test_colour_in_a_real_process_with_force_color(tmp_path: Path) -> None:
    root = _service(tmp_path / "svc")
    forced = subprocess.run(
        [sys.executable, "-m", "async_pitfalls_lint", "routes", "--no-cache"],
        cwd=root,
        env={**os.environ, "FORCE_COLOR": "1", "NO_COLOR": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("\033[1mMETHOD")


def test_the_progress_line_is_throttled() -> None:
    stream = io.StringIO()
    now = [0.0]
    line = ProgressLine(stream, 1000, interval=0.25, clock=lambda: now[0])
    for done in range(1, 1001):
        now[0] += 0.001  # a file a millisecond: one second for the run
        line.update(done)
    draws = stream.getvalue().split("\r")[1:]
    assert 4 <= len(draws) <= 6  # four a second, and the last file
    assert draws[0] == "checked 1/1000 files"
    assert draws[-1] == "checked 1000/1000 files"


def test_check_draws_the_progress_line_a_few_times_not_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "many"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.async-pitfalls-lint]\ncache = false\n")
    for index in range(60):
        (root / f"m{index:02d}.py").write_text("async def f():\n    return 1\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr("async_pitfalls_lint.progress.time.monotonic", lambda: 100.0)
    stream = _Terminal()
    report = check_files([root], load_settings(root), progress=stream)
    assert report.files_checked == 60
    assert stream.getvalue().count("\rchecked ") == 2  # the first file and the last
