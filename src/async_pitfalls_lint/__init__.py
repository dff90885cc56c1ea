"""async-pitfalls-lint: blocking calls on the event loop of FastAPI and Starlette services."""

from __future__ import annotations

__version__ = "0.2.0"

from async_pitfalls_lint.api import check_paths, check_source
from async_pitfalls_lint.model import ChainStep, FileProblem, Finding

__all__ = ["ChainStep", "FileProblem", "Finding", "__version__", "check_paths", "check_source"]
