"""One process builds the event-loop index; the others wait for it (flake8 workers, two CLI
runs at once), and a lock left by a killed process never blocks a run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.cache import BuildLock
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.scopes import EventLoopIndex

from fuzzing import write_project

ROUTES = {
    f"app/routes/r{index}.py": textwrap.dedent(
        f"""\
        import time

        from fastapi import APIRouter

        router = APIRouter()


        @router.get("/r{index}")
        async def route_{index}():
            time.sleep(1)
        """
    )
    for index in range(12)
}
MAIN = "from fastapi import FastAPI\n\napp = FastAPI()\n" + "".join(
    f"from app.routes import r{index}\napp.include_router(r{index}.router)\n" for index in range(12)
)


def _project(tmp_path: Path) -> Path:
    files = {"app/__init__.py": "", "app/routes/__init__.py": "", "app/main.py": MAIN, **ROUTES}
    return write_project(tmp_path / "p", files, config="")


def _counting_scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count index scans (and slow each down, so that concurrent builds would overlap)."""
    scans: list[int] = []
    original = EventLoopIndex._scan_project

    def scan(self: EventLoopIndex) -> object:
        scans.append(threading.get_ident())
        time.sleep(0.5)
        return original(self)

    monkeypatch.setattr(EventLoopIndex, "_scan_project", scan)
    return scans


def _reasons(analysis: Analysis, root: Path) -> list[tuple[str, str]]:
    return sorted(
        (os.path.basename(path), qualname)
        for path in analysis.project.python_files()
        for qualname in analysis.index.reasons_in(path)
    )


def test_two_builders_at_once_scan_the_project_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    scans = _counting_scans(monkeypatch)
    settings = load_settings(root)
    analyses = [Analysis(root, settings), Analysis(root, settings)]
    found: list[list[tuple[str, str]]] = [[], []]

    def build(slot: int) -> None:
        found[slot] = _reasons(analyses[slot], root)

    threads = [threading.Thread(target=build, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(scans) == 1  # the second waited for the first's index
    assert found[0] == found[1]
    assert len(found[0]) == 12


def test_a_lock_left_by_a_killed_process_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    scans = _counting_scans(monkeypatch)
    settings = load_settings(root)
    analysis = Analysis(root, settings)
    cache = analysis.project.cache
    assert cache is not None
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = analysis.index._key()
    held = cache.try_lock(key)  # creates the folder, then pretend a dead process holds it
    assert held is not None
    held.path.write_text(gone.stdout)
    assert not cache.locked(key)
    started = time.monotonic()
    assert len(_reasons(analysis, root)) == 12
    assert time.monotonic() - started < 30  # no wait for the dead owner
    assert len(scans) == 1
    assert not held.path.exists()  # released after the build


def test_a_live_lock_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    lock = BuildLock.create(path)
    assert lock is not None
    assert BuildLock.held(path)
    assert BuildLock.create(path) is None
    lock.release()
    assert not BuildLock.held(path)
    assert BuildLock.create(path) is not None
