"""Automatic fixes: built at check time (`attach_fixes`), applied by `async-pitfalls-lint fix`.

    attach.py   which finding gets which fix, or the reason it has none; RECIPES maps the
                knowledge base's recipe ids to their builders
    edits.py    the builders: the text edits of each fix, from a call's character offsets
    imports.py  the names a fix needs (`asyncio`, `run_in_threadpool`) and the import to add
    apply.py    applying fixes to files: non-overlapping edits, re-parsing, rounds, diffs

apply.py uses the runner, which uses the analysis, which uses attach.py: it is not imported here.
The exports are imported on first use: building fixes needs libcst, and a run whose results
come from the cache must not pay for importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from async_pitfalls_lint.fixes.attach import RECIPES, attach_fixes
    from async_pitfalls_lint.fixes.imports import Unavailable

__all__ = ["RECIPES", "Unavailable", "attach_fixes"]


def __getattr__(name: str) -> Any:
    if name in ("RECIPES", "attach_fixes"):
        from async_pitfalls_lint.fixes import attach  # noqa: PLC0415

        return getattr(attach, name)
    if name == "Unavailable":
        from async_pitfalls_lint.fixes.imports import Unavailable  # noqa: PLC0415

        return Unavailable
    raise AttributeError(name)
