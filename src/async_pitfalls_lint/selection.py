"""Which codes are reported: defaults from the catalog, then select/extend-select/ignore and
per-file ignores. The most specific matching selector wins; on a tie, ignore wins (as in ruff).
"""

from __future__ import annotations

import fnmatch

from async_pitfalls_lint.catalog import Catalog
from async_pitfalls_lint.config import Settings


class Selection:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self._defaults = {rule.code for rule in catalog.rules if rule.default}
        self._select = settings.select
        self._extend = settings.extend_select
        self._ignore = settings.ignore
        self._per_file = settings.per_file_ignores
        self._memo: dict[tuple[str, str], bool] = {}

    def enabled(self, code: str, display_path: str = "") -> bool:
        key = (code, display_path)
        known = self._memo.get(key)
        if known is None:
            known = self._decide(code) and not self._ignored_for_file(code, display_path)
            self._memo[key] = known
        return known

    def _decide(self, code: str) -> bool:
        selected = (
            _longest(code, self._select) if self._select else (3 if code in self._defaults else -1)
        )
        extended = _longest(code, self._extend)
        ignored = _longest(code, self._ignore)
        chosen = max(selected, extended)
        if chosen < 0:
            return False
        return ignored < chosen

    def _ignored_for_file(self, code: str, display_path: str) -> bool:
        if not display_path:
            return False
        for glob, codes in self._per_file:
            if _path_matches(display_path, glob) and _longest(code, codes) >= 0:
                return True
        return False


def _longest(code: str, selectors: tuple[str, ...]) -> int:
    best = -1
    for selector in selectors:
        if code.startswith(selector):
            best = max(best, len(selector))
    return best


def _path_matches(display_path: str, glob: str) -> bool:
    return fnmatch.fnmatch(display_path, glob) or fnmatch.fnmatch(
        display_path.rsplit("/", 1)[-1], glob
    )
