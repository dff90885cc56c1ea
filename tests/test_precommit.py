"""The pre-commit hooks in .pre-commit-hooks.yaml, run by pre-commit itself on a scratch repo.

The first test uses the manifest's hook as a `repo: local` hook with `language: system`, pointing
at the installed command (no network). The network test uses this checkout as the hook
repository at its HEAD commit, so pre-commit builds the hook's own environment from PyPI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pre_commit.clientlib import load_manifest

CHECKOUT = Path(__file__).resolve().parent.parent
MANIFEST = CHECKOUT / ".pre-commit-hooks.yaml"

BLOCKING = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/report")
async def report():
    time.sleep(1)
    return {}
"""
FIXED = BLOCKING.replace("import time", "import asyncio").replace(
    "time.sleep(1)", "await asyncio.sleep(1)"
)


def _hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}


def test_manifest_is_valid_and_declares_both_hooks() -> None:
    hooks = _hooks()
    assert sorted(hooks) == ["async-pitfalls-lint", "async-pitfalls-lint-fix"]
    check, fix = hooks["async-pitfalls-lint"], hooks["async-pitfalls-lint-fix"]
    assert check["entry"] == "async-pitfalls-lint check"
    assert fix["entry"] == "async-pitfalls-lint fix"
    for hook in (check, fix):
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["require_serial"] is True


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _scratch_repo(tmp_path: Path, config: dict[str, Any]) -> Path:
    repo = tmp_path / "service"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "Developer")
    (repo / "pyproject.toml").write_text('[project]\nname = "service"\n', encoding="utf-8")
    (repo / "app.py").write_text(BLOCKING, encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    _git(repo, "add", ".")
    return repo


def _pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _assert_fails_then_passes(repo: Path, home: Path) -> None:
    failing = _pre_commit(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "async-pitfalls-lint" in failing.stdout
    assert "Failed" in failing.stdout
    assert "app.py:10:5: APL101 time.sleep() in async route GET /report (report)" in failing.stdout
    (repo / "app.py").write_text(FIXED, encoding="utf-8")
    _git(repo, "add", "app.py")
    passing = _pre_commit(repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
    assert "APL101" not in passing.stdout


def test_check_hook_as_a_local_system_hook(tmp_path: Path) -> None:
    hook = dict(_hooks()["async-pitfalls-lint"])
    command = Path(sys.executable).parent / "async-pitfalls-lint"
    assert command.exists()
    local = {
        "id": hook["id"],
        "name": hook["name"],
        "entry": hook["entry"].replace("async-pitfalls-lint", str(command), 1),
        "language": "system",
        "types": hook["types"],
        "require_serial": hook["require_serial"],
    }
    repo = _scratch_repo(tmp_path, {"repos": [{"repo": "local", "hooks": [local]}]})
    _assert_fails_then_passes(repo, tmp_path / "pre-commit-home")


@pytest.mark.network
def test_check_hook_from_this_repository(tmp_path: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.strip()
    committed = subprocess.run(
        ["git", "cat-file", "-e", f"{head}:.pre-commit-hooks.yaml"], cwd=CHECKOUT, check=False
    )
    assert committed.returncode == 0, "HEAD must contain .pre-commit-hooks.yaml"
    config = {
        "repos": [{"repo": str(CHECKOUT), "rev": head, "hooks": [{"id": "async-pitfalls-lint"}]}]
    }
    repo = _scratch_repo(tmp_path, config)
    _assert_fails_then_passes(repo, tmp_path / "pre-commit-home")
