"""The progress line `check` draws on a terminal: `checked 120/800 files`, redrawn in place at
most a few times a second (never once per file: on a big project that would be thousands of
terminal writes a second), and always at the end of the run, before it is cleared."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

INTERVAL = 0.25  # seconds between redraws: four updates a second at most


class ProgressLine:
    def __init__(
        self,
        stream: TextIO | None,
        total: int,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.interval = interval
        self.clock = clock
        self._drawn_at: float | None = None
        self.writes = 0

    def update(self, done: int) -> None:
        """Show `done` files checked, unless the line was redrawn less than `interval` ago
        (the last file is always shown)."""
        if self.stream is None:
            return
        now = self.clock()
        recent = self._drawn_at is not None and now - self._drawn_at < self.interval
        if recent and done < self.total:
            return
        self._drawn_at = now
        self.writes += 1
        self.stream.write(f"\rchecked {done}/{self.total} files")
        self.stream.flush()

    def close(self) -> None:
        """Clear the line (when anything was drawn)."""
        if self.stream is not None and self.total:
            self.stream.write("\r\033[K")
            self.stream.flush()
