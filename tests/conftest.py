from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from async_pitfalls_lint.analysis import reset_analyses

# Tests of tests/test_cache.py that kill or race real runs (tens of seconds together): slow.
_SLOW_CACHE_TESTS = ("test_killed_", "test_concurrent_runs")


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Property-based tests (hypothesis) and the cache's kill and race tests are `slow`: plain
    `pytest` deselects them (see `addopts` in pyproject.toml), `pytest -m "slow or network"`
    runs them."""
    for item in items:
        function = getattr(item, "function", None)
        property_based = getattr(function, "is_hypothesis_test", False)
        cache_race = item.path.name == "test_cache.py" and item.name.startswith(_SLOW_CACHE_TESTS)
        if property_based or cache_race:
            item.add_marker(pytest.mark.slow)


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
