from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from async_pitfalls_lint.analysis import reset_analyses


@pytest.fixture(autouse=True, scope="session")
def _private_user_folders(tmp_path_factory: pytest.TempPathFactory):
    """The user cache and config folders (the cache and its secret) of every run in the tests,
    in-process and in subprocesses, are the session's own, never the developer's."""
    saved = {name: os.environ.get(name) for name in _USER_FOLDERS}
    base = tmp_path_factory.mktemp("user")
    for name in _USER_FOLDERS:
        os.environ[name] = str(base / name.lower())
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_USER_FOLDERS = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def _fresh_analysis_state():
    """Each test sees the files it wrote, not another test's project state."""
    reset_analyses()
    yield
    reset_analyses()
