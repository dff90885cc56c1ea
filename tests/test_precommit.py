"""The pre-commit hooks in .pre-commit-hooks.yaml, run by pre-commit itself on a scratch repo.

The first test uses the manifest's hook as a `repo: local` hook with `language: system`, pointing
at the installed command (no network). The network tests use this repository as users do: the
documented `repo:` + `rev: vX.Y.Z` form against a clone holding the release tag (made here, in
the clone, the way docs/releasing.md makes it), the hook repository at its HEAD commit, and
flake8 with the plugin installed from a checkout path in `additional_dependencies`. pre-commit
builds those environments from PyPI, hence the `network` marker.
"""

from __future__ import annotations

import os
import re
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


def _assert_fails_then_passes(repo: Path, home: Path, hook: str = "async-pitfalls-lint") -> None:
    failing = _pre_commit(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert hook in failing.stdout
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
    head = _head()
    committed = subprocess.run(
        ["git", "cat-file", "-e", f"{head}:.pre-commit-hooks.yaml"], cwd=CHECKOUT, check=False
    )
    assert committed.returncode == 0, "HEAD must contain .pre-commit-hooks.yaml"
    config = {
        "repos": [{"repo": str(CHECKOUT), "rev": head, "hooks": [{"id": "async-pitfalls-lint"}]}]
    }
    repo = _scratch_repo(tmp_path, config)
    _assert_fails_then_passes(repo, tmp_path / "pre-commit-home")


def _head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.strip()


def _tagged_clone(tmp_path: Path) -> tuple[Path, str]:
    """A clone of this repository at HEAD with the release tag of HEAD's version, made as
    docs/releasing.md says (`git tag -a vX.Y.Z`)."""
    clone = tmp_path / "async-pitfalls-lint"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-checkout", str(CHECKOUT), str(clone)],
        check=True,
        capture_output=True,
    )
    _git(clone, "checkout", "--quiet", "--detach", _head())
    init = (clone / "src" / "async_pitfalls_lint" / "__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"$', init, re.M)
    assert version is not None
    tag = f"v{version.group(1)}"
    subprocess.run(["git", "tag", "-d", tag], cwd=clone, capture_output=True, check=False)
    _git(
        clone,
        "-c",
        "user.name=Release",
        "-c",
        "user.email=release@example.com",
        "tag",
        "-a",
        tag,
        "-m",
        f"async-pitfalls-lint {version.group(1)}",
    )
    return clone, tag


@pytest.mark.network
def test_both_hooks_from_a_tagged_clone(tmp_path: Path) -> None:
    """`repo: <clone>` + `rev: v<version>` with both hooks: the check hook reports the blocking
    call and fails, the fix hook fixes it (pre-commit fails the run because it changed a file);
    after staging the fix, both pass."""
    clone, tag = _tagged_clone(tmp_path)
    config = {
        "repos": [
            {
                "repo": str(clone),
                "rev": tag,
                "hooks": [{"id": "async-pitfalls-lint"}, {"id": "async-pitfalls-lint-fix"}],
            }
        ]
    }
    repo = _scratch_repo(tmp_path, config)
    home = tmp_path / "pre-commit-home"
    failing = _pre_commit(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "app.py:10:5: APL101 time.sleep() in async route GET /report (report)" in failing.stdout
    assert "files were modified by this hook" in failing.stdout
    assert (repo / "app.py").read_text(encoding="utf-8") == FIXED
    _git(repo, "add", "app.py")
    passing = _pre_commit(repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert passing.stdout.count("Passed") == 2, passing.stdout


@pytest.mark.network
def test_flake8_with_the_plugin_from_a_checkout_path(tmp_path: Path) -> None:
    """flake8 in a pre-commit environment with `additional_dependencies` holding an absolute path
    to a checkout (the form docs/usage.md gives until the package is published). A `repo: local`
    python hook installs them exactly as flake8's own hook repository would."""
    clone, _ = _tagged_clone(tmp_path)
    hook = {
        "id": "flake8",
        "name": "flake8",
        "entry": "flake8",
        "language": "python",
        "types": ["python"],
        "args": ["--select=APL"],
        "additional_dependencies": ["flake8>=6", str(clone)],
    }
    repo = _scratch_repo(tmp_path, {"repos": [{"repo": "local", "hooks": [hook]}]})
    _assert_fails_then_passes(repo, tmp_path / "pre-commit-home", hook="flake8")
