"""What each project file held when it was last looked at, so unchanged files are not re-read.

A run needs the content key (a hash of the bytes) of many files: to find their cached facts,
to tell which files changed since the cached event-loop index was built. Reading and hashing
5,000 files costs more than the rest of an editor re-check, so the table remembers, per file,
the `(mtime_ns, size, inode)` it had when its key was computed. A file whose stat still
matches is taken as unchanged, except when its mtime is too close to the moment the table was
written (a file written twice within the filesystem's timestamp granularity keeps its stat):
such a "racy" entry is re-hashed, as git does for its index.

The table is one authenticated cache entry per project (see cache.py); a missing or damaged
table only means every file is hashed once more.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NamedTuple

from async_pitfalls_lint.cache import DiskCache, content_key
from async_pitfalls_lint.codec import Codec

# What the text prefilters saw (see project._TextScan): candidate, framework, asynchronous,
# class base names, launch hint, top-level imports.
ScanRow = tuple[bool, bool, bool, list[str], bool, list[str]]
# path -> (mtime_ns, size, inode, content key, scan); plus the time (ns) the table was written.
_Rows = dict[str, tuple[int, int, int, str, ScanRow]]
TABLE_CODEC: Codec[tuple[int, _Rows]] = Codec("files", tuple[int, _Rows])
# Entries whose mtime is within this of the table's writing are re-hashed (coarse filesystems).
_RACY_NS = 2_000_000_000


class FileState(NamedTuple):
    key: str  # content key
    size: int
    data: bytes | None  # the bytes, when they had to be read
    scan: ScanRow


class FileTable:
    """Stat-keyed content keys and text scans of one project's files, loaded once and saved
    when changed."""

    def __init__(
        self, cache: DiskCache | None, key: str, scanner: Callable[[bytes], ScanRow]
    ) -> None:
        self._cache = cache
        self._key = key
        self._scanner = scanner
        self._rows: _Rows = {}
        self._written = 0
        self._loaded = False
        self._dirty = False
        self.hashed = 0  # files read and hashed in this process (tests, profiling)

    def _load(self) -> None:
        self._loaded = True
        if self._cache is None:
            return
        stored = self._cache.get(self._key, TABLE_CODEC)
        if stored is not None:
            self._written, self._rows = stored

    def state(self, path: str) -> FileState | None:
        """What the file holds now (None: unreadable)."""
        if not self._loaded:
            self._load()
        try:
            info = os.stat(path)
        except OSError:
            return None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        row = self._rows.get(path)
        if row is not None and row[:3] == stamp and info.st_mtime_ns + _RACY_NS < self._written:
            return FileState(row[3], info.st_size, None, row[4])
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        self.hashed += 1
        key = content_key(data)
        scan = row[4] if row is not None and row[3] == key else self._scanner(data)
        if len(data) == info.st_size:  # not rewritten while we read it
            new = (*stamp, key, scan)
            # A racy row that has settled is written again, with a later stamp, to be trusted.
            if row != new or time.time_ns() > info.st_mtime_ns + _RACY_NS:
                self._rows[path] = new
                self._dirty = True
        return FileState(key, len(data), data, scan)

    def save(self) -> None:
        """Write the table if it learnt anything, stamped with the time of writing."""
        if not self._dirty or self._cache is None:
            return
        self._dirty = False
        now = time.time_ns()
        # Entries that were racy at the last write and are settled now are trusted next time.
        self._cache.put(self._key, TABLE_CODEC, (now, self._rows))
        self._written = now
