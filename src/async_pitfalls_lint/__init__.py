"""async-pitfalls-lint: blocking calls on the event loop of FastAPI and Starlette services."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"

from async_pitfalls_lint.model import ChainStep, FileProblem, Finding

if TYPE_CHECKING:
    from async_pitfalls_lint.api import check_paths, check_source

__all__ = ["ChainStep", "FileProblem", "Finding", "__version__", "check_paths", "check_source"]

# The analysis (libcst and the knowledge base) loads on first use, so that the pytest plugin,
# which every pytest run of an environment with this package imports, costs nothing when off.
_LAZY_API = ("check_paths", "check_source")


def __getattr__(name: str) -> object:
    if name in _LAZY_API:
        from async_pitfalls_lint import api  # noqa: PLC0415 (loaded on first use, see above)

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
