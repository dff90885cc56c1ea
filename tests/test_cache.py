"""The on-disk cache (cache.py) never changes a result.

The oracle of every test is a cold run without the cache (`--no-cache`). A cache that is cold,
warm, written by a run killed with SIGKILL mid-write, written by two runs at once, written by
another tool version, damaged, read-only, or holding the facts of an older content of a file
must give exactly the oracle's output. In-process tests also count parses, so a test cannot
pass because the cache was silently never used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import async_pitfalls_lint.cache as cache_module
from async_pitfalls_lint.analysis import analysis_for, reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.cache import DiskCache, content_key, default_cache_dir
from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.filestate import RECENT_CODEC, TABLE_CODEC
from async_pitfalls_lint.project import FACTS_CODEC
from async_pitfalls_lint.results import RESULT_CODEC, RESULTS_KIND
from async_pitfalls_lint.roots import ROOTS_CODEC
from async_pitfalls_lint.runner import RUN_CODEC
from async_pitfalls_lint.scopes import INDEX_KIND, StoredIndex

from fuzzing import parse_report, run_flake8, run_tool, write_project

ROUTES = 30  # with services.py, main.py and __init__.py: over the 24 files of the parallel path
SERVICES = """\
import subprocess
import time

import requests


def helper_0():
    time.sleep(1)


def helper_1():
    return requests.get("http://example.com", timeout=1)


def helper_2():
    subprocess.run(["true"], check=True)
"""
ROUTE = """\
import time

from fastapi import APIRouter

from app.services import helper_{k}

router = APIRouter()


@router.get("/r{i}")
async def route_{i}():
    time.sleep({i})
    helper_{k}()
    return {{}}
"""
# A cache may be created here: no `cache = false`.
CACHED = "max-depth = 10\n"


def _tree(root: Path) -> Path:
    files: dict[str, str | bytes] = {"app/__init__.py": "", "app/services.py": SERVICES}
    main = ["from fastapi import FastAPI", ""]
    main += [f"from app.routes import r{i}" for i in range(ROUTES)]
    main += ["", "app = FastAPI()"] + [f"app.include_router(r{i}.router)" for i in range(ROUTES)]
    files["app/main.py"] = "\n".join(main) + "\n"
    files["app/routes/__init__.py"] = ""
    for i in range(ROUTES):
        files[f"app/routes/r{i}.py"] = ROUTE.format(i=i, k=i % 3)
    return write_project(root, files, CACHED)


def _cache_dir(root: Path) -> Path:
    """The project's folder in the user cache (the tests' own, see conftest.py)."""
    return default_cache_dir(str(root.resolve()))


def _disk(root: Path) -> DiskCache:
    return DiskCache(_cache_dir(root), namespace=str(root.resolve()))


_CODECS: dict[str, Codec[object]] = {
    codec.name: codec  # type: ignore[misc]
    for codec in (FACTS_CODEC, RUN_CODEC, ROOTS_CODEC, TABLE_CODEC, RECENT_CODEC, RESULT_CODEC)
}


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    completed = run_tool(["async_pitfalls_lint", "check", *args, "."], root)
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed


def _oracle(
    root: Path, codes: frozenset[str] = frozenset({"APL101", "APL201", "APL202", "APL205"})
) -> str:
    stdout = _cli(root, "--no-cache", "--jobs", "1").stdout
    assert {key[3] for key, _ in parse_report(stdout)} == codes  # direct and cross-module findings
    return stdout


def _entries(root: Path) -> list[Path]:
    return sorted(_cache_dir(root).rglob("*.json"))


def _assert_entries_valid(root: Path) -> None:
    """Every entry on disk reads back through DiskCache under its own key and kind."""
    disk = _disk(root)
    entries = _entries(root)
    assert entries, "the run wrote no cache entries"
    for entry in entries:
        assert entry.parent == disk.directory
        kind = max(
            (
                name
                for name in (*_CODECS, INDEX_KIND, RESULTS_KIND)
                if entry.stem.startswith(name + "-")
            ),
            key=len,
        )
        # The key a run used is either the whole name (project-state keys start with their
        # kind) or the name after the kind (content keys, the file table's amendment).
        keys = (entry.stem, entry.stem[len(kind) + 1 :])
        if kind == RESULTS_KIND:
            results = disk.get_bundle(entry.stem, RESULTS_KIND)
            assert results is not None, entry
            assert all(results.part(name, RESULT_CODEC) for name in results.names()), entry
            continue
        if kind == INDEX_KIND:
            bundle = disk.get_bundle(entry.stem, INDEX_KIND)
            stored = StoredIndex.parse(bundle) if bundle is not None else None
            assert stored is not None, entry
            assert stored.handlers(), entry  # every handler's part decodes
            assert any(stored.reasons_in(path) for path in stored.files), entry
            continue
        assert any(disk.get(key, _CODECS[kind]) is not None for key in keys), entry


def _python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


# -- cold, warm, serial, parallel, flake8 --------------------------------------------------------
def test_cold_and_warm_runs_agree_serial_and_parallel(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    assert not _cache_dir(root).exists()
    for jobs in ("1", "2"):
        shutil.rmtree(_cache_dir(root), ignore_errors=True)
        assert _cli(root, "--jobs", jobs).stdout == oracle  # cold, writing the cache
        assert (
            len(_entries(root)) >= ROUTES + 2
        )  # routes, services, main (empty __init__s may not be parsed)
        _assert_entries_valid(root)
        assert _cli(root, "--jobs", jobs).stdout == oracle  # warm


def test_flake8_with_and_without_the_cache(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    cold = run_flake8(["--select=APL", "--jobs=2", "--async-pitfalls-no-cache", "."], root)
    assert not _cache_dir(root).exists()
    writing = run_flake8(["--select=APL", "--jobs=2", "."], root)
    assert _entries(root)
    warm = run_flake8(["--select=APL", "--jobs=2", "."], root)
    assert cold.returncode == writing.returncode == warm.returncode == 1
    assert "Traceback" not in cold.stderr + writing.stderr + warm.stderr
    cold_keys = sorted(key for key, _ in parse_report(cold.stdout))
    assert len(cold_keys) == 2 * ROUTES
    assert sorted(key for key, _ in parse_report(writing.stdout)) == cold_keys
    assert sorted(key for key, _ in parse_report(warm.stdout)) == cold_keys


def _in_process(root: Path) -> tuple[list[tuple[str, int, int, str]], int]:
    """(findings, files parsed) of a fresh in-process run."""
    reset_analyses()
    settings = load_settings(root)
    results = check_paths([root], settings)
    findings = sorted(
        (result.path, finding.line, finding.column, finding.code)
        for result in results
        for finding in result.findings
    )
    return findings, analysis_for(root / "app" / "main.py", settings).project.parse_count


def test_a_warm_run_parses_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    cold, cold_parses = _in_process(root)
    assert len(cold) == 2 * ROUTES
    assert cold_parses >= ROUTES + 1
    warm, warm_parses = _in_process(root)
    assert warm == cold
    assert warm_parses == 0


# -- damaged entries ------------------------------------------------------------------------------
def _damage(entries: list[Path], other: Path) -> None:
    """Six kinds of damage, one entry each."""
    truncated, emptied, flipped, garbage, foreign, swapped = entries[:6]
    truncated.write_bytes(truncated.read_bytes()[: len(truncated.read_bytes()) // 2])
    emptied.write_bytes(b"")
    data = bytearray(flipped.read_bytes())
    data[-10] ^= 0x40
    flipped.write_bytes(bytes(data))
    garbage.write_bytes(os.urandom(300))
    foreign.write_bytes(pickle.dumps((None, "a foreign pickle: never trusted")))
    swapped.write_bytes(other.read_bytes())  # a valid entry, stored under another key


def test_damaged_entries_are_misses_and_are_rewritten(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    cold, _ = _in_process(root)
    entries = _entries(root)
    assert len(entries) >= 7
    _damage(entries[:6], entries[6])
    damaged, parses = _in_process(root)
    assert damaged == cold
    assert parses == 6  # exactly the damaged entries were misses
    _assert_entries_valid(root)  # and were rewritten
    assert _in_process(root) == (cold, 0)
    _damage(_entries(root)[:6], _entries(root)[6])
    assert _cli(root, "--jobs", "2").stdout == oracle


def test_leftover_temporary_files_are_ignored(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    cold, _ = _in_process(root)
    for entry in _entries(root):
        (entry.parent / f".tmp-{entry.stem}.part").write_bytes(entry.read_bytes()[:7])
    assert _in_process(root) == (cold, 0)


# -- other versions -------------------------------------------------------------------------------
def _poison(root: Path) -> Path:
    """Entries for every file saying it cannot be analysed; returns the folder written."""
    disk = _disk(root)
    for path in _python_files(root):
        disk.put(content_key(path.read_bytes()), FACTS_CODEC, (None, "POISON from another cache"))
    return disk.directory


def test_entries_of_another_version_format_or_data_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    folders = set()
    with monkeypatch.context() as patch:
        patch.setattr(cache_module, "__version__", "0.0.1-older")
        folders.add(_poison(root))
    with monkeypatch.context() as patch:
        patch.setattr(cache_module, "_FORMAT", cache_module._FORMAT + 1)
        folders.add(_poison(root))
    with monkeypatch.context() as patch:
        patch.setattr(cache_module, "_data_fingerprint", lambda: "0123456789abcdef")
        folders.add(_poison(root))
    current = _disk(root).directory
    assert len(folders) == 3
    assert current not in folders
    assert _cli(root, "--jobs", "1").stdout == oracle
    assert _cli(root, "--jobs", "2").stdout == oracle
    # The poison is effective where it belongs: written for this version, it is read.
    shutil.rmtree(current)
    _poison(root)
    poisoned = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    poisoned_paths = {
        key[0] for key, message in parse_report(poisoned.stdout) if "POISON" in message
    }
    assert {f"app/routes/r{i}.py" for i in range(ROUTES)} <= poisoned_paths


# -- a cache folder that cannot be written --------------------------------------------------------
def test_unwritable_cache_folder_degrades_with_one_warning(tmp_path: Path) -> None:
    """cache-dir lies under a regular file, so the folder can never be created (the same
    failure as a read-only folder, and one that holds even for root)."""
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    (root / "blocker").write_text("a file, not a folder\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text(encoding="utf-8") + 'cache-dir = "blocker/cache"\n',
        encoding="utf-8",
    )
    for jobs in ("1", "2"):
        completed = _cli(root, "--jobs", jobs)
        assert completed.stdout == oracle
        warnings = [line for line in completed.stderr.splitlines() if "warning" in line]
        assert len(warnings) == 1, completed.stderr
        assert "cache disabled: cannot write to" in warnings[0]
        assert "blocker" in warnings[0]
    flake8 = run_flake8(["--select=APL", "--jobs=2", "."], root)
    assert flake8.returncode == 1
    assert "Traceback" not in flake8.stderr
    assert len(parse_report(flake8.stdout)) == 2 * ROUTES


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes whatever the mode")
def test_read_only_cache_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    _cli(root, "--jobs", "1")
    entries = _entries(root)
    entries[0].unlink()  # a miss that has to be written
    folders = [path for path in _cache_dir(root).rglob("*") if path.is_dir()] + [_cache_dir(root)]
    for folder in folders:
        folder.chmod(0o555)
    try:
        completed = _cli(root, "--jobs", "1")
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert completed.stdout == oracle
    assert "cache disabled" in completed.stderr


def test_read_only_file_system_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "p")
    cold, cold_parses = _in_process(root)
    shutil.rmtree(_cache_dir(root))

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(cache_module, "_warned", set())
    capsys.readouterr()
    findings, parses = _in_process(root)
    assert findings == cold
    assert parses == cold_parses
    err = capsys.readouterr().err
    assert err.count("async-pitfalls-lint: warning: cache disabled") == 1, err
    assert "Read-only file system" in err


# -- killed mid-write -----------------------------------------------------------------------------
KILLER = """
import os, signal, sys
import async_pitfalls_lint.cache as cache

calls = 0
write = cache._atomic_write


def dying_write(path, data):
    global calls
    calls += 1
    if calls == {n}:
        # Write half of the entry into its temporary file, then die as with `kill -9`.
        handle, temporary = cache.tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        os.write(handle, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, data)


cache._atomic_write = dying_write
from async_pitfalls_lint.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("nth", [1, 3, 17])
def test_killed_while_writing_an_entry(tmp_path: Path, nth: int) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER.format(n=nth), "check", "--jobs", "1", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert list(_cache_dir(root).rglob(".tmp-*.part")), "the kill did not interrupt a write"
    # The first two writes are the folder's .gitignore and CACHEDIR.TAG, then one per entry.
    assert len(_entries(root)) == max(0, nth - 3)
    for jobs in ("1", "2"):
        assert _cli(root, "--jobs", jobs).stdout == oracle
    _assert_entries_valid(root)


def test_killed_at_random_moments(tmp_path: Path) -> None:
    """SIGKILL a real parallel run (its whole process group) at several moments; every rerun
    on what it left behind matches the oracle."""
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5):
        shutil.rmtree(_cache_dir(root), ignore_errors=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "async_pitfalls_lint", "check", "--jobs", "2", "."],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        assert _cli(root, "--jobs", "1").stdout == oracle
        _assert_entries_valid(root)


# -- concurrent runs ------------------------------------------------------------------------------
def test_concurrent_runs_on_one_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    flake8_cold = sorted(
        key
        for key, _ in parse_report(
            run_flake8(["--select=APL", "--async-pitfalls-no-cache", "."], root).stdout
        )
    )
    for _ in range(2):
        shutil.rmtree(_cache_dir(root), ignore_errors=True)
        commands = [
            [sys.executable, "-m", "async_pitfalls_lint", "check", "--jobs", "2", "."],
            [sys.executable, "-m", "async_pitfalls_lint", "check", "--jobs", "1", "."],
            [sys.executable, "-m", "async_pitfalls_lint", "check", "--jobs", "2", "."],
        ]
        processes = [
            subprocess.Popen(
                command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for command in commands
        ]
        flake8 = run_flake8(["--select=APL", "--jobs=2", "."], root)
        outputs = [process.communicate(timeout=300) for process in processes]
        for stdout, stderr in outputs:
            assert stdout == oracle, stderr
            assert "Traceback" not in stderr
        assert sorted(key for key, _ in parse_report(flake8.stdout)) == flake8_cold
        _assert_entries_valid(root)
        assert _cli(root, "--jobs", "1").stdout == oracle


# -- a cache holding an older content of a file ---------------------------------------------------
def test_cache_from_an_older_content(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    oracle = _oracle(root)
    assert _cli(root, "--jobs", "2").stdout == oracle  # the cache holds the old contents
    services = root / "app" / "services.py"
    route = root / "app" / "routes" / "r0.py"
    old_services, old_route = services.read_bytes(), route.read_bytes()
    # helper_0 stops blocking; r0 gains a second direct call.
    services.write_text(SERVICES.replace("    time.sleep(1)\n", "    return 1\n"), encoding="utf-8")
    route.write_text(
        ROUTE.format(i=0, k=0).replace("    helper_0()\n", "    helper_0()\n    open('x')\n"),
        encoding="utf-8",
    )
    new_oracle = _oracle(root, frozenset({"APL101", "APL103", "APL202", "APL205"}))
    assert new_oracle != oracle
    assert "APL201" not in new_oracle
    assert "r0.py:14:5: APL103" in new_oracle
    for jobs in ("1", "2"):
        assert _cli(root, "--jobs", jobs).stdout == new_oracle
    services.write_bytes(old_services)
    route.write_bytes(old_route)
    for jobs in ("1", "2"):
        assert _cli(root, "--jobs", jobs).stdout == oracle
    flake8 = run_flake8(["--select=APL", "."], root)
    assert len(parse_report(flake8.stdout)) == 2 * ROUTES
