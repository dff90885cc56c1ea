"""The cache is data, never code, and only entries this user wrote for this project are read.

Every test plants something where a cache entry could be found — in the checked project (what
a pull request can do) or in the cache folder itself — runs an ordinary check, and asserts that
nothing planted ran and nothing planted was believed: the findings are those of a run without
the cache, and in-process runs count the parses the planted entries forced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

import async_pitfalls_lint
from async_pitfalls_lint.analysis import analysis_for, reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.cache import (
    DiskCache,
    default_cache_dir,
    secret_path,
)
from async_pitfalls_lint.codec import Codec, CodecError
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.facts import ModuleFacts
from async_pitfalls_lint.project import FACTS_CODEC, analyse_text
from async_pitfalls_lint.runner import RUN_CODEC

from fuzzing import parse_report, run_tool, write_project

FIXTURES = Path(__file__).parent / "fixtures"
ROUTE = """\
import time

from fastapi import FastAPI

from app.helpers import pause

app = FastAPI()


@app.get("/report")
async def report():
    time.sleep(1)
    pause()
    return {}
"""
HELPERS = """\
import time


def pause():
    time.sleep(2)
"""
EXPECTED = {("app/main.py", 12, 5, "APL101"), ("app/main.py", 13, 5, "APL201")}


def _project(root: Path, config: str = "max-depth = 10\n") -> Path:
    return write_project(
        root, {"app/__init__.py": "", "app/main.py": ROUTE, "app/helpers.py": HELPERS}, config
    )


def _check(root: Path) -> set[tuple[str, int, int, str]]:
    completed = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    return {key for key, _ in parse_report(completed.stdout)}


def _in_process(root: Path) -> tuple[set[tuple[str, int, int, str]], int]:
    """(findings, files parsed) of a fresh in-process run over the project."""
    reset_analyses()
    settings = load_settings(root)
    found = {
        (result.path.split(f"{root.name}/", 1)[-1], item.line, item.column + 1, item.code)
        for result in check_paths([root], settings)
        for item in result.findings
    }
    project = analysis_for(root / "app" / "main.py", settings).project
    return found, project.parse_count


def _python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _cache_folder(root: Path) -> Path:
    return DiskCache(default_cache_dir(str(root.resolve())), str(root.resolve())).directory


# -- where the cache lives -----------------------------------------------------------------------
def test_the_cache_is_outside_the_project_and_the_project_is_left_as_it_was(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "service")
    before = sorted(path.relative_to(root) for path in root.rglob("*"))
    assert _check(root) == EXPECTED
    assert _check(root) == EXPECTED  # warm
    assert sorted(path.relative_to(root) for path in root.rglob("*")) == before
    assert list(_cache_folder(root).glob("facts-*.json")), "the run wrote no cache entries"
    secret = secret_path()
    assert root not in secret.parents
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) & 0o077 == 0


def test_cache_dir_keeps_the_cache_in_the_project_on_request(tmp_path: Path) -> None:
    root = _project(tmp_path / "service", 'cache-dir = ".lint-cache"\n')
    assert _check(root) == EXPECTED
    entries = list((root / ".lint-cache").rglob("facts-*.json"))
    assert entries
    assert (root / ".lint-cache" / ".gitignore").read_text(encoding="utf-8").endswith("*\n")
    assert not default_cache_dir(str(root.resolve())).exists()


def test_a_configured_existing_folder_gets_no_gitignore(tmp_path: Path) -> None:
    """`cache-dir` may name a folder that exists (a pull request may set it to the project
    root): the cache adds its own folder there, never a `.gitignore` that would hide files."""
    root = _project(tmp_path / "service", 'cache-dir = "."\n')
    assert _check(root) == EXPECTED
    assert not (root / ".gitignore").exists()
    assert list(root.glob("v*/facts-*.json"))


# -- planted, forged, copied, damaged and linked entries are misses ------------------------------
def _facts_entries(root: Path) -> list[Path]:
    entries = sorted(_cache_folder(root).glob("facts-*.json"))
    assert len(entries) == 2, entries  # main and helpers (the empty __init__ is not parsed)
    return entries


def _lying_facts() -> bytes:
    """Facts that would hide every finding if they were believed."""
    return FACTS_CODEC.dumps((ModuleFacts(), None))


def test_a_forged_entry_is_a_miss(tmp_path: Path) -> None:
    root = _project(tmp_path / "service")
    assert _in_process(root)[0] == EXPECTED
    for entry in _facts_entries(root):
        header = entry.read_bytes().split(b"\n", 2)
        forged_mac = hashlib.blake2b(
            _lying_facts(), key=os.urandom(32), digest_size=32, person=b"apl-cache-3"
        ).hexdigest()
        entry.write_bytes(header[0] + b"\n" + forged_mac.encode() + b"\n" + _lying_facts())
    assert _in_process(root) == (EXPECTED, 2)


def test_an_entry_with_the_right_mac_for_other_data_is_a_miss(tmp_path: Path) -> None:
    """Swapping the payload under a valid MAC (or the MAC of one entry onto another)."""
    root = _project(tmp_path / "service")
    _in_process(root)
    entries = _facts_entries(root)
    headers = [entry.read_bytes().split(b"\n", 2) for entry in entries]
    for (magic, mac, _), entry in zip(headers, entries, strict=True):
        entry.write_bytes(magic + b"\n" + mac + b"\n" + _lying_facts())
    assert _in_process(root) == (EXPECTED, 2)


def test_an_entry_copied_from_another_project_is_a_miss(tmp_path: Path) -> None:
    """Two projects with the same files: an entry is authenticated for the project it was
    written for, so one project's entries copied into another's cache are all misses."""
    first = _project(tmp_path / "first")
    second = _project(tmp_path / "second")
    assert _in_process(first) == (EXPECTED, 2)
    target = _cache_folder(second)
    target.mkdir(parents=True)
    for entry in _cache_folder(first).glob("*.json"):
        shutil.copyfile(entry, target / entry.name)
    assert _in_process(second) == (EXPECTED, 2)
    assert _in_process(second) == (EXPECTED, 0)  # its own entries, once written, are read


def test_truncated_empty_and_garbage_entries_are_misses(tmp_path: Path) -> None:
    root = _project(tmp_path / "service")
    _in_process(root)
    for damage in (
        lambda data: data[:-5],
        lambda _data: b"",
        lambda _data: os.urandom(512),
        lambda data: data[: len(data) // 2],
    ):
        for entry in _facts_entries(root):
            entry.write_bytes(damage(entry.read_bytes()))
        assert _in_process(root) == (EXPECTED, 2)
    assert _in_process(root) == (EXPECTED, 0)  # rewritten


def test_a_symbolic_link_entry_is_a_miss(tmp_path: Path) -> None:
    """An entry that links to a file elsewhere (here: the valid entry of another file) is
    never followed."""
    root = _project(tmp_path / "service")
    _in_process(root)
    entries = _facts_entries(root)
    elsewhere = tmp_path / "elsewhere.json"
    shutil.copyfile(entries[1], elsewhere)
    for entry in entries:
        entry.unlink()
        entry.symlink_to(elsewhere)
    assert _in_process(root) == (EXPECTED, 2)


def test_a_cache_folder_that_is_a_symbolic_link_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "somewhere-else"
    target.mkdir()
    root = _project(tmp_path / "service", 'cache-dir = ".lint-cache"\n')
    (root / ".lint-cache").symlink_to(target, target_is_directory=True)
    completed = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    assert {key for key, _ in parse_report(completed.stdout)} == EXPECTED
    assert "cache disabled" in completed.stderr
    assert "symbolic link" in completed.stderr
    assert list(target.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_secret_others_can_read_turns_the_cache_off(tmp_path: Path) -> None:
    root = _project(tmp_path / "service")
    _check(root)  # creates the secret
    secret = secret_path()
    secret.chmod(0o644)
    try:
        completed = run_tool(["async_pitfalls_lint", "check", "--jobs", "1", "."], root)
    finally:
        secret.chmod(0o600)
    assert {key for key, _ in parse_report(completed.stdout)} == EXPECTED
    assert "cache disabled" in completed.stderr
    assert "other users" in completed.stderr


def test_an_entry_of_one_kind_is_not_read_as_another(tmp_path: Path) -> None:
    root = _project(tmp_path / "service")
    disk = DiskCache(tmp_path / "cache", str(root))
    disk.put("run-1", RUN_CODEC, [])
    entry = disk.directory / "run-1.json"
    (disk.directory / "facts-run-1.json").write_bytes(entry.read_bytes())
    assert disk.get("run-1", RUN_CODEC) == []
    assert disk.get("run-1", FACTS_CODEC) is None


# -- the codec ------------------------------------------------------------------------------------
def _fixture_sources() -> list[Path]:
    return sorted(path for path in FIXTURES.rglob("*.py"))


def test_facts_of_every_fixture_round_trip_exactly() -> None:
    sources = _fixture_sources()
    assert len(sources) > 50
    for source in sources:
        facts = analyse_text(source.read_text(encoding="utf-8"))
        assert FACTS_CODEC.loads(FACTS_CODEC.dumps((facts, None))) == (facts, None), source


_EMPTY_FACTS = [{}, {}, [], {}, {}, [], [], [], {}, False, "utf-8"]


def _entry(rows: object, body: object) -> bytes:
    return json.dumps([rows, body]).encode()


_ROUTE = """\
import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return requests.get("https://example.com").json()
"""


def test_positions_are_kept_apart_so_moved_facts_share_a_digest() -> None:
    facts = analyse_text(_ROUTE)
    moved = analyse_text("# a comment\n\n" + _ROUTE.replace("    return", "\n    return"))
    changed = analyse_text(_ROUTE.replace('"/"', '"/other"'))
    payloads = [FACTS_CODEC.dumps((value, None)) for value in (facts, moved, changed)]
    assert FACTS_CODEC.loads(payloads[0]) == (facts, None)
    assert FACTS_CODEC.loads(payloads[1]) == (moved, None)
    assert payloads[0] != payloads[1]  # the positions differ ...
    assert FACTS_CODEC.interface(payloads[0]) == FACTS_CODEC.interface(payloads[1])  # ... only
    assert FACTS_CODEC.interface(payloads[0]) != FACTS_CODEC.interface(payloads[2])


@pytest.mark.parametrize("tamper", ["fewer", "more", "not ints", "not a list"])
def test_positions_that_do_not_fit_the_record_are_refused(tamper: str) -> None:
    record, _, positions = FACTS_CODEC.dumps((analyse_text(_ROUTE), None)).partition(b"\n")
    numbers = json.loads(positions)
    assert numbers  # the route's def and call have positions
    replaced = {
        "fewer": numbers[:-1],
        "more": [*numbers, 7],
        "not ints": [*numbers[:-1], "7"],
        "not a list": {"line": 1},
    }[tamper]
    with pytest.raises(CodecError):
        FACTS_CODEC.loads(record + b"\n" + json.dumps(replaced).encode())


def test_the_codec_reads_the_shape_it_writes() -> None:
    assert FACTS_CODEC.loads(_entry([], [_EMPTY_FACTS, None])) == (ModuleFacts(), None)
    facts = ModuleFacts(bindings={"db": [("n", "", "get_db"), None]}, star_imports=[])
    rows = [[0, "n", "", "get_db"]]
    body = [[{"db": [0, None]}, *_EMPTY_FACTS[1:]], "why"]
    assert FACTS_CODEC.loads(_entry(rows, body)) == (facts, "why")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b"[null]",
        b"[null, 5]",
        b'{"__reduce__": "os.system"}',
        b"[" * 100_000 + b"]" * 100_000,
        _entry([], None) + b"x",
        _entry([], [[*_EMPTY_FACTS[:9], "yes", "utf-8"], None]),
        _entry([], [[*_EMPTY_FACTS, 1], None]),
        _entry([], [[[], *_EMPTY_FACTS[1:]], None]),
        _entry([], [_EMPTY_FACTS, None, None]),
        _entry([], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),  # no row 0
        _entry([[0, [1, 2]]], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),  # a list in a ref
        _entry([[0, {"a": 1}]], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),  # an object
        _entry([[2, "a", 0]], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),  # points at itself
        _entry([[4, "a"]], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),  # marks a missing item
        _entry([[-1, "a"]], [[{"db": [0]}, *_EMPTY_FACTS[1:]], None]),
        _entry([[0, "n"]], [[{"db": [True]}, *_EMPTY_FACTS[1:]], None]),
    ],
)
def test_the_codec_rejects_anything_but_the_exact_shape(payload: bytes) -> None:
    with pytest.raises(CodecError):
        FACTS_CODEC.loads(payload)


def test_the_codec_builds_only_the_types_it_was_given() -> None:
    codec: Codec[tuple[str, int]] = Codec("pair", tuple[str, int])
    assert codec.loads(codec.dumps(("a", 1))) == ("a", 1)
    for wrong in (b'["a", true]', b'["a", "1"]', b"[1, 1]", b'["a", 1, 2]'):
        with pytest.raises(CodecError):
            codec.loads(wrong)


def test_no_unpickling_anywhere_in_the_package() -> None:
    package = Path(async_pitfalls_lint.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in ("import pickle", "import marshal", "import shelve", "yaml.load("):
            assert forbidden not in text, f"{source.name} uses {forbidden}"


if sys.platform == "win32":  # pragma: no cover - symbolic links need privileges there
    pytestmark = pytest.mark.skip(reason="POSIX file semantics")
