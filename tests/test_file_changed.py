"""`Project.file_changed`: a long-lived process told that a file changed on disk, was created,
was deleted, or that an editor closed its unsaved buffer, sees the disk again."""

from __future__ import annotations

import os
from pathlib import Path

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.config import Settings

MAIN = """\
from fastapi import FastAPI

from helpers import wait

app = FastAPI()


@app.get("/")
async def index():
    wait()
    return {}
"""
BLOCKING = "import time\n\n\ndef wait():\n    time.sleep(1)\n"
HARMLESS = "def wait():\n    return None\n"


def _project(tmp_path: Path, helpers: str | None) -> tuple[Analysis, str, str]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "main.py").write_text(MAIN)
    if helpers is not None:
        (tmp_path / "helpers.py").write_text(helpers)
    analysis = Analysis(tmp_path, Settings(cache=False))
    return analysis, os.fspath(tmp_path / "main.py"), os.fspath(tmp_path / "helpers.py")


def _codes(analysis: Analysis, path: str) -> list[str]:
    return [finding.code for finding in analysis.check(path).findings]


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    analysis, main, helpers = _project(tmp_path, HARMLESS)
    assert _codes(analysis, main) == []
    Path(helpers).write_text(BLOCKING)
    assert _codes(analysis, main) == []  # facts are kept in memory until told
    analysis.project.file_changed(helpers)
    assert _codes(analysis, main) == ["APL201"]


def test_an_unsaved_buffer_is_dropped(tmp_path: Path) -> None:
    analysis, main, helpers = _project(tmp_path, HARMLESS)
    analysis.project.set_content(helpers, BLOCKING.encode())
    assert _codes(analysis, main) == ["APL201"]
    analysis.project.file_changed(helpers)
    assert _codes(analysis, main) == []


def test_created_and_deleted_files(tmp_path: Path) -> None:
    analysis, main, helpers = _project(tmp_path, None)
    assert _codes(analysis, main) == []
    assert helpers not in analysis.project.python_files()
    Path(helpers).write_text(BLOCKING)
    analysis.project.file_changed(helpers)
    assert _codes(analysis, main) == ["APL201"]
    assert helpers in analysis.project.python_files()
    Path(helpers).unlink()
    analysis.project.file_changed(helpers)
    assert _codes(analysis, main) == []
    assert helpers not in analysis.project.python_files()


def test_a_created_package_folder(tmp_path: Path) -> None:
    analysis, main, _ = _project(tmp_path, None)
    Path(main).write_text(MAIN.replace("from helpers", "from pkg.helpers"))
    analysis.project.file_changed(main)
    assert _codes(analysis, main) == []
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "helpers.py").write_text(BLOCKING)
    for name in ("__init__.py", "helpers.py"):
        analysis.project.file_changed(os.fspath(tmp_path / "pkg" / name))
    assert _codes(analysis, main) == ["APL201"]
