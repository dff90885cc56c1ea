"""Incremental runs give exactly the findings of a cold run.

A scripted sequence of edits on a small multi-module project; after each step the cold run
(`--no-cache`), the first run on the cache the previous step left (the incremental run: it
reuses the event-loop index, the file table and cached facts where they still hold) and a warm
rerun must print the same bytes, in text and JSON, for the whole tree and for the edited file
alone. The flake8 path is checked the same way (slow: real flake8 processes).

Files are given distinct mtimes in the past after each write, so the file table's fast path
(a file whose stat matches is not re-read) is what the incremental run takes.
"""

from __future__ import annotations

import io
import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from async_pitfalls_lint import runner
from async_pitfalls_lint.analysis import Analysis, analysis_for, reset_analyses
from async_pitfalls_lint.cli import main
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.model import FileResult

from fuzzing import parse_report, run_flake8, write_project

MAIN = """\
from fastapi import FastAPI

from app.routes import items, legacy

app = FastAPI()
app.include_router(items.router)
app.include_router(legacy.router)
"""
ITEMS = """\
from fastapi import APIRouter

from app.helpers import fetch, store

router = APIRouter()


@router.get("/items")
async def list_items():
    fetch()
    return store()


@router.post("/items")
async def add_item():
    return store()


async def notify():
    return store()
"""
HELPERS = """\
import time

import requests


def fetch():
    return requests.get("http://example.com", timeout=1)


def store():
    return 1
"""
LEGACY = """\
import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/legacy")
async def legacy():
    time.sleep(1)
"""
ORDERS = """\
import subprocess

from fastapi import APIRouter

from app.utils import store

router = APIRouter()


@router.get("/orders")
async def orders():
    subprocess.run(["true"], check=True)
    return store()
"""
FILES = {
    "app/__init__.py": "",
    "app/main.py": MAIN,
    "app/routes/__init__.py": "",
    "app/routes/items.py": ITEMS,
    "app/routes/legacy.py": LEGACY,
    "app/helpers.py": HELPERS,
}


def _replace(name: str, old: str, new: str) -> Callable[[Path], str]:
    def edit(root: Path) -> str:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return name

    return edit


def _rename(old: str, new: str) -> Callable[[Path], str]:
    def edit(root: Path) -> str:
        (root / old).rename(root / new)
        items = root / "app/routes/items.py"
        items.write_text(
            items.read_text(encoding="utf-8").replace("app.helpers", "app.utils"), encoding="utf-8"
        )
        return "app/routes/items.py"

    return edit


def _remove_legacy(root: Path) -> str:
    (root / "app/routes/legacy.py").unlink()
    _replace("app/main.py", "from app.routes import items, legacy", "from app.routes import items")(
        root
    )
    _replace("app/main.py", "app.include_router(legacy.router)\n", "")(root)
    return "app/main.py"


def _add_orders(root: Path) -> str:
    (root / "app/routes/orders.py").write_text(ORDERS, encoding="utf-8")
    _replace("app/main.py", "from app.routes import items", "from app.routes import items, orders")(
        root
    )
    (root / "app/main.py").write_text(
        (root / "app/main.py").read_text(encoding="utf-8") + "app.include_router(orders.router)\n",
        encoding="utf-8",
    )
    return "app/routes/orders.py"


# (what the step does, the edit; the edit returns the file an editor would re-check)
STEPS: list[tuple[str, Callable[[Path], str]]] = [
    # A helper's body changes, its summary does not; the lines below it move.
    (
        "helper body, same summary",
        _replace(
            "app/helpers.py",
            "def store():\n    return 1\n",
            "def store():\n\n    x = 2\n    return x\n",
        ),
    ),
    (
        "comment only in a route file",
        _replace(
            "app/routes/items.py", "router = APIRouter()\n", "router = APIRouter()  # the items\n"
        ),
    ),
    # The handlers of the route file move down: their lines change, nothing else.
    (
        "route file lines move",
        _replace(
            "app/routes/items.py", "router = APIRouter()", '"""Items."""\n\n\nrouter = APIRouter()'
        ),
    ),
    (
        "helper becomes blocking",
        _replace("app/helpers.py", "    x = 2\n", "    time.sleep(0.1)\n    x = 2\n"),
    ),
    ("helper is non-blocking again", _replace("app/helpers.py", "    time.sleep(0.1)\n", "")),
    (
        "route body changes a call",
        _replace(
            "app/routes/items.py",
            "async def add_item():\n    return store()",
            "async def add_item():\n    fetch()\n    return store()",
        ),
    ),
    # Body edits the index does not see (surface.py): it is kept, the findings follow.
    (
        "route body binds a blocking call's result",
        _replace(
            "app/routes/items.py",
            "async def add_item():\n    fetch()\n",
            "async def add_item():\n    data = fetch()\n    print(data)\n",
        ),
    ),
    # A body edit that reaches a coroutine nothing reached: the index is built again.
    (
        "route awaits a coroutine it did not reach",
        _replace(
            "app/routes/items.py",
            "async def list_items():\n    fetch()\n",
            "async def list_items():\n    fetch()\n    await notify()\n",
        ),
    ),
    (
        "the coroutine it reaches gains a blocking call",
        _replace(
            "app/routes/items.py",
            "async def notify():\n    return store()",
            "async def notify():\n    fetch()\n    return store()",
        ),
    ),
    ("module renamed", _rename("app/helpers.py", "app/utils.py")),
    ("module removed", _remove_legacy),
    ("new route file", _add_orders),
]


def _run(root: Path, *args: str) -> str:
    """One CLI run, in this process but with no state kept from earlier runs (as a new one)."""
    reset_analyses()
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["check", "--exit-zero", "--jobs", "1", *args], stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    assert "internal error" not in stderr.getvalue()
    return stdout.getvalue()


def _settle(root: Path, step: int) -> None:
    """Distinct mtimes well in the past: the file table trusts them (no racy re-hash)."""
    base = time.time() - 3600 + step * 60
    for index, path in enumerate(sorted(root.rglob("*.py"))):
        os.utime(path, (base + index, base + index))


def _outputs(root: Path, edited: str, *cache: str) -> dict[str, str]:
    return {
        "text": _run(root, *cache, "."),
        "json": _run(root, *cache, "--format", "json", "."),
        "file": _run(root, *cache, edited),
        "file-json": _run(root, *cache, "--format", "json", edited),
    }


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p", {name: textwrap.dedent(text) for name, text in FILES.items()}, config=""
    )


def test_cold_warm_and_incremental_runs_agree_after_each_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    _settle(root, 0)
    first = _outputs(root, "app/routes/items.py", "--no-cache")
    assert "APL102" not in first["text"]  # cross-module only: the helper's call is the finding
    assert "APL202" in first["text"]
    assert "APL101" in first["text"]
    assert _outputs(root, "app/routes/items.py") == first  # cold cache, written
    seen = {first["text"]}
    for step, (what, edit) in enumerate(STEPS, start=1):
        edited = edit(root)
        _settle(root, step)
        cold = _outputs(root, edited, "--no-cache")
        incremental = _outputs(root, edited)
        assert incremental == cold, what
        assert _outputs(root, edited) == cold, what  # warm
        seen.add(cold["text"])
    # The steps did change findings (a test that never changes them proves little).
    assert len(seen) >= 6


def test_an_edit_that_only_moves_code_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached index holds for an edit that changes no facts but positions, and a handler's
    line follows its function; it holds for a body edit that changes no edge of the index
    (another call of a sync helper), and is built again for one that does (a coroutine
    awaited that nothing reached)."""
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    _settle(root, 0)
    _run(root, ".")
    items = root / "app/routes/items.py"

    def index_state() -> tuple[bool, dict[str, int]]:
        reset_analyses()
        analysis = analysis_for(items, load_settings(root))
        ready = analysis.index.ready()
        lines = {
            handler.qualname: handler.line
            for handler in analysis.index.all_handlers()
            if handler.path == os.fspath(items)
        }
        return ready, lines

    _replace("app/routes/items.py", "router = APIRouter()", "\n\nrouter = APIRouter()")(root)
    _settle(root, 1)
    ready, lines = index_state()
    assert ready
    assert lines == {"list_items": 11, "add_item": 17}
    _replace("app/routes/items.py", "    fetch()\n", "    fetch()\n    fetch()\n")(root)
    _settle(root, 2)
    assert index_state()[0]
    _replace("app/routes/items.py", "    fetch()\n    fetch()\n", "    await notify()\n")(root)
    _settle(root, 3)
    assert not index_state()[0]


def test_a_run_after_an_edit_checks_again_only_what_the_edit_can_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-file results are reused while the project's facts (positions aside, for files that
    may hold event-loop code) and the files their chains show are unchanged: a comment in one
    route file re-checks that file alone, moved lines in a route file re-check it and the
    files whose chains show its lines, an edit of a module that cannot hold event-loop code
    (tracked by content) or a changed summary re-checks every file. Each run prints what a
    cold run prints."""
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    _settle(root, 0)
    checked: list[str] = []
    original = runner.check_one

    def counting(analysis: Analysis, file: Path) -> FileResult:
        checked.append(Path(file).as_posix())
        return original(analysis, file)

    monkeypatch.setattr(runner, "check_one", counting)

    def rerun(step: int) -> list[str]:
        _settle(root, step)
        cold = _run(root, "--no-cache", ".")
        checked.clear()
        assert _run(root, ".") == cold
        return sorted(checked)

    _run(root, ".")
    every = sorted(Path(path).relative_to(root).as_posix() for path in root.rglob("*.py"))
    _replace("app/routes/legacy.py", "router = APIRouter()\n", "router = APIRouter()  # x\n")(root)
    assert rerun(1) == ["app/routes/legacy.py"]
    # main.py's handlers move: no chain shows main.py, so it alone is checked again.
    _replace("app/main.py", "app = FastAPI()", "\n\napp = FastAPI()")(root)
    assert rerun(2) == ["app/main.py"]
    # items.py's route functions move down; nothing else shows items.py's lines.
    _replace("app/routes/items.py", "router = APIRouter()", "\n\nrouter = APIRouter()")(root)
    assert rerun(3) == ["app/routes/items.py"]
    assert rerun(4) == []  # nothing changed: the whole-run result
    # helpers.py cannot hold event-loop code: tracked by its content, any edit counts.
    _replace("app/helpers.py", "def fetch():", "# fetching\n\n\ndef fetch():")(root)
    assert rerun(5) == every
    _replace("app/routes/legacy.py", "time.sleep(1)", "time.sleep(2)")(root)
    assert rerun(6) == every  # a summary changed


@pytest.mark.slow
def test_flake8_cold_warm_and_incremental_agree_after_each_edit(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _settle(root, 0)

    def flake8(*args: str) -> str:
        completed = run_flake8(["--select=APL", *args, "."], root)
        assert "Traceback" not in completed.stderr, completed.stderr
        parse_report(completed.stdout)  # every line is a report line
        return completed.stdout

    for step, (what, edit) in enumerate([("start", lambda _: ""), *STEPS]):
        if step:
            edit(root)
            _settle(root, step)
        cold = flake8("--async-pitfalls-no-cache")
        assert flake8() == cold, what  # incremental
        assert flake8("--jobs=2") == cold, what  # warm, two workers
