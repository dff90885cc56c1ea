"""The stat-keyed file table: few changed rows are written alone, and no row is trusted that was
not hashed after its file last changed (the racy case)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from async_pitfalls_lint import filestate
from async_pitfalls_lint.cache import DiskCache, content_key
from async_pitfalls_lint.filestate import (
    RECENT_CODEC,
    TABLE_CODEC,
    FileTable,
    ScanRow,
    pack_scan,
    unpack_scan,
)

_KEY = "files-table"


def _scan(data: bytes) -> ScanRow:
    return (
        b"async" in data,
        False,
        b"async" in data,
        ["Base"] if b"class" in data else [],
        False,
        [],
    )


def _files(root: Path, count: int) -> list[str]:
    """`count` files with distinct mtimes an hour in the past (settled, not racy)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    past = time.time() - 3600
    for index in range(count):
        path = root / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        os.utime(path, (past + index, past + index))
        paths.append(str(path))
    return paths


def _table(cache: DiskCache) -> FileTable:
    return FileTable(cache, _KEY, _scan)


def _saved_table(tmp_path: Path, count: int) -> tuple[DiskCache, list[str]]:
    """A cache holding the whole table of `count` settled files, and their paths."""
    cache = DiskCache(tmp_path / "cache", namespace=str(tmp_path))
    paths = _files(tmp_path / "src", count)
    table = _table(cache)
    _read_all(table, paths)
    table.save()
    return cache, paths


def _read_all(table: FileTable, paths: list[str]) -> list[str]:
    keys = []
    for path in paths:
        state = table.state(path)
        assert state is not None
        keys.append(state.key)
    return keys


def test_packed_scan_rows_round_trip() -> None:
    for row in [
        (True, False, True, ["BaseModel", "Generic"], False, ["fastapi", "os"]),
        (False, False, False, [], True, []),
    ]:
        assert unpack_scan(pack_scan(row)) == row
    assert unpack_scan("1x01||") is None
    assert unpack_scan("0101|a") is None


def test_one_changed_file_writes_the_amendment_not_the_table(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache", namespace=str(tmp_path))
    paths = _files(tmp_path / "src", 20)
    first = _table(cache)
    _read_all(first, paths)
    assert first.hashed == 20
    first.save()
    whole = cache.get(_KEY, TABLE_CODEC)
    assert whole is not None
    assert len(whole[1]) == 20

    Path(paths[3]).write_text("x = 'changed'\n")
    os.utime(paths[3], (time.time() - 600, time.time() - 600))
    second = _table(cache)
    keys = _read_all(second, paths)
    assert second.hashed == 1  # only the changed file is read again
    assert keys[3] == content_key(b"x = 'changed'\n")
    second.save()
    assert cache.get(_KEY, TABLE_CODEC) == whole  # the whole table was not written again
    recent = cache.get(_KEY, RECENT_CODEC)
    assert recent is not None
    assert list(recent[2]) == [paths[3]]
    assert recent[1] == whole[0]

    third = _table(cache)
    assert _read_all(third, paths) == keys
    assert third.hashed == 0  # the amendment is read with the table


def test_an_amendment_of_an_older_table_is_ignored(tmp_path: Path) -> None:
    cache, paths = _saved_table(tmp_path, 5)
    written, rows = cache.get(_KEY, TABLE_CODEC) or (0, {})
    forged = dict(rows)
    forged[paths[0]] = (*rows[paths[0]][:3], "0" * 40, rows[paths[0]][4])
    # An amendment of another (older) table, as a crash between two writes could leave.
    cache.put(_KEY, RECENT_CODEC, (written + 1, written - 1, {paths[0]: forged[paths[0]]}))
    fresh = _table(cache)
    assert _read_all(fresh, paths)[0] == content_key(b"x = 0\n")
    assert fresh.hashed == 0


def test_many_changed_rows_rewrite_the_whole_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filestate, "_MAX_RECENT", 2)
    cache, paths = _saved_table(tmp_path, 6)
    first_written = (cache.get(_KEY, TABLE_CODEC) or (0, {}))[0]
    past = time.time() - 600
    for index, path in enumerate(paths[:4]):
        Path(path).write_text(f"y = {index}\n")
        os.utime(path, (past + index, past + index))
    second = _table(cache)
    keys = _read_all(second, paths)
    second.save()
    whole = cache.get(_KEY, TABLE_CODEC)
    assert whole is not None
    assert whole[0] > first_written
    third = _table(cache)
    assert _read_all(third, paths) == keys
    assert third.hashed == 0


def test_a_racy_row_is_not_trusted_by_a_later_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file hashed within the timestamp granularity of its last change may change again with
    the same stat: its row must be hashed again before it is trusted, even when another file's
    change makes the table be written after the window has passed."""
    monkeypatch.setattr(filestate, "_RACY_NS", 300_000_000)
    cache, paths = _saved_table(tmp_path, 3)
    racy = paths[0]
    Path(racy).write_text("x = 'racy'\n")  # mtime: now, within the window
    second = _table(cache)
    second.state(racy)
    second.save()  # the racy row is written, within the window
    stamp = os.stat(racy)
    # The same size and mtime, other bytes: only hashing again can tell.
    Path(racy).write_text("x = 'RACY'\n")
    os.utime(racy, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    time.sleep(0.4)
    third = _table(cache)
    Path(paths[1]).write_text("x = 'other'\n")
    os.utime(paths[1], (time.time() - 300, time.time() - 300))
    third.state(paths[1])  # another file only: the racy row is not looked at
    third.save()  # after the window: an unchecked racy row must not get this stamp
    fourth = _table(cache)
    state = fourth.state(racy)
    assert state is not None
    assert state.key == content_key(b"x = 'RACY'\n")
