"""The pytest plugin, run by pytest in a subprocess (pytester) on small suites: each way a test
suite runs an event loop, the threshold, the report and its schema, the options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from async_pitfalls_lint.cli import main

pytest_plugins = ["pytester"]

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "runtime-report.schema.json"
PLUGINS = ("-p", "pytest_asyncio.plugin", "-p", "anyio.pytest_plugin")
PLUGINS += ("-p", "async_pitfalls_lint.runtime.plugin")

PYPROJECT = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
filterwarnings = ["ignore::DeprecationWarning"]

[tool.async-pitfalls-lint]
cache = false
infer-libraries = false
"""

HELPERS = """\
import asyncio
import time


def blocking_helper():
    time.sleep(0.3)


async def busy_briefly():
    for _ in range(20):  # 5 ms on the loop at a time, 100 ms in all
        time.sleep(0.005)
        await asyncio.sleep(0)
"""

APP = """\
from fastapi import FastAPI

from helpers import blocking_helper, busy_briefly

app = FastAPI()


@app.get("/slow/{n}")
async def slow(n: int):
    blocking_helper()
    return {"n": n}


@app.get("/quick")
async def quick():
    await busy_briefly()
    return {}
"""

RUNNERS = {
    "pytest-asyncio": """\
import pytest

from helpers import blocking_helper, busy_briefly


@pytest.mark.asyncio
async def test_blocks():
    blocking_helper()


@pytest.mark.asyncio
async def test_quick():
    await busy_briefly()
""",
    "anyio": """\
import pytest

from helpers import blocking_helper, busy_briefly


@pytest.mark.anyio
async def test_blocks():
    blocking_helper()


@pytest.mark.anyio
async def test_quick():
    await busy_briefly()
""",
    "TestClient": """\
from starlette.testclient import TestClient

from app import app


def test_blocks():
    with TestClient(app) as client:
        assert client.get("/slow/1").json() == {"n": 1}


def test_quick():
    with TestClient(app) as client:
        assert client.get("/quick").json() == {}
""",
    "AsyncClient": """\
import httpx
import pytest

from app import app


def _client():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.asyncio
async def test_blocks():
    async with _client() as client:
        assert (await client.get("/slow/1")).json() == {"n": 1}


@pytest.mark.asyncio
async def test_quick():
    async with _client() as client:
        assert (await client.get("/quick")).json() == {}
""",
}


def _suite(pytester: pytest.Pytester, runner: str) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(helpers=HELPERS, app=APP, test_suite=RUNNERS[runner])


@pytest.fixture
def isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Only the plugins the suites need: a faster start, and no other plugin's surprises."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGINS, "-p", "no:cacheprovider", *args)


def _report(pytester: pytest.Pytester) -> dict[str, object]:
    document = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(document)
    return document


def _line(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.mark.slow
@pytest.mark.parametrize("runner", list(RUNNERS))
def test_each_way_of_running_a_loop_reports_its_stall(
    isolated: pytest.Pytester, runner: str
) -> None:
    pytester = isolated
    _suite(pytester, runner)
    result = _run(pytester, "--apl-monitor", "--apl-report=report.json")
    result.assert_outcomes(passed=2)
    report = _report(pytester)
    stalls = report["stalls"]
    assert isinstance(stalls, list)
    assert [stall["test"].split("::")[1].split("[")[0] for stall in stalls] == ["test_blocks"]
    stall = stalls[0]
    assert stall["duration_ms"] >= 300
    assert stall["phase"] == "call"
    assert stall["samples"] >= 3
    assert stall["frame"]["path"] == "helpers.py"
    assert stall["frame"]["function"] == "blocking_helper"
    assert stall["library_call"] == "time.sleep"
    if runner in ("TestClient", "AsyncClient"):
        assert stall["route"] == "GET /slow/{n}"
        assert (stall["thread"] == "MainThread") is (runner == "AsyncClient")
        assert stall["finding"]["code"] == "APL201"
        assert (stall["finding"]["path"], stall["finding"]["line"]) == (
            "app.py",
            _line(APP, "    blocking_helper()"),
        )
        assert report["findings"] == {"source": "analysis"}
        summary = "*GET /slow/{n}  helpers.py:6 in blocking_helper → time.sleep*"
        verdict = "*confirms APL201 at app.py:10:5; 1 stall: test_suite.py::test_blocks*"
    else:
        assert stall["route"] is None
        assert stall["finding"] is None
        summary = "*test_suite.py::test_blocks*  helpers.py:6 in blocking_helper → time.sleep*"
        verdict = "*no finding explains it*"
    result.stdout.fnmatch_lines(
        ["*async-pitfalls-lint: 1 event-loop stall over 50 ms*", summary, verdict]
    )


@pytest.mark.slow
def test_a_higher_threshold_reports_nothing(isolated: pytest.Pytester) -> None:
    pytester = isolated
    _suite(pytester, "pytest-asyncio")
    result = _run(pytester, "--apl-monitor=1000", "--apl-report=report.json")
    result.assert_outcomes(passed=2)
    report = _report(pytester)
    assert report["threshold_ms"] == 1000
    assert report["stalls"] == []
    assert report["tests"] == 2
    result.stdout.fnmatch_lines(["*async-pitfalls-lint: no event-loop stall over 1000 ms*"])


@pytest.mark.slow
def test_findings_can_come_from_a_findings_report(
    isolated: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester = isolated
    _suite(pytester, "AsyncClient")
    monkeypatch.chdir(pytester.path)
    assert main(["check", "--format", "json", "--output-file", "findings.json", "-q"]) == 1
    result = _run(
        pytester, "--apl-monitor", "--apl-report=report.json", "--apl-findings=findings.json"
    )
    result.assert_outcomes(passed=2)
    report = _report(pytester)
    assert report["findings"] == {"source": "file", "path": str(pytester.path / "findings.json")}
    assert report["stalls"][0]["finding"]["code"] == "APL201"


@pytest.mark.slow
def test_the_entry_point_loads_the_plugin_and_it_is_off_by_default(
    pytester: pytest.Pytester,
) -> None:
    _suite(pytester, "pytest-asyncio")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "event-loop stall" not in result.stdout.str()
    monitored = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--apl-monitor")
    monitored.stdout.fnmatch_lines(["*async-pitfalls-lint: 1 event-loop stall over 50 ms*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apl-report=r.json"], "--apl-report needs --apl-monitor"),
        (["--apl-findings=f.json"], "--apl-findings needs --apl-monitor"),
        (["--apl-monitor=abc"], "not a number of milliseconds: 'abc'"),
        (["--apl-monitor=0"], "the threshold must be more than 0 ms"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess(*args)  # the entry point loads the plugin
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_options_are_in_the_help(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(
        ["*--apl-monitor=[[]MS[]]*", "*--apl-report=PATH*", "*--apl-findings=PATH*"]
    )
