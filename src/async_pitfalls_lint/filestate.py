"""What each project file held when it was last looked at, so unchanged files are not re-read.

A run needs the content key (a hash of the bytes) of many files: to find their cached facts,
to tell which files changed since the cached event-loop index was built. Reading and hashing
5,000 files costs more than the rest of an editor re-check, so the table remembers, per file,
the `(mtime_ns, size, inode)` it had when its key was computed. A file whose stat still
matches is taken as unchanged, except when its mtime is too close to the moment the table was
written (a file written twice within the filesystem's timestamp granularity keeps its stat):
such a "racy" entry is re-hashed, as git does for its index.

The table is two authenticated cache entries per project (see cache.py): the whole table, and
the rows that changed since it was written. An editor re-check changes one row, so it writes
the small entry, not 5,000 rows; the whole table is written again once many rows changed. The
small entry names the whole table it amends (by its time of writing), so after a crash between
the two writes a stale amendment is ignored. A missing or damaged entry only means some files
are hashed once more.
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
# path -> (mtime_ns, size, inode, content key, packed scan, digest of the facts without
# positions or ""); plus the time (ns) of writing.
_Row = tuple[int, int, int, str, str, str]
_Rows = dict[str, _Row]
TABLE_CODEC: Codec[tuple[int, _Rows]] = Codec("files", tuple[int, _Rows])
# The rows changed since the whole table was written: (time of writing, the whole table's time
# of writing, rows).
RECENT_CODEC: Codec[tuple[int, int, _Rows]] = Codec("files-recent", tuple[int, int, _Rows])
# Entries whose mtime is within this of the table's writing are re-hashed (coarse filesystems).
_RACY_NS = 2_000_000_000
# More changed rows than this and the whole table is written again.
_MAX_RECENT = 256


class FileState(NamedTuple):
    key: str  # content key
    size: int
    data: bytes | None  # the bytes, when they had to be read
    scan: str  # what the text prefilters saw, packed (pack_scan): the table's own string
    interface: str  # the digest of its facts without positions, "" when not known


def pack_scan(scan: ScanRow) -> str:
    """A scan row as one string (flags, then comma-separated identifiers): the table is read on
    every run, and one string per file decodes far faster than a nested list."""
    candidate, framework, asynchronous, bases, launch, imports = scan
    flags = "".join("1" if flag else "0" for flag in (candidate, framework, asynchronous, launch))
    return f"{flags}|{','.join(bases)}|{','.join(imports)}"


_FLAGS = ("candidate", "framework", "asynchronous", "launch")  # their order in pack_scan


def scan_flag(packed: str, flag: str) -> bool:
    """One flag of a packed scan (`candidate`, `framework`, `asynchronous` or `launch`)."""
    return packed[_FLAGS.index(flag)] == "1"


def valid_scan(packed: str) -> bool:
    """Whether a string has the shape pack_scan gives (a damaged table row does not)."""
    return (
        len(packed) >= 6
        and packed[4] == "|"
        and packed.count("|") == 2
        and not packed[:4].strip("01")
    )


def unpack_scan(packed: str) -> ScanRow | None:
    parts = packed.split("|")
    if len(parts) != 3 or len(parts[0]) != 4 or parts[0].strip("01"):
        return None
    flags = [flag == "1" for flag in parts[0]]
    bases = parts[1].split(",") if parts[1] else []
    imports = parts[2].split(",") if parts[2] else []
    return (flags[0], flags[1], flags[2], bases, flags[3], imports)


class FileTable:
    """Stat-keyed content keys and text scans of one project's files, loaded once and saved
    when changed."""

    def __init__(
        self, cache: DiskCache | None, key: str, scanner: Callable[[bytes], ScanRow]
    ) -> None:
        self._cache = cache
        self._key = key
        self._scanner = scanner
        self._rows: _Rows = {}  # the whole table as last written
        self._written = 0
        self._recent: _Rows = {}  # rows changed since
        self._recent_written = 0
        self._loaded = False
        self._dirty = False
        self._hashed_here: set[str] = set()  # rows computed by this process
        self.hashed = 0  # files read and hashed in this process (tests, profiling)
        # What each file held when this process first looked: one run sees one snapshot, and
        # one stat per file however many times the run asks (see forget).
        self._seen: dict[str, FileState | None] = {}
        self._stamps: dict[str, tuple[int, int, int] | None] = {}

    def _load(self) -> None:
        self._loaded = True
        if self._cache is None:
            return
        stored = self._cache.get(self._key, TABLE_CODEC)
        if stored is None:
            return
        self._written, self._rows = stored
        recent = self._cache.get(self._key, RECENT_CODEC)
        if recent is not None and recent[1] == self._written:
            self._recent_written, _, self._recent = recent

    def _row(self, path: str) -> tuple[_Row | None, int]:
        """The row known for a file, and when the entry holding it was written."""
        row = self._recent.get(path)
        if row is not None:
            return row, self._recent_written
        return self._rows.get(path), self._written

    def forget(self, path: str) -> None:
        """Look at the file again next time (a long-lived process told it changed)."""
        self._seen.pop(path, None)
        self._stamps.pop(path, None)

    def stamp(self, path: str) -> tuple[int, int, int] | None:
        """(mtime_ns, size, inode) of a file, once per process (None: it cannot be read)."""
        if path in self._stamps:
            return self._stamps[path]
        try:
            info = os.stat(path)
        except OSError:
            found = None
        else:
            found = (info.st_mtime_ns, info.st_size, info.st_ino)
        self._stamps[path] = found
        return found

    def state(self, path: str) -> FileState | None:
        """What the file holds now (None: unreadable)."""
        if path in self._seen:
            return self._seen[path]
        found = self._state(path)
        # Without the bytes: a cold run hashes every file, and its callers read a file again
        # when they need its bytes after this first look.
        self._seen[path] = found._replace(data=None) if found is not None else None
        return found

    def _state(self, path: str) -> FileState | None:
        if not self._loaded:
            self._load()
        stamp = self.stamp(path)
        if stamp is None:
            return None
        mtime, size, _ = stamp
        row, written = self._row(path)
        trusted = row is not None and row[:3] == stamp and mtime + _RACY_NS < written
        if trusted and row is not None and valid_scan(row[4]):
            return FileState(row[3], size, None, row[4], row[5])
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        self.hashed += 1
        key = content_key(data)
        same = row is not None and row[3] == key
        known = row[4] if row is not None and same and valid_scan(row[4]) else None
        scan = known if known is not None else pack_scan(self._scanner(data))
        interface = row[5] if row is not None and same else ""
        if len(data) == size:  # not rewritten while we read it
            new = (*stamp, key, scan, interface)
            # A racy row that has settled is written again, with a later stamp, to be trusted.
            if row != new or time.time_ns() > mtime + _RACY_NS:
                self._recent[path] = new
                self._hashed_here.add(path)
                self._dirty = True
        return FileState(key, len(data), data, scan, interface)

    def note_interface(self, path: str, key: str, interface: str) -> None:
        """Remember the facts digest of a file whose row holds content `key`."""
        row, written = self._row(path)
        if row is None or row[3] != key or row[5] == interface:
            return
        if path not in self._hashed_here and row[0] + _RACY_NS >= written:
            return  # a racy row must be hashed again before it can be amended
        self._recent[path] = (*row[:5], interface)
        self._dirty = True
        seen = self._seen.get(path)
        if seen is not None and seen.key == key:
            self._seen[path] = seen._replace(interface=interface)

    def save(self) -> None:
        """Write what the table learnt, stamped with the time of writing: the changed rows
        alone while they are few, else the whole table. A row only gets the new stamp when it
        was computed now; a racy row read from an earlier entry is dropped (hashed again next
        time), so that rewriting an entry never makes an unchecked row trusted."""
        if not self._dirty or self._cache is None:
            return
        self._dirty = False
        now = time.time_ns()
        recent = self._settled(self._recent, self._recent_written)
        if self._written and len(recent) <= _MAX_RECENT:
            self._cache.put(self._key, RECENT_CODEC, (now, self._written, recent))
            self._recent, self._recent_written = recent, now
        else:
            rows = self._settled(self._rows, self._written)
            rows.update(recent)
            self._cache.put(self._key, TABLE_CODEC, (now, rows))
            self._rows, self._written, self._recent = rows, now, {}
        self._hashed_here.clear()

    def _settled(self, rows: _Rows, written: int) -> _Rows:
        return {
            path: row
            for path, row in rows.items()
            if path in self._hashed_here or row[0] + _RACY_NS < written
        }
