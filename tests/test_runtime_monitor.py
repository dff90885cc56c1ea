"""The runtime monitor in-process: instrumented loops, stack samples, matching stalls to findings,
the runtime report and `check --runtime-report`. The pytest plugin itself, run in subprocesses,
is tests/test_runtime_plugin.py."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from async_pitfalls_lint.cli import main
from async_pitfalls_lint.runtime.matching import FindingIndex, StaticFinding, path_key
from async_pitfalls_lint.runtime.monitor import StallMonitor, capture_stack, route_label
from async_pitfalls_lint.runtime.stacks import FrameClassifier, collapse
from async_pitfalls_lint.runtime.stall_report import (
    Location,
    RuntimeReport,
    RuntimeReportError,
    StackFrame,
    Stall,
    load_report,
    report_to_dict,
    write_report,
)

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parent / "schemas"
BLOCK = 0.3
THRESHOLD_MS = 50


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


# -- the monitor on real loops -------------------------------------------------------------------
def _blocking_helper() -> None:
    time.sleep(BLOCK)


async def _workload() -> None:
    _blocking_helper()
    for _ in range(10):  # busy 5 ms at a time, back to the loop in between: never a stall
        time.sleep(0.005)
        await asyncio.sleep(0)
    await asyncio.sleep(BLOCK)  # waiting on the loop is not a stall


def test_a_blocking_call_is_one_stall_with_its_frame_and_call() -> None:
    with StallMonitor(THRESHOLD_MS) as monitor:
        monitor.set_context("tests/x.py::test_x", "call")
        asyncio.run(_workload())
    assert len(monitor.stalls) == 1
    stall = monitor.stalls[0]
    assert stall.duration >= BLOCK
    assert (stall.test, stall.phase, stall.thread) == ("tests/x.py::test_x", "call", "MainThread")
    assert len(stall.samples) >= 3
    collapsed = collapse(stall.samples, FrameClassifier(str(HERE)))
    assert collapsed.frame is not None
    assert (collapsed.frame.path, collapsed.frame.function) == (
        "test_runtime_monitor.py",
        "_blocking_helper",
    )
    assert collapsed.library_call == "time.sleep"
    functions = [frame.function for frame in collapsed.stack]
    assert functions[-2:] == ["_workload", "_blocking_helper"]
    assert monitor.loops == 1


def test_a_loop_in_another_thread_is_monitored_too() -> None:
    with StallMonitor(THRESHOLD_MS) as monitor:
        worker = threading.Thread(target=asyncio.run, args=(_workload(),), name="portal")
        worker.start()
        worker.join()
    assert [stall.thread for stall in monitor.stalls] == ["portal"]


def test_stopping_restores_the_event_loop_and_records_nothing_more() -> None:
    original = asyncio.BaseEventLoop.run_forever
    monitor = StallMonitor(THRESHOLD_MS)
    monitor.start()
    assert asyncio.BaseEventLoop.run_forever is not original
    monitor.stop()
    assert asyncio.BaseEventLoop.run_forever is original
    asyncio.run(_workload())
    assert monitor.stalls == []
    assert monitor.loops == 0


def test_stopping_keeps_a_later_patch_of_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monitor = StallMonitor(THRESHOLD_MS)
    monitor.start()
    monitored = asyncio.BaseEventLoop.run_forever

    def patched_later(self: asyncio.BaseEventLoop) -> None:
        monitored(self)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_forever", patched_later)
    monitor.stop()
    assert asyncio.BaseEventLoop.run_forever is patched_later


def test_a_stall_under_testclient_names_its_route() -> None:
    async def slow(request: object) -> JSONResponse:
        _blocking_helper()
        return JSONResponse({})

    app = Starlette(routes=[Route("/slow/{n}", slow)])
    with StallMonitor(THRESHOLD_MS) as monitor, TestClient(app) as client:
        assert client.get("/slow/3").status_code == 200
    assert [stall.route for stall in monitor.stalls] == ["GET /slow/{n}"]
    assert monitor.stalls[0].thread != "MainThread"


def test_route_labels() -> None:
    class Matched:
        path = "/items/{item_id}"

    assert route_label({"type": "http", "method": "GET", "path": "/items/3"}) == "GET /items/3"
    http = {"type": "http", "method": "PUT", "path": "/items/3", "route": Matched()}
    assert route_label(http) == "PUT /items/{item_id}"
    assert route_label({"type": "websocket", "path": "/ws"}) == "WEBSOCKET /ws"
    assert route_label({"type": "lifespan"}) is None
    assert route_label("scope") is None


# -- stacks ----------------------------------------------------------------------------------------
def _sampled_while(target: object, *args: object) -> tuple[tuple[object, ...], threading.Thread]:
    started = threading.Event()

    def run() -> None:
        started.set()
        target(*args)  # type: ignore[operator]

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    time.sleep(0.1)
    frame = sys._current_frames()[thread.ident or 0]
    return capture_stack(frame), thread


def _wait_on_a_queue() -> None:
    with contextlib.suppress(queue.Empty):
        queue.Queue().get(timeout=0.4)


def test_a_native_call_is_read_from_the_source() -> None:
    raw, thread = _sampled_while(time.sleep, 0.4)
    thread.join()
    collapsed = collapse([raw], FrameClassifier(str(HERE)))
    assert collapsed.frame is not None
    assert collapsed.frame.function == "_sampled_while.<locals>.run"
    assert collapsed.library_call == "target"  # the callee as written on that line


def test_a_library_frame_under_the_project_is_the_library_call() -> None:
    raw, thread = _sampled_while(_wait_on_a_queue)
    thread.join()
    collapsed = collapse([raw], FrameClassifier(str(HERE)))
    assert collapsed.frame is not None
    assert collapsed.frame.function == "_wait_on_a_queue"
    assert collapsed.library_call == "queue.Queue.get"
    line = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1)
                if "queue.Queue().get(timeout=0.4)" in text)  # fmt: skip
    assert Location("test_runtime_monitor.py", line, 9) in collapsed.project_lines


def test_collapse_keeps_the_most_frequent_frame() -> None:
    sleeping, first = _sampled_while(time.sleep, 0.3)
    waiting, second = _sampled_while(_wait_on_a_queue)
    first.join()
    second.join()
    collapsed = collapse([sleeping, waiting, waiting], FrameClassifier(str(HERE)))
    assert collapsed.library_call == "queue.Queue.get"
    assert collapse([], FrameClassifier(str(HERE))).frame is None


def test_project_frames(tmp_path: Path) -> None:
    classifier = FrameClassifier(str(tmp_path))
    (tmp_path / "app.py").write_text("")
    assert classifier.is_project(str(tmp_path / "app.py"))
    assert classifier.display(str(tmp_path / "app.py")) == "app.py"
    venv = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "lib.py"
    assert not classifier.is_project(str(venv))
    assert not classifier.is_project(asyncio.__file__)
    assert not classifier.is_project("<frozen importlib._bootstrap>")
    assert classifier.display(asyncio.__file__) == str(Path(asyncio.__file__).resolve())


# -- matching --------------------------------------------------------------------------------------
def _finding(code: str, line: int, column: int = 5, end_line: int | None = None) -> StaticFinding:
    return StaticFinding(code, "app.py", line, end_line or line, column, "m", path_key("/p/app.py"))


def test_the_deepest_matching_line_wins_and_columns_break_ties() -> None:
    index = FindingIndex(
        [
            _finding("APL201", 10),
            _finding("APL102", 20, column=9),
            _finding("APL103", 20, column=30),
            _finding("APL104", 30, end_line=32),
            _finding("APL303", 40),  # an offloading rule predicts no stall
        ]
    )
    key = path_key("/p/app.py")
    assert index.match([(key, Location("app.py", 20, 31)), (key, Location("app.py", 10))]) == (
        _finding("APL103", 20, column=30)
    )
    assert index.match([(key, Location("app.py", 20, 8))]) == _finding("APL102", 20, column=9)
    assert index.match([(key, Location("app.py", 31))]) == _finding("APL104", 30, end_line=32)
    assert index.match([(key, Location("app.py", 40))]) is None
    assert index.match([(path_key("/p/other.py"), Location("other.py", 10))]) is None


# -- the report ------------------------------------------------------------------------------------
def _stall(line: int, path: str = "app.py", ms: float = 300.0, test: str = "t.py::t") -> Stall:
    frame = StackFrame(path, line, "helper", "app", True, 5)
    return Stall(
        test=test,
        phase="call",
        duration_ms=ms,
        thread="MainThread",
        route="GET /slow",
        samples=4,
        frame=frame,
        library_call="time.sleep",
        stack=(StackFrame("/lib/x.py", 3, "run", "x", False), frame),
        project_lines=(Location(path, line, 5),),
    )


def test_the_report_round_trips_and_validates(tmp_path: Path) -> None:
    report = RuntimeReport(
        threshold_ms=50.0,
        rootdir=str(tmp_path),
        stalls=(_stall(4), _stall(9, ms=120.5)),
        tests=2,
        loops=3,
        findings_source="analysis",
        tool_version="0.1.0",
    )
    path = tmp_path / "stalls.json"
    write_report(report, path)
    Draft202012Validator.check_schema(_schema("runtime-report.schema.json"))
    Draft202012Validator(_schema("runtime-report.schema.json")).validate(
        json.loads(path.read_text())
    )
    assert load_report(path) == report
    assert report_to_dict(load_report(path)) == report_to_dict(report)


def test_the_schema_rejects_malformed_reports(tmp_path: Path) -> None:
    validator = Draft202012Validator(_schema("runtime-report.schema.json"))
    document = report_to_dict(RuntimeReport(50.0, str(tmp_path), (_stall(4),)))
    validator.validate(document)
    for broken in (
        {**document, "schema_version": 2},
        {**document, "threshold_ms": 0},
        {**document, "stalls": [{**document["stalls"][0], "duration_ms": "300"}]},
        {**document, "stalls": [{**document["stalls"][0], "phase": "collect"}]},
    ):
        assert not validator.is_valid(broken)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{", "not a JSON document"),
        ('{"schema_version": 2}', "schema_version 2"),
        ('{"schema_version": 1, "tool": {"name": "other", "version": "1"}}', "written by"),
        ("[]", "is not an object"),
    ],
)
def test_unreadable_reports_say_why(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "stalls.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RuntimeReportError, match=problem):
        load_report(path)


# -- check --runtime-report ------------------------------------------------------------------------
APP = """\
import time

from fastapi import FastAPI

app = FastAPI()


def pause():
    time.sleep(1)


@app.get("/confirmed")
async def confirmed():
    pause()


@app.get("/quiet")
async def quiet():
    time.sleep(1)


@app.get("/unseen")
async def unseen():
    plugin = __import__("plugins").load()
    plugin()
"""


def _project(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "service"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[tool.async-pitfalls-lint]\ncache = false\ninfer-libraries = false\n"
    )
    (project / "app.py").write_text(APP)
    (tmp_path / "other.py").write_text("")
    report = RuntimeReport(
        threshold_ms=50.0,
        rootdir=str(tmp_path),
        stalls=(
            _stall(14, "service/app.py", ms=310.0, test="t.py::test_confirmed"),
            _stall(14, "service/app.py", ms=120.0, test="t.py::test_again"),
            _stall(25, "service/app.py", ms=205.0, test="t.py::test_unseen"),
            _stall(1, "other.py", ms=99.0),
        ),
    )
    write_report(report, tmp_path / "stalls.json")
    return project, tmp_path / "stalls.json"


def _check(*args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = main(["check", *args], stdout=stdout, stderr=stderr)
    return status, stdout.getvalue(), stderr.getvalue()


def test_check_marks_findings_confirmed_or_not_exercised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stalls = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    status, out, err = _check("--runtime-report", str(stalls), "service")
    assert status == 1
    lines = out.splitlines()
    confirmed = next(line for line in lines if line.startswith("service/app.py:14:"))
    assert confirmed.endswith("[confirmed at runtime: 310 ms in t.py::test_confirmed]")
    quiet = next(line for line in lines if line.startswith("service/app.py:19:"))
    assert quiet.endswith("[not exercised at runtime: no stall over 50 ms]")
    assert "event-loop stalls no finding explains" in out
    assert "  service/app.py:25: in helper → time.sleep: 205 ms in t.py::test_unseen" in out
    assert "other.py" not in out  # not a checked file
    assert "1 confirmed, 1 not exercised, 1 stall no finding explains" in err


def test_check_json_and_sarif_carry_the_confirmations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stalls = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, out, _ = _check("--runtime-report", str(stalls), "--format", "json", "service")
    document = json.loads(out)
    Draft202012Validator(_schema("report.schema.json")).validate(document)
    by_line = {finding["line"]: finding.get("runtime") for finding in document["findings"]}
    assert by_line[14] == {
        "status": "confirmed",
        "longest_ms": 310.0,
        "test": "t.py::test_confirmed",
        "route": "GET /slow",
        "stalls": 2,
    }
    assert by_line[19] == {"status": "not_exercised"}
    runtime = document["runtime"]
    assert (runtime["confirmed"], runtime["not_exercised"], runtime["stalls_elsewhere"]) == (
        1,
        1,
        1,
    )
    assert [(entry["path"], entry["line"]) for entry in runtime["unexplained_stalls"]] == [
        ("service/app.py", 25)
    ]
    _, out, _ = _check("--runtime-report", str(stalls), "--format", "sarif", "service")
    sarif = json.loads(out)
    Draft4Validator(_schema("sarif-schema-2.1.0.json")).validate(sarif)
    run = sarif["runs"][0]
    statuses = [result["properties"].get("runtime", {}).get("status") for result in run["results"]]
    assert sorted(status for status in statuses if status) == ["confirmed", "not_exercised"]
    assert run["properties"]["runtime"] == runtime


def test_check_without_a_runtime_report_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, out, _ = _check("--format", "json", "service")
    document = json.loads(out)
    assert "runtime" not in document
    assert all("runtime" not in finding for finding in document["findings"])
    _, text, _ = _check("service")
    assert "at runtime" not in text


def test_check_refuses_an_unreadable_runtime_report(tmp_path: Path) -> None:
    project, _ = _project(tmp_path)
    (tmp_path / "bad.json").write_text('{"schema_version": 1}')
    status, out, err = _check("--runtime-report", str(tmp_path / "bad.json"), str(project))
    assert status == 2
    assert out == ""
    assert "is not a runtime report" in err


# -- the plugin costs nothing when off -------------------------------------------------------------
def test_the_plugin_module_imports_nothing_heavy() -> None:
    probe = (
        "import sys, async_pitfalls_lint.runtime.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('libcst', 'async_pitfalls_lint'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.replace("'", '"')) == [
        "async_pitfalls_lint",
        "async_pitfalls_lint.model",
        "async_pitfalls_lint.runtime",
        "async_pitfalls_lint.runtime.plugin",
    ]
