from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from async_pitfalls_lint.analysis import reset_analyses


@pytest.fixture(autouse=True)
def _fresh_analysis_state():
    """Each test sees the files it wrote, not another test's project state."""
    reset_analyses()
    yield
    reset_analyses()
