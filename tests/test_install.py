"""The documented install steps, as written, in fresh virtualenvs: `pip install .` in a checkout
and `pip install "git+<repository>@v<version>"` (here a clone with the release tag, reached
through a file:// URL, since the public repository does not exist yet). Both download the
dependencies from PyPI, hence the `network` marker."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from test_precommit import BLOCKING, _tagged_clone

pytestmark = pytest.mark.network


def _fresh_venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return folder / ("Scripts" if sys.platform == "win32" else "bin")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=900
    )


def _assert_installed(bin_dir: Path, version: str, tmp_path: Path) -> None:
    tool = bin_dir / "async-pitfalls-lint"
    assert _run([str(tool), "--version"], tmp_path).stdout == f"async-pitfalls-lint {version}\n"
    project = tmp_path / "service"
    project.mkdir(exist_ok=True)
    (project / "app.py").write_text(BLOCKING, encoding="utf-8")
    (project / "pyproject.toml").write_text('[project]\nname = "service"\n', encoding="utf-8")
    check = _run([str(tool), "check", "--no-cache", "."], project)
    assert check.returncode == 1, check.stderr
    assert "app.py:10:5: APL101 time.sleep()" in check.stdout
    flake8 = _run([str(bin_dir / "flake8"), "--select=APL", "."], project)
    assert "app.py:10:5: APL101 time.sleep()" in flake8.stdout, flake8.stderr


def test_pip_install_from_a_checkout(tmp_path: Path) -> None:
    clone, tag = _tagged_clone(tmp_path)
    bin_dir = _fresh_venv(tmp_path / "venv")
    installed = _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "."], clone)
    assert installed.returncode == 0, installed.stderr
    _assert_installed(bin_dir, tag.removeprefix("v"), tmp_path)


def test_pip_install_from_a_git_url_at_the_release_tag(tmp_path: Path) -> None:
    clone, tag = _tagged_clone(tmp_path)
    bin_dir = _fresh_venv(tmp_path / "venv")
    url = f"git+{clone.as_uri()}@{tag}"
    installed = _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", url], tmp_path)
    assert installed.returncode == 0, installed.stderr
    _assert_installed(bin_dir, tag.removeprefix("v"), tmp_path)
