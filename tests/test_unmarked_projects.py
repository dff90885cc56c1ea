"""An application without pyproject.toml, setup.py, setup.cfg or .git: its project is the
folder the user checks (or works in), so its modules still resolve each other; checked one
file at a time from elsewhere, a file's own folder is its project, as before."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import pytest

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.cli import main
from async_pitfalls_lint.config import find_project_root
from async_pitfalls_lint.project import fallback_roots

from fuzzing import parse_report, run_flake8

FILES = {
    "backend/app/__init__.py": "",
    "backend/app/main.py": """\
        from fastapi import FastAPI

        from app.services.reports import load_report

        app = FastAPI()


        @app.get("/reports/{name}")
        async def report(name: str):
            return load_report(name)
        """,
    "backend/app/services/__init__.py": "",
    "backend/app/services/reports.py": """\
        import requests


        def load_report(name):
            return requests.get(f"https://reports.example.com/{name}", timeout=5).json()
        """,
    # Started from backend/: the launch file makes backend/ the source root of `app`.
    "backend/Procfile": "web: uvicorn app.main:app --port $PORT\n",
    "requirements.txt": "fastapi\nrequests\n",
}
EXPECTED = "backend/app/main.py:10:12: APL202"


@pytest.fixture
def unmarked(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    # The premise of these tests: nothing above the temporary folder marks a project.
    assert find_project_root(root) is None, f"a project marker above {root}"
    return root


def _elsewhere(tmp_path: Path) -> Path:
    """A working folder that does not hold the project's files."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _check(*args: str) -> str:
    reset_analyses()
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["check", "--no-cache", "--exit-zero", *args], stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def test_the_folder_checked_is_the_project(
    unmarked: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(_elsewhere(tmp_path))
    report = _check(os.fspath(unmarked))
    assert f"service/{EXPECTED}" in report.replace(os.sep, "/")
    assert report.count("APL") == 1


def test_the_working_folder_is_the_project(unmarked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(unmarked)
    assert EXPECTED in _check(".")
    assert EXPECTED in _check("backend/app/main.py")  # one file: still the working folder's


def test_one_file_checked_from_elsewhere_is_its_own_folder(
    unmarked: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing says where the project is: the file's folder, where `app` is not found."""
    monkeypatch.chdir(_elsewhere(tmp_path))
    assert "APL" not in _check(os.fspath(unmarked / "backend/app/main.py"))


def test_home_and_filesystem_roots_are_never_fallbacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", os.fspath(tmp_path))
    monkeypatch.chdir(tmp_path)
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    assert fallback_roots([inner, tmp_path / "a", os.path.abspath(os.sep)]) == (
        os.fspath(tmp_path / "a"),
        os.fspath(inner),
    )


def test_flake8_takes_the_working_folder(unmarked: Path) -> None:
    completed = run_flake8(["--select=APL", "."], unmarked)
    assert "Traceback" not in completed.stderr, completed.stderr
    assert [key for key, _ in parse_report(completed.stdout)] == [
        ("backend/app/main.py", 10, 12, "APL202")
    ]
