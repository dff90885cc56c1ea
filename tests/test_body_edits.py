"""Edits inside function bodies keep the cached event-loop index when they cannot change it,
and build it again when they can (surface.py, scopes.EventLoopIndex._body_edit).

Each step edits one file, then asks whether the index the cache holds is still good (`ready()`
without a build) and compares a run on that cache with a cold run (`--no-cache`): the same
bytes. A step that must keep the index and one that must build it are both listed, so the
test fails if the check keeps too much (wrong findings) or too little (every edit rebuilds).
"""

from __future__ import annotations

import io
import os
import random
import re
import textwrap
import time
from pathlib import Path

import pytest

from async_pitfalls_lint.analysis import analysis_for, reset_analyses
from async_pitfalls_lint.cli import main
from async_pitfalls_lint.config import load_settings

from fuzzing import write_project

FILES = {
    "app/__init__.py": "",
    "app/main.py": """\
        from fastapi import FastAPI

        from app import orders

        app = FastAPI()
        app.include_router(orders.router)
        """,
    "app/orders.py": """\
        import requests
        from fastapi import APIRouter

        from app.service import Gateway, gateway, start

        router = APIRouter()


        @router.get("/orders")
        async def list_orders():
            start()
            return {"ok": True}


        @router.post("/orders")
        async def add_order():
            client = gateway()
            await client.charge()
            return {"ok": True}
        """,
    "app/service.py": """\
        import asyncio
        import time


        class Gateway:
            async def charge(self):
                return 1


        class SlowGateway:
            async def charge(self):
                time.sleep(1)


        def gateway():
            return Gateway()


        def start():
            return 1


        async def audit():
            time.sleep(1)
        """,
}

# (what the step does, file, old text, new text, whether the cached index still holds)
STEPS = [
    (
        "a route body gains a blocking library call",
        "app/orders.py",
        "    start()\n",
        "    start()\n    requests.get('http://example.com', timeout=1)\n",
        True,
    ),
    (
        "a route body binds a local",
        "app/orders.py",
        "    client = gateway()\n",
        "    client = gateway()\n    total = 1 + 2\n",
        True,
    ),
    (
        "a helper's body changes, not what it starts",
        "app/service.py",
        "def start():\n    return 1\n",
        "def start():\n    count = 1\n    return count\n",
        True,
    ),
    (
        "the helper now starts a coroutine on the loop",
        "app/service.py",
        "    count = 1\n",
        "    asyncio.create_task(audit())\n    count = 1\n",
        False,
    ),
    (
        "a factory's body changes, not what it returns",
        "app/service.py",
        "    return Gateway()\n",
        "    made = Gateway()\n    return made\n",
        True,
    ),
    (
        "the factory returns another class",
        "app/service.py",
        "    made = Gateway()\n",
        "    made = SlowGateway()\n",
        False,
    ),
    (
        "a route awaits a coroutine nothing reached",
        "app/orders.py",
        '    return {"ok": True}\n\n\n@router.post',
        '    await audit_order()\n    return {"ok": True}\n\n\n@router.post',
        False,
    ),
    (
        "a route's decorator changes",
        "app/orders.py",
        '@router.get("/orders")',
        '@router.get("/orders/")',
        False,
    ),
]


def _run(*args: str) -> str:
    reset_analyses()
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["check", "--exit-zero", "--jobs", "1", *args, "."], stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def _settle(root: Path, step: int) -> None:
    base = time.time() - 3600 + step * 60
    for index, path in enumerate(sorted(root.rglob("*.py"))):
        os.utime(path, (base + index, base + index))


def _index_holds(root: Path) -> bool:
    reset_analyses()
    analysis = analysis_for(root / "app/orders.py", load_settings(root))
    return analysis.index.ready()


def test_body_edits_keep_the_index_only_when_it_cannot_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {name: textwrap.dedent(text) for name, text in FILES.items()}
    # The coroutine the seventh step awaits: written from the start, so that step changes
    # only a body.
    files["app/orders.py"] += "\n\nasync def audit_order():\n    start()\n"
    root = write_project(tmp_path / "p", files, config="")
    monkeypatch.chdir(root)
    _settle(root, 0)
    assert _run() == _run("--no-cache")
    outputs = set()
    for step, (what, name, old, new, holds) in enumerate(STEPS, start=1):
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, what
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        _settle(root, step)
        assert _index_holds(root) == holds, what
        cold = _run("--no-cache")
        assert _run() == cold, what
        outputs.add(cold)
    assert len(outputs) >= 4  # the findings did change along the way


def test_what_the_steps_find_is_what_a_cold_run_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The findings the steps above lead to, named: the blocking calls appear where the edits
    put them on the loop."""
    files = {name: textwrap.dedent(text) for name, text in FILES.items()}
    files["app/orders.py"] += "\n\nasync def audit_order():\n    start()\n"
    root = write_project(tmp_path / "p", files)
    for _, name, old, new, _ in STEPS:
        path = root / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    monkeypatch.chdir(root)
    report = _run("--no-cache")
    assert "app/orders.py:12:5: APL102" in report
    assert "app/service.py:12:9: APL101" in report  # SlowGateway.charge, awaited by add_order
    assert "app/service.py:27:5: APL101" in report  # audit(), started by start()


# Statements the seeded edits insert at the top of a function body: blocking calls, calls of
# helpers, coroutines awaited or started, locals. (text, only in an `async def`)
_STATEMENTS = [
    ("requests.get('http://example.com', timeout=1)", False),
    ("time.sleep(0)", False),
    ("start()", False),
    ("client = gateway()", False),
    ("made = SlowGateway()", False),
    ("asyncio.create_task(audit())", False),
    ("await audit()", True),
    ("await gateway().charge()", True),
    ("total = 1 + 2", False),
]
_DEF = re.compile(r"^(\s*)(async )?def \w+\(.*\):\n", re.MULTILINE)


def _seeded_edit(root: Path, rng: random.Random) -> None:
    name = rng.choice(["app/orders.py", "app/service.py"])
    path = root / name
    text = path.read_text(encoding="utf-8")
    found = list(_DEF.finditer(text))
    where = rng.choice(found)
    choices = [text for text, needs_async in _STATEMENTS if where.group(2) or not needs_async]
    line = f"{where.group(1)}    {rng.choice(choices)}\n"
    path.write_text(text[: where.end()] + line + text[where.end() :], encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_seeded_body_edits_give_what_a_cold_run_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random body edits (seeded): after each, the run on the cache prints what a cold run
    prints, whether the index was kept or built again."""
    files = {name: textwrap.dedent(text) for name, text in FILES.items()}
    files["app/orders.py"] = "import asyncio\nimport time\n\n" + files["app/orders.py"].replace(
        "from app.service import Gateway, gateway, start",
        "from app.service import Gateway, SlowGateway, audit, gateway, start",
    )
    root = write_project(tmp_path / "p", files, config="")
    monkeypatch.chdir(root)
    _settle(root, 0)
    _run()
    rng = random.Random(seed)
    kept = 0
    for step in range(1, 9):
        _seeded_edit(root, rng)
        _settle(root, step)
        kept += _index_holds(root)
        assert _run() == _run("--no-cache"), (seed, step)
    assert kept  # some edits kept the index (else this tests the rebuild alone)
