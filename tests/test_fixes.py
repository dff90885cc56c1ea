"""The automatic fixes: fixture outputs, the guarantees, the `fix` command, a bounded fuzz run.

A fixture `tests/fixtures/<group>/<case>.py` may have siblings `<case>.fixed.py` (the expected
output of `fix`) and `<case>.unsafe.py` (of `fix --unsafe-fixes`). Each is checked exactly,
re-linted (no finding with a fix of the applied kind is left, and nothing new appears) and fixed
again, which must change nothing. Inline annotations say what each finding offers:
`# APL101:5 fix=safe`, `fix=unsafe`, or `no-fix="fragment of the reason"`.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pre_commit.clientlib import load_manifest

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.fixes import attach
from async_pitfalls_lint.fixes.apply import apply_edits, apply_fixes, compatible, fix_paths
from async_pitfalls_lint.fixes.cleanup import drop_unused_imports, removal_edits
from async_pitfalls_lint.fixes.layout import clear_line_length_cache, line_length_for, split_line
from async_pitfalls_lint.model import Edit, Finding, Fix, Span

from cases import OUTPUT_SUFFIXES, Case, discover_cases, is_output_file
from clirun import run_cli, run_process

CASES = discover_cases()
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"
MODES = {".fixed.py": False, ".unsafe.py": True}
FIX_NOTE = re.compile(r'\b(?:fix=(safe|unsafe)|no-fix="([^"]*)")')
ITEM = re.compile(r"\b(APL\d{3}):(\d+)")


# -- helpers ---------------------------------------------------------------------------------------
def _outputs(case: Case, suffix: str) -> dict[str, Path]:
    """The case's modules (relative paths) that have an expected output with `suffix`."""
    found = {}
    for case_file in case.files:
        source = case.source / case_file.relative if case.source.is_dir() else case.source
        expected = source.with_name(source.name.removesuffix(".py") + suffix)
        if expected.exists():
            found[case_file.relative] = expected
    return found


def _materialise(case: Case, target: Path) -> Path:
    project = case.materialise(target)
    for path in list(project.rglob("*.py")):
        if is_output_file(path):
            path.unlink()
    return project


def _findings(project: Path) -> list[tuple[str, Finding]]:
    reset_analyses()
    settings = load_settings(project)
    found = [
        (result.path, finding)
        for result in check_paths([project], settings)
        for finding in result.findings
    ]
    reset_analyses()
    return found


def _key(item: tuple[str, Finding]) -> tuple[str, str, str, str]:
    path, finding = item
    return (os.path.relpath(path), finding.code, finding.callee, finding.function)


def _applies(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def _snapshot(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*.py"))
    }


def _assert_parses_and_compiles(text: str, name: str) -> None:
    cst.parse_module(text)
    compile(text, name, "exec", dont_inherit=True)


FIX_RUNS = [
    pytest.param(case, suffix, id=f"{case.id}{suffix.removesuffix('.py')}")
    for case in CASES
    for suffix in OUTPUT_SUFFIXES
    if _outputs(case, suffix)
]


# -- fixtures with expected outputs ---------------------------------------------------------------
def test_fix_fixtures_exist() -> None:
    assert len(FIX_RUNS) >= 8
    groups = {param.values[0].id.split("/")[0] for param in FIX_RUNS}  # type: ignore[union-attr]
    assert "fixes" in groups


@pytest.mark.parametrize(("case", "suffix"), FIX_RUNS)
def test_fix_output_matches_and_is_stable(
    case: Case, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsafe = MODES[suffix]
    project = _materialise(case, tmp_path / "case")
    monkeypatch.chdir(project)
    before = _findings(project)
    settings = load_settings(project)

    run = fix_paths([project], settings, unsafe=unsafe)
    assert run.errors == []
    assert run.refused == []
    for relative, expected in _outputs(case, suffix).items():
        actual = (project / relative).read_bytes()
        assert actual.decode("utf-8") == expected.read_text(encoding="utf-8"), relative
        _assert_parses_and_compiles(actual.decode("utf-8"), relative)

    # Re-linted: no fix of the applied kind is left, nothing new appears, the fixed ones are gone.
    after = _findings(project)
    assert [f for _, f in after if _applies(f, unsafe)] == []
    fixed = Counter(_key(item) for item in before if _applies(item[1], unsafe))
    left = Counter(_key(item) for item in after)
    assert left - Counter(_key(item) for item in before) == Counter(), "new findings"
    for key, count in fixed.items():
        assert left[key] <= Counter(_key(item) for item in before)[key] - count, key

    # Fixing again changes nothing.
    snapshot = _snapshot(project)
    reset_analyses()
    again = fix_paths([project], settings, unsafe=unsafe)
    assert again.changed == []
    assert _snapshot(project) == snapshot


FIX_NOTED = [case for case in CASES if case.id.startswith("fixes/")]


@pytest.mark.parametrize("case", FIX_NOTED, ids=lambda case: case.id)
def test_fix_annotations(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fix=safe`, `fix=unsafe` and `no-fix="reason"` after an expectation say what the finding
    offers; every finding of a fixes/ case is annotated."""
    project = _materialise(case, tmp_path / "case")
    monkeypatch.chdir(project)
    notes: dict[tuple[str, int, int, str], tuple[str, str]] = {}
    for case_file in case.files:
        source = case.source / case_file.relative if case.source.is_dir() else case.source
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            comment = line.partition("#")[2]
            items = ITEM.findall(comment)
            note = FIX_NOTE.search(comment)
            if items:
                assert note is not None, f"{case_file.relative}:{number} needs a fix note"
                for code, column in items:
                    notes[(case_file.relative, number, int(column), code)] = note.groups("")
    found = {(path, f.line, f.column + 1, f.code): f for path, f in _findings(project)}
    assert set(found) == set(notes)
    for key, (kind, reason) in notes.items():
        finding = found[key]
        if kind:
            assert finding.fix is not None, (key, finding.fix_unavailable)
            assert finding.fix.safe == (kind == "safe"), key
            assert finding.fix.edits, key
            assert finding.fix_unavailable == ""
        else:
            assert finding.fix is None, key
            assert reason in finding.fix_unavailable, (key, finding.fix_unavailable)


# -- applying edits -------------------------------------------------------------------------------
def _finding(line: int, fix: Fix | None) -> Finding:
    return Finding("m.py", "APL101", "message", Span(line, 0, line, 1), "sleep", fix=fix)


def test_overlapping_fixes_keep_the_first_and_defer_the_other() -> None:
    first = Fix("a", True, (Edit(0, 0, "import asyncio\n"), Edit(10, 20, "x")))
    shared = Fix("b", True, (Edit(0, 0, "import asyncio\n"), Edit(30, 31, "y")))  # same import
    clashing = Fix("c", True, (Edit(15, 25, "z"),))  # inside first's replacement
    touching = Fix("d", True, (Edit(20, 20, "w"), Edit(30, 30, "v")))  # at the ends: fine
    same_point = Fix("e", True, (Edit(20, 20, "u"),))  # two insertions at one point: which first?
    chosen, deferred = compatible([first, shared, clashing, touching, same_point])
    assert (chosen, deferred) == ([0, 1, 3], [2, 4])


def test_apply_edits_splices_in_order_and_shares_identical_edits() -> None:
    text = "time.sleep(1)\n"
    edits = [Edit(0, 10, "await asyncio.sleep"), Edit(0, 0, "import asyncio\n")] * 2
    assert apply_edits(text, edits) == "import asyncio\nawait asyncio.sleep(1)\n"
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits(text, [Edit(0, 5, "a"), Edit(3, 6, "b")])


def test_a_fix_that_breaks_the_file_is_refused_and_the_others_kept() -> None:
    text = "def f():\n    return g(1)\n"
    good = _finding(2, Fix("rename", True, (Edit(20, 21, "h"),)))
    broken = _finding(2, Fix("break", True, (Edit(22, 23, "(("),)))
    applied = apply_fixes(text, [good, broken], must_compile=True)
    assert applied.text == "def f():\n    return h(1)\n"
    assert applied.fixed == [good]
    assert [(finding, "syntax error" in why) for finding, why in applied.refused] == [
        (broken, True)
    ]
    # Parses with libcst but does not compile: refused too.
    awaiting = _finding(2, Fix("await", True, (Edit(20, 20, "await "),)))
    refused = apply_fixes(text, [awaiting], must_compile=True)
    assert refused.text == text
    assert refused.refused == [(awaiting, "the fixed code does not compile")]


# -- the fix command -------------------------------------------------------------------------------
APP = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/sleep")
async def sleepy():
    time.sleep(1)
    return {}
"""
UNFIXABLE = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/config")
async def config():
    with open("config.json") as handle:
        return {"name": handle.name}
"""
CLEAN = """\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    await asyncio.sleep(1)
    return {}
"""
IN_CLASS_BODY = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/odd")
async def odd():
    class Settings:
        started = time.sleep(0)

    return {"settings": Settings.started}
"""


def make_project(root: Path, files: dict[str, str | bytes], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.async-pitfalls-lint]\ncache = false\n{config}',
        encoding="utf-8",
    )
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def test_fix_diff_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {"app.py": APP})
    result = run_cli("fix", "--diff", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("--- a/app.py\n+++ b/app.py\n")
    assert "+import asyncio\n" in result.stdout
    assert "-    time.sleep(1)\n+    await asyncio.sleep(1)\n" in result.stdout
    assert "would fix 1 finding in 1 file, 0 findings left" in result.stderr
    assert (project / "app.py").read_text(encoding="utf-8") == APP
    # The diff applies with `patch -p1` / `git apply` to give what `fix` writes.
    applied = subprocess.run(
        ["git", "apply", "-"], input=result.stdout, cwd=project, text=True, check=False
    )
    assert applied.returncode == 0
    fixed = (project / "app.py").read_text(encoding="utf-8")
    (project / "app.py").write_text(APP, encoding="utf-8")
    assert run_cli("fix", cwd=project).returncode == 0
    assert (project / "app.py").read_text(encoding="utf-8") == fixed


def test_fix_writes_only_changed_files_and_exit_codes(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", {"app.py": APP, "clean.py": CLEAN, "config.py": UNFIXABLE}
    )
    os.utime(project / "clean.py", ns=(1_000_000_000, 1_000_000_000))
    os.utime(project / "config.py", ns=(1_000_000_000, 1_000_000_000))
    result = run_process("fix", cwd=project)
    # open() has no fix: the finding is left, with its reason, and the status is 1.
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("config.py:8:10: APL103 open()")
    assert result.stdout.endswith(
        "[no fix: open() returns a file object that the code goes on "
        "to use; use aiofiles or anyio.open_file instead]\n"
    )
    assert "fixed 1 finding in 1 file, 1 finding left" in result.stderr
    assert "await asyncio.sleep(1)" in (project / "app.py").read_text(encoding="utf-8")
    for unchanged in ("clean.py", "config.py"):
        assert (project / unchanged).stat().st_mtime_ns == 1_000_000_000
    # Nothing left to fix: 0 with nothing to do, 0 once everything is fixed.
    (project / "config.py").unlink()
    assert run_cli("fix", cwd=project).returncode == 0
    second = make_project(tmp_path / "q", {"app.py": APP})
    assert run_cli("fix", "-q", cwd=second).returncode == 0
    assert run_cli("fix", "-q", "app.py", cwd=second).returncode == 0


def test_fix_exit_2_on_errors(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {"app.py": IN_CLASS_BODY})
    # `await` in a class body does not compile: the fix is refused, the file left alone.
    result = run_cli("fix", cwd=project)
    assert result.returncode == 2
    assert "app.py:11:19: APL101 fix refused: the fixed code does not compile" in result.stderr
    assert (project / "app.py").read_text(encoding="utf-8") == IN_CLASS_BODY
    assert run_cli("fix", "missing.py", cwd=project).returncode == 2
    assert run_cli("fix", "-", cwd=project).returncode == 2


def test_unsafe_fixes_only_on_request(tmp_path: Path) -> None:
    source = APP.replace("import time\n", "import time\n\nimport requests\n").replace(
        "    return {}", '    return requests.get("https://example.com", timeout=1).json()'
    )
    source = source.replace("time.sleep(1)", 'page = requests.get("https://example.com")')
    project = make_project(tmp_path / "p", {"app.py": source})
    safe = run_cli("fix", cwd=project)
    assert safe.returncode == 1
    assert "[unsafe fix available: --unsafe-fixes]" in safe.stdout
    assert "1 with an unsafe fix (--unsafe-fixes)" in safe.stderr
    assert (project / "app.py").read_text(encoding="utf-8") == source
    unsafe = run_cli("fix", "--unsafe-fixes", cwd=project)
    assert unsafe.returncode == 1  # the chained call stays: the fix would leave .json() blocking
    fixed = (project / "app.py").read_text(encoding="utf-8")
    assert 'page = await asyncio.to_thread(requests.get, "https://example.com")' in fixed
    assert "base of a chain" in unsafe.stdout


# -- encodings, byte-order marks, newlines --------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("crlf", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
        ("cr", lambda text: text.replace("\n", "\r").encode("utf-8")),
        ("bom", lambda text: codecs.BOM_UTF8 + text.encode("utf-8")),
        (
            "latin-1",
            lambda text: ("# -*- coding: latin-1 -*-\n# café\n" + text).encode("latin-1"),
        ),
        ("no-final-newline", lambda text: text.rstrip("\n").encode("utf-8")),
    ],
)
def test_fixed_files_keep_encoding_bom_and_newlines(
    name: str, encode: object, tmp_path: Path
) -> None:
    assert callable(encode)
    original: bytes = encode(APP.replace("    return {}\n", "    return {'é': 1}\n"))
    project = make_project(tmp_path / name, {"app.py": original})
    result = run_cli("fix", cwd=project)
    assert result.returncode == 0, result.stderr
    fixed = (project / "app.py").read_bytes()
    expected = encode(
        APP.replace("import time\n", "import asyncio\n")
        .replace("time.sleep(1)", "await asyncio.sleep(1)")
        .replace("    return {}\n", "    return {'é': 1}\n")
    )
    assert fixed == expected


# -- the example app -------------------------------------------------------------------------------
SAFE_LINES = [
    "-async def health():\n+def health():\n",
    "-async def list_products(db: SessionDep):\n+def list_products(db: SessionDep):\n",
    "-    loop = asyncio.get_event_loop()\n+    loop = asyncio.get_running_loop()\n",
    "-async def print_label(order: UserOrder):\n+def print_label(order: UserOrder):\n",
]
UNSAFE_LINES = [
    "+    receipt = await asyncio.to_thread(gateway.charge, amount_cents, token)\n",
    "+    await asyncio.to_thread(target.write_bytes, await asyncio.to_thread(file.file.read))\n",
    "+    await asyncio.to_thread(Base.metadata.create_all, bind=engine)\n",
    '+    order = await asyncio.to_thread(save_order, db, user.id, amount_cents, receipt["id"])\n',
]


def test_example_shop_diff(tmp_path: Path) -> None:
    before = _snapshot(EXAMPLE)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    safe = run_cli("fix", "--diff", *cache, "examples/shop", cwd=EXAMPLE.parent.parent)
    assert safe.returncode == 1, safe.stderr
    for lines in SAFE_LINES:
        assert lines in safe.stdout
    assert "to_thread" not in safe.stdout
    unsafe = run_cli(
        "fix", "--diff", "--unsafe-fixes", *cache, "examples/shop", cwd=EXAMPLE.parent.parent
    )
    for lines in SAFE_LINES + UNSAFE_LINES:
        assert lines in unsafe.stdout
    assert _snapshot(EXAMPLE) == before


def test_example_shop_after_unsafe_fixes_only_unfixable_findings_remain(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(EXAMPLE, shop, ignore=shutil.ignore_patterns(".async_pitfalls_lint_cache"))
    result = run_cli("fix", "--unsafe-fixes", cwd=shop)
    assert result.returncode == 1, result.stderr
    for path in shop.rglob("*.py"):
        _assert_parses_and_compiles(path.read_text(encoding="utf-8"), str(path))
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=APL", "."],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    reported = {line.split(": ", 1)[0].removeprefix("./") for line in flake8.stdout.splitlines()}
    assert reported, flake8.stderr
    assert "fix available" not in flake8.stdout
    check = run_cli("check", "--format", "json", cwd=shop)
    findings = json.loads(check.stdout)["findings"]
    assert all(not finding["fix"]["available"] for finding in findings)
    assert all(finding["fix"].get("reason") for finding in findings)
    assert reported == {
        f"{finding['path']}:{finding['line']}:{finding['column']}" for finding in findings
    }
    assert run_cli("fix", "--unsafe-fixes", "--diff", cwd=shop).stdout == ""


# -- property test: every fixture input, and generated modules -------------------------------------
def _check_fix_properties(base: Path) -> None:
    """`fix --unsafe-fixes` over `base` (folders with their own pyproject.toml): every changed file
    parses and, if it compiled before, compiles; nothing is refused; no finding with a fix is
    left and none appears; a second run changes nothing."""
    before_files = _snapshot(base)
    before = _findings(base)
    run = fix_paths([base], load_settings(base), unsafe=True)
    assert run.errors == []
    assert [(f.path, f.line, f.code, why) for f, why in run.refused] == []
    for relative, data in _snapshot(base).items():
        if data != before_files[relative]:
            cst.parse_module(data.decode("utf-8"))
            try:
                compile(before_files[relative], relative, "exec", dont_inherit=True)
            except SyntaxError:
                continue
            compile(data, relative, "exec", dont_inherit=True)
    after = _findings(base)
    assert [(path, f.line, f.code) for path, f in after if f.fix is not None] == []
    new = Counter(_key(item) for item in after) - Counter(_key(item) for item in before)
    assert new == Counter(), "the fixes introduced findings"
    snapshot = _snapshot(base)
    reset_analyses()
    assert fix_paths([base], load_settings(base), unsafe=True).changed == []
    assert _snapshot(base) == snapshot


@pytest.mark.slow
def test_unsafe_fixes_on_every_fixture_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index, case in enumerate(CASES):
        _materialise(case, tmp_path / f"case{index:04d}")
    monkeypatch.chdir(tmp_path)
    _check_fix_properties(tmp_path)


HEADERS = [
    "import asyncio\nimport os\nimport queue\nimport subprocess\nimport threading\nimport time\n"
    "\nimport requests\nfrom fastapi import Depends, FastAPI\n",
    '"""Generated."""\n\nfrom __future__ import annotations\n\n'
    "from fastapi import Depends, FastAPI\n"
    "import requests\nimport os, queue, subprocess, threading, time\n",
    "from fastapi import Depends, FastAPI\nfrom fastapi.concurrency import run_in_threadpool\n"
    "import asyncio as aio\nimport os\nimport queue\nimport subprocess\nimport threading\n"
    "import time\nimport requests\n",
]
PRELUDE = """
app = FastAPI()
jobs: queue.Queue[str] = queue.Queue()
lock = threading.Lock()


def fetch(url: str) -> dict:
    return requests.get(url, timeout=5).json()


def lines(path: str):
    with open(path) as handle:
        yield from handle


async def other() -> int:
    return 1


async def stream():
    yield 1
"""
STATEMENTS = [
    "time.sleep(1)",
    "v{n} = requests.get(url, timeout=5)",
    "v{n} = requests.get(url).json()",
    "v{n} = [requests.get(u) for u in urls]",
    "v{n} = list(requests.get(u) for u in urls)",
    "v{n} = {{'a': requests.get(url, timeout=1), 'b': time.sleep(0)}}",
    "with requests.get(url, stream=True) as r{n}:\n    v{n} = r{n}.status_code",
    "v{n} = f'{{requests.get(url).status_code}} {{os.listdir(url)}}'",
    "v{n} = -len(os.listdir('.')) ** 2",
    "v{n} = os.path.exists('a') and not os.path.isdir('b')",
    "v{n} = requests.post(\n    url,  # where\n    json={{}},\n)",
    "v{n} = os.listdir(*['.'])",
    "v{n} = (w{n} := os.getcwd())",
    "subprocess.run(['ls'], check=True)",
    "v{n} = jobs.get()",
    "with lock:\n    v{n} = 1",
    "v{n} = fetch(url)",
    "v{n} = fetch(url).get('k')",
    "for line{n} in lines(url):\n    v{n} = line{n}",
    "v{n} = time.sleep(1) if url else requests.get(url)",
    "v{n} = lambda: time.sleep(1)",
    "v{n} = await other()",
    "v{n} = os.getcwd()[0]",
    "print(requests.get(url).text, time.sleep(0))",
    "v{n} = os.path.join(os.getcwd(), os.path.basename(url))",
    "v{n} = requests.get(url, timeout=5) \\\n    if url else None",
    "time . sleep (0.1)",
    "v{n} = str(time.sleep(0).__class__)",
    "v{n} = sorted(os.listdir(p) for p in urls)",
    "v{n} = [line async for line in stream()]",
    "v{n} = [os.listdir(p) for p in urls if os.path.isdir(p)]",
    "try:\n    v{n} = requests.get(url)\nexcept Exception:\n    time.sleep(1)",
]
FUNCTIONS = [
    '@app.get("/r{i}")\nasync def route{i}(url: str, urls: list[str]):\n{body}    return {{}}\n',
    'async def dependency{i}(url: str = "x", urls: list[str] = []):\n{body}    return 1\n\n\n'
    '@app.get("/d{i}")\n'
    "async def uses{i}(value: int = Depends(dependency{i})):\n    return value\n",
    '@app.post("/s{i}")\ndef sync{i}(url: str, urls: list[str]):\n{body}    return {{}}\n',
]


def _module(header: int, functions: list[tuple[int, list[int]]]) -> str:
    parts = [HEADERS[header], PRELUDE]
    for index, (kind, statements) in enumerate(functions):
        body = ""
        for n, statement in enumerate(statements):
            text = STATEMENTS[statement].format(n=n)
            if kind == 2:  # a plain def: no await, no async comprehension
                text = text.replace("await other()", "other()").replace("async for", "for")
            body += "".join(f"    {line}\n" for line in text.splitlines())
        parts.append("\n\n" + FUNCTIONS[kind].format(i=index, body=body))
    text = "".join(parts)
    if "import asyncio as aio" in text:
        text = text.replace("import asyncio as aio", "import asyncio as aio\nimport asyncio")
    return text


@pytest.mark.slow
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    header=st.integers(0, len(HEADERS) - 1),
    functions=st.lists(
        st.tuples(
            st.integers(0, len(FUNCTIONS) - 1),
            st.lists(st.integers(0, len(STATEMENTS) - 1), min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=3,
    ),
    extend=st.booleans(),
)
def test_unsafe_fixes_on_generated_modules(
    header: int, functions: list[tuple[int, list[int]]], extend: bool
) -> None:
    source = _module(header, functions)
    compile(source, "generated.py", "exec", dont_inherit=True)
    config = 'extend-select = ["APL3", "APL108", "APL208"]\n' if extend else ""
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder) / "p", {"app.py": source}, config)
        old = os.getcwd()
        os.chdir(project)
        try:
            _check_fix_properties(project)
        finally:
            os.chdir(old)


# -- the fixes reported at check time are the ones applied ----------------------------------------
def test_reported_edits_are_what_fix_applies(tmp_path: Path) -> None:
    case = next(case for case in CASES if case.id == "fixes/sleep")
    project = _materialise(case, tmp_path / "case")
    check = run_cli("check", "--format", "json", cwd=project)
    findings = json.loads(check.stdout)["findings"]
    edits = [
        Edit(edit["start"], edit["end"], edit["content"])
        for finding in findings
        if finding["fix"]["available"]
        for edit in finding["fix"]["edits"]
    ]
    text = (project / "sleep.py").read_text(encoding="utf-8")
    expected = case.source.with_name("sleep.fixed.py").read_text(encoding="utf-8")
    assert apply_edits(text, edits) == expected
    sarif = json.loads(run_cli("check", "--format", "sarif", cwd=project).stdout)
    replacements = [
        replacement
        for result in sarif["runs"][0]["results"]
        for fix in result.get("fixes", [])
        for change in fix["artifactChanges"]
        for replacement in change["replacements"]
    ]
    assert len(replacements) == len(edits)


ODD_SHAPES = """\
import time

from fastapi import Depends, FastAPI

app = FastAPI()


def audit(handler):
    return handler


@app.get("/chained")
@audit
async def chained():
    return {"kind": time.sleep(0).__class__.__name__}


async def settings_dependency():
    time.sleep(0.1)
    return {}


@app.get("/settings")
async def settings_route(settings: dict = Depends(settings_dependency)):
    return settings


@app.get("/handed-over")
async def handed_over():
    time.sleep(0.1)
    return {}


audit(handed_over)
"""


def test_odd_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", {"app.py": ODD_SHAPES}, 'extend-select = ["APL303"]\n')
    monkeypatch.chdir(project)
    found = {(f.line, f.code): f for _, f in _findings(project)}
    # Handed to project code: it may be awaited there, so it stays a coroutine.
    assert "passed to audit() at app.py:34" in found[(29, "APL303")].fix_unavailable
    assert found[(18, "APL303")].fix is not None  # used only through Depends()
    assert "decorated with @audit" in found[(14, "APL303")].fix_unavailable
    run = fix_paths([project], load_settings(project), unsafe=False)
    assert run.refused == []
    fixed = (project / "app.py").read_text(encoding="utf-8")
    # The awaited sleep is the base of an attribute access: parenthesised.
    assert '{"kind": (await asyncio.sleep(0)).__class__.__name__}' in fixed
    assert "\ndef settings_dependency():\n" in fixed
    assert "async def handed_over():\n    await asyncio.sleep(0.1)\n" in fixed
    _assert_parses_and_compiles(fixed, "app.py")


# -- the pre-commit hook --------------------------------------------------------------------------
def test_precommit_fix_hook_fixes_then_passes(tmp_path: Path) -> None:
    manifest = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"
    hook = {entry["id"]: entry for entry in load_manifest(str(manifest))}["async-pitfalls-lint-fix"]
    command = Path(sys.executable).parent / "async-pitfalls-lint"
    local = {
        "id": hook["id"],
        "name": hook["name"],
        "entry": hook["entry"].replace("async-pitfalls-lint", str(command), 1),
        "language": "system",
        "types": hook["types"],
        "require_serial": hook["require_serial"],
    }
    repo = make_project(tmp_path / "service", {"app.py": APP})
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(config), encoding="utf-8")
    for args in (["init", "-q"], ["config", "user.email", "dev@example.com"], ["add", "."]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home"), "PRE_COMMIT_COLOR": "never"}

    def pre_commit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    first = pre_commit()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert "await asyncio.sleep(1)" in (repo / "app.py").read_text(encoding="utf-8")
    subprocess.run(["git", "add", "app.py"], cwd=repo, check=True)
    second = pre_commit()
    assert second.returncode == 0, second.stdout + second.stderr


def test_noqa_findings_are_not_fixed(tmp_path: Path) -> None:
    source = APP.replace(
        "    time.sleep(1)\n", "    time.sleep(1)  # noqa: APL101\n    time.sleep(2)\n"
    )
    project = make_project(tmp_path / "p", {"app.py": source})
    assert run_cli("fix", "-q", cwd=project).returncode == 0
    fixed = (project / "app.py").read_text(encoding="utf-8")
    assert "    time.sleep(1)  # noqa: APL101\n    await asyncio.sleep(2)\n" in fixed


@pytest.mark.slow
def test_unsafe_fixes_on_the_shared_fuzzing_modules() -> None:
    """The same properties on tests/fuzzing.py's FastAPI module generator (blocking calls,
    offloads, helpers, import styles and aliases), when that module is there."""
    fuzzing = pytest.importorskip("fuzzing")

    @hypothesis_settings(
        max_examples=fuzzing.examples(20) if hasattr(fuzzing, "examples") else 20,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(module=fuzzing.fastapi_modules())
    def check(module: object) -> None:
        source = module.source  # type: ignore[attr-defined]
        compile(source, "generated.py", "exec", dont_inherit=True)
        with tempfile.TemporaryDirectory() as folder:
            project = make_project(Path(folder) / "p", {"app.py": source})
            old = os.getcwd()
            os.chdir(project)
            try:
                _check_fix_properties(project)
            finally:
                os.chdir(old)

    check()


def test_a_failing_fix_builder_never_costs_the_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> Fix:
        raise IndexError("boom")

    monkeypatch.setitem(attach.RECIPES, "asyncio-sleep", broken)
    project = make_project(tmp_path / "p", {"app.py": APP})
    monkeypatch.chdir(project)
    [(_, finding)] = _findings(project)
    assert finding.code == "APL101"
    assert finding.fix is None
    assert finding.fix_unavailable == "building the fix failed (IndexError: boom)"


# -- imports the fixes leave unused -------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "use", "after", "expected"),
    [
        # The last use goes: so does the import; the blank lines around it are merged.
        (
            '"""Doc."""\n\nimport time\n\nx = time.sleep\n',
            "time.sleep",
            '"""Doc."""\n\nimport time\n\nx = asyncio.sleep\n',
            '"""Doc."""\n\nx = asyncio.sleep\n',
        ),
        # Other names of the statement stay, with their comment.
        (
            "import os, time  # both\nx = time.sleep, os.sep\n",
            "time.sleep",
            "import os, time  # both\nx = asyncio.sleep, os.sep\n",
            "import os  # both\nx = asyncio.sleep, os.sep\n",
        ),
        # A parenthesised import keeps its trailing comma.
        (
            "from time import (\n    monotonic,\n    sleep,\n)\nx = sleep, monotonic\n",
            "sleep,",
            "from time import (\n    monotonic,\n    sleep,\n)\nx = asyncio.sleep, monotonic\n",
            "from time import (\n    monotonic,\n)\nx = asyncio.sleep, monotonic\n",
        ),
        # A comment above a removed import stays, above the next statement.
        (
            "# Standard library\nimport time\n\n# Third party\nimport fastapi\nx = time.sleep\n",
            "time.sleep",
            "# Standard library\nimport time\n\n# Third party\nimport fastapi\nx = asyncio.sleep\n",
            "# Standard library\n\n# Third party\nimport fastapi\nx = asyncio.sleep\n",
        ),
        # Still used (in a nested function, in a string annotation) or exported: kept.
        (
            "import time\nx = time.sleep\ndef f():\n    return time.time()\n",
            "time.sleep",
            "import time\nx = asyncio.sleep\ndef f():\n    return time.time()\n",
            "import time\nx = asyncio.sleep\ndef f():\n    return time.time()\n",
        ),
        (
            "import time\nx = time.sleep\ny: 'time.struct_time'\n",
            "time.sleep",
            "import time\nx = asyncio.sleep\ny: 'time.struct_time'\n",
            "import time\nx = asyncio.sleep\ny: 'time.struct_time'\n",
        ),
        (
            '__all__ = ["sleep"]\nfrom time import sleep\nx = sleep\n',
            "sleep",
            '__all__ = ["sleep"]\nfrom time import sleep\nx = asyncio.sleep\n',
            '__all__ = ["sleep"]\nfrom time import sleep\nx = asyncio.sleep\n',
        ),
        # An unused import the fix did not touch is not the fix's business: it stays.
        (
            "import json\nimport time\nx = time.sleep\n",
            "time.sleep",
            "import json\nimport time\nx = asyncio.sleep\n",
            "import json\nx = asyncio.sleep\n",
        ),
        # Old Mac line ends.
        (
            "import os\rimport time\rx = time.sleep, os\r",
            "time.sleep",
            "import os\rimport time\rx = asyncio.sleep, os\r",
            "import os\rx = asyncio.sleep, os\r",
        ),
    ],
)
def test_imports_left_unused_are_removed(before: str, use: str, after: str, expected: str) -> None:
    start = before.rindex(use)
    edit = Edit(start, start + len(use), "asyncio.sleep")
    assert drop_unused_imports(before, after, [edit]) == expected


# -- fixed lines formatted as the project's formatter would ------------------------------------
# Each expected layout is what `ruff format` (black's style) gives for the line at that length
# (the tab-indented one with `format.indent-style = "tab"`).
SPLITS = [
    (
        "    result = await asyncio.to_thread(requests.post, HOOKS, json=payload, timeout=10)",
        60,
        "    result = await asyncio.to_thread(\n"
        "        requests.post, HOOKS, json=payload, timeout=10\n"
        "    )",
    ),
    (
        '    result = await asyncio.to_thread(requests.post, "https://hooks.example.com/incoming",'
        ' json=payload, timeout=10, headers={"X-Token": token})',
        79,
        "    result = await asyncio.to_thread(\n"
        "        requests.post,\n"
        '        "https://hooks.example.com/incoming",\n'
        "        json=payload,\n"
        "        timeout=10,\n"
        '        headers={"X-Token": token},\n'
        "    )",
    ),
    (
        '    return JSONResponse(await asyncio.to_thread(requests.post, "https://hooks.example.com'
        '/in", json=payload))',
        79,
        "    return JSONResponse(\n"
        "        await asyncio.to_thread(\n"
        '            requests.post, "https://hooks.example.com/in", json=payload\n'
        "        )\n"
        "    )",
    ),
    (
        '\tdata = await asyncio.to_thread(client.fetch, "report", limit=10)  # keep me',
        50,
        '\tdata = await asyncio.to_thread(\n\t\tclient.fetch, "report", limit=10\n\t)  # keep me',
    ),
]


@pytest.mark.parametrize(("line", "limit", "expected"), SPLITS)
def test_split_line_like_the_formatter(line: str, limit: int, expected: str) -> None:
    unit = "\t" if line.startswith("\t") else "    "
    assert split_line(line, unit, limit) == expected


def test_split_line_gives_up_without_brackets() -> None:
    assert split_line("    x = a_very_long_name_without_any_brackets_at_all", "    ", 20) is None


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "[tool.ruff]\nline-length = 79\n"}, 79),
        ({"pyproject.toml": "[tool.black]\nline-length = 120\n"}, 120),
        ({"ruff.toml": "line-length = 99\n", "pyproject.toml": "[tool.black]\n"}, 99),
        ({"pyproject.toml": "[tool.ruff]\n"}, 88),
        ({}, 88),
    ],
)
def test_line_length_comes_from_the_formatter_config(
    tmp_path: Path, files: dict[str, str], expected: int
) -> None:
    project = tmp_path / "p"
    (project / "pkg").mkdir(parents=True)
    (project / ".git").mkdir()
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    clear_line_length_cache()
    assert line_length_for(str(project / "pkg" / "app.py")) == expected


def test_unsafe_fixes_never_push_a_fitting_line_past_the_line_length(tmp_path: Path) -> None:
    """Every line the unsafe fixes touch in the fixtures fits when the original line did."""
    case = next(case for case in CASES if case.id == "fixes/formatted_lines")
    project = _materialise(case, tmp_path / "case")
    before = (project / "app.py").read_text(encoding="utf-8").splitlines()
    reset_analyses()
    fix_paths([project], load_settings(project), unsafe=True)
    after = (project / "app.py").read_text(encoding="utf-8").splitlines()
    written = [line for line in after if line not in before]
    assert written, "the fixes changed nothing"
    for line in written:
        if "already-too-long-line" not in line:  # that original did not fit either
            assert len(line) <= 100, line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The import's line goes, with the blank lines above it when blank lines follow it.
        ('"""Doc."""\n\nimport time\n\nx = time.sleep\n', '"""Doc."""\n\nx = asyncio.sleep\n'),
        ("import os\nimport time\nx = time.sleep, os\n", "import os\nx = asyncio.sleep, os\n"),
        # Used elsewhere, named in a string, or sharing its statement: left to `fix`.
        ("import time\nx = time.sleep\ny = time\n", "import time\nx = asyncio.sleep\ny = time\n"),
        (
            "import time\nx = time.sleep\ny: 'time.x'\n",
            "import time\nx = asyncio.sleep\ny: 'time.x'\n",
        ),
        ("import os, time\nx = time.sleep, os\n", "import os, time\nx = asyncio.sleep, os\n"),
    ],
)
def test_a_reported_fix_removes_an_import_it_leaves_unused(text: str, expected: str) -> None:
    start = text.rindex("time.sleep")
    edit = Edit(start, start + len("time.sleep"), "asyncio.sleep")
    assert apply_edits(text, [edit, *removal_edits(text, [edit])]) == expected
