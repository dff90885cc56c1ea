"""The command line: in-process through `cli.main` (tests/clirun.py), and as a real process
(`python -m async_pitfalls_lint`, the console script) where only a process shows the behaviour.

Every project is a tmp_path folder with its own pyproject.toml, so it is its own project root.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource

from async_pitfalls_lint import __version__
from async_pitfalls_lint.cache import default_cache_dir
from async_pitfalls_lint.catalog import load_catalog

from clirun import run_cli, run_process

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

APP = """\
import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/sleep")
async def sleepy():
    time.sleep(1)
    return {}


@app.get("/threaded")
def threaded():
    time.sleep(1)
    return {}


async def not_a_route():
    time.sleep(2)


@app.get("/loop")
async def loop_route():
    loop = asyncio.get_event_loop()
    return {"running": loop.is_running()}
"""

SLEEP_FINDING = (
    "app.py:11:5: APL101 time.sleep() in async route GET /sleep (sleepy) blocks the event loop; "
    "use `await asyncio.sleep(...)`"
)
SLEEP_LINE = SLEEP_FINDING + " [fix available]"
CLEAN = """\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    await asyncio.sleep(1)
    return {}
"""


def make_project(root: Path, files: dict[str, str], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.async-pitfalls-lint]\n' + config, encoding="utf-8"
    )
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", {"app.py": APP})


def summary(files: int, findings: int, problems: int = 0, fixes: int = 0) -> str:
    def plural(count: int, word: str, words: str) -> str:
        return f"{count} {word if count == 1 else words}"

    return (
        f"async-pitfalls-lint: {plural(files, 'file', 'files')} checked, "
        f"{plural(findings, 'finding', 'findings')}, "
        f"{plural(fixes, 'fix', 'fixes')} available, "
        f"{plural(problems, 'file', 'files')} could not be analysed\n"
    )


# -- check: exit codes, text output, summary ------------------------------------------------------
def test_check_reports_findings_and_exits_1(project: Path) -> None:
    result = run_process("check", cwd=project)
    assert result.returncode == 1
    assert result.stdout == SLEEP_LINE + "\n"
    assert result.stderr == summary(1, 1, fixes=1)


def test_clean_project_exits_0(tmp_path: Path) -> None:
    root = make_project(tmp_path / "clean", {"main.py": CLEAN})
    result = run_cli("check", ".", cwd=root)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", summary(1, 0))


def test_check_is_the_default_command(project: Path) -> None:
    result = run_cli("app.py", cwd=project)
    assert result.returncode == 1
    assert result.stdout == SLEEP_LINE + "\n"
    no_arguments = run_cli(cwd=project)
    assert no_arguments.stdout == SLEEP_LINE + "\n"


def test_console_script_is_installed(project: Path) -> None:
    script = Path(sys.executable).parent / "async-pitfalls-lint"
    assert script.exists()
    result = subprocess.run(
        [str(script), "check", "--quiet"], cwd=project, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, SLEEP_LINE + "\n", "")


def test_version(project: Path) -> None:
    result = run_cli("--version", cwd=project)
    assert (result.returncode, result.stdout) == (0, f"async-pitfalls-lint {__version__}\n")


def test_quiet_drops_the_summary(project: Path) -> None:
    result = run_cli("check", "--quiet", cwd=project)
    assert (result.returncode, result.stderr) == (1, "")


def test_exit_zero(project: Path) -> None:
    result = run_cli("check", "--exit-zero", cwd=project)
    assert result.returncode == 0
    assert result.stdout == SLEEP_LINE + "\n"


def test_statistics(project: Path) -> None:
    result = run_cli("check", "--statistics", "--extend-select", "APL304", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-2:] == [
        "     1  APL101  blocking-sleep",
        "     1  APL304  get-event-loop-in-coroutine",
    ]


def test_output_file(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    result = run_cli("check", "--output-file", str(target), cwd=project)
    assert (result.returncode, result.stdout) == (1, "")
    assert target.read_text(encoding="utf-8") == SLEEP_LINE + "\n"


def test_unwritable_output_file_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    result = run_cli("check", "--output-file", str(tmp_path / "missing" / "r.txt"), cwd=project)
    assert result.returncode == 2
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


# -- what is checked ------------------------------------------------------------------------------
def test_gitignore_is_honoured(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": CLEAN, "generated/routes.py": APP})
    assert run_cli("check", cwd=root).returncode == 1
    (root / ".gitignore").write_text("generated/\n", encoding="utf-8")
    result = run_cli("check", cwd=root)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", summary(1, 0))


def test_stdin_with_stdin_filename(tmp_path: Path) -> None:
    """Standard input replaces the file's content on disk (an editor's unsaved buffer)."""
    root = make_project(tmp_path / "p", {"api/app.py": CLEAN})
    result = run_cli("check", "-", "--stdin-filename", "api/app.py", cwd=root, stdin=APP)
    assert result.returncode == 1
    assert result.stdout == SLEEP_LINE.replace("app.py", "api/app.py", 1) + "\n"
    assert result.stderr == summary(1, 1, fixes=1)


def test_stdin_cannot_mix_with_paths(project: Path) -> None:
    result = run_cli("check", "-", "app.py", cwd=project, stdin=APP)
    assert result.returncode == 2
    assert "cannot be combined" in result.stderr


def test_missing_path_is_a_usage_error(project: Path) -> None:
    result = run_cli("check", "nowhere.py", cwd=project)
    assert result.returncode == 2
    assert result.stderr == "async-pitfalls-lint: error: no such file or folder: nowhere.py\n"


def test_unknown_option_is_a_usage_error(project: Path) -> None:
    result = run_cli("check", "--no-such-option", cwd=project)
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_exit_zero_with_an_unanalysable_file(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {"broken.py": "async def broken(:\n    pass\n", "app.py": APP},
    )
    result = run_cli("check", "--exit-zero", cwd=root)
    assert result.returncode == 0
    assert result.stdout.startswith("app.py:")
    assert "broken.py:1:1: APL900 could not analyse this file: " in result.stdout


def test_unanalysable_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"broken.py": "async def broken(:\n    pass\n"})
    result = run_cli("check", cwd=root)
    assert result.returncode == 2  # nothing else found: a file that could not be analysed
    assert result.stdout.startswith("broken.py:1:1: APL900 could not analyse this file: ")
    assert result.stderr == summary(1, 1, problems=1)


# -- selection and scope --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "codes"),
    [
        ([], ["APL101"]),
        (["--select", "APL304"], ["APL304"]),
        (["--select", "APL3"], ["APL303", "APL304"]),
        (["--extend-select", "APL304"], ["APL101", "APL304"]),
        (["--ignore", "APL101"], []),
        (["--ignore", "APL1"], []),
        (["--extend-select", "APL3", "--ignore", "APL101,APL303"], ["APL304"]),
        (["--select", "apl101"], ["APL101"]),
    ],
)
def test_select_ignore_extend_select(project: Path, options: list[str], codes: list[str]) -> None:
    result = run_cli("check", "--quiet", *options, cwd=project)
    found = [line.split()[1] for line in result.stdout.splitlines()]
    assert found == codes
    assert result.returncode == (1 if codes else 0)


def test_bad_selector_is_a_usage_error(project: Path) -> None:
    result = run_cli("check", "--select", "E501", cwd=project)
    assert result.returncode == 2
    assert "'E501' is not a rule code or prefix" in result.stderr


def test_scope_all_reports_every_coroutine(project: Path) -> None:
    result = run_cli("check", "--quiet", "--scope", "all", cwd=project)
    lines = result.stdout.splitlines()
    assert [line.split(":")[1] for line in lines] == ["11", "22"]
    assert "APL101 time.sleep() in async function not_a_route" in lines[1]


# -- formats --------------------------------------------------------------------------------------
def _schema(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def test_json_format_matches_its_schema(project: Path) -> None:
    result = run_cli("check", "--format", "json", "--extend-select", "APL304", cwd=project)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    Draft202012Validator(_schema("report.schema.json")).validate(document)
    assert document["files_checked"] == 1
    assert document["statistics"] == {"APL101": 1, "APL304": 1}
    first = document["findings"][0]
    assert first == {
        "path": "app.py",
        "line": 11,
        "column": 5,
        "end_line": 11,
        "end_column": 18,
        "code": "APL101",
        "name": "blocking-sleep",
        "category": "sleep",
        "message": SLEEP_FINDING.split(" APL101 ", 1)[1],
        "callee": "time.sleep",
        "chain": [],
        "fix": {
            "available": True,
            "applicability": "safe",
            "title": "Replace with `await asyncio.sleep(...)`",
            "edits": [{"start": 118, "end": 128, "content": "await asyncio.sleep"}],
        },
    }


def test_sarif_format_is_valid_sarif(project: Path) -> None:
    result = run_cli("check", "--format", "sarif", cwd=project)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    Draft4Validator(_schema("sarif-schema-2.1.0.json")).validate(document)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(load_catalog().codes)
    assert run["results"][0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 11, "startColumn": 5, "endLine": 11, "endColumn": 18},
    }


def test_github_format(project: Path) -> None:
    result = run_cli("check", "--format", "github", cwd=project)
    assert result.returncode == 1
    message = SLEEP_FINDING.split(" APL101 ", 1)[1]
    assert result.stdout == (
        f"::error file=app.py,line=11,col=5,endLine=11,endColumn=18,title=APL101::{message}\n"
    )


# -- progress and parallelism ---------------------------------------------------------------------
def _run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "async_pitfalls_lint", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    stdout, _ = process.communicate(timeout=120)
    os.close(leader)
    return process.returncode, stdout, b"".join(chunks).decode()


def test_progress_on_a_terminal_only(project: Path) -> None:
    code, stdout, stderr = _run_with_tty_stderr(["check"], project)
    assert code == 1
    assert stdout == SLEEP_LINE + "\n"
    assert "\rchecked 1/1 files" in stderr
    quiet_code, _, quiet_stderr = _run_with_tty_stderr(["check", "--quiet"], project)
    assert (quiet_code, quiet_stderr) == (1, "")
    piped = run_process("check", cwd=project)
    assert "checked 1/1" not in piped.stderr


def test_parallel_jobs_give_the_same_report(tmp_path: Path) -> None:
    files = {f"routes_{index:02d}.py": APP.replace('"/', f'"/{index}') for index in range(30)}
    root = make_project(tmp_path / "many", files)
    serial = run_cli("check", "--jobs", "1", "--no-cache", "--format", "json", cwd=root)
    parallel = run_cli("check", "--jobs", "2", "--no-cache", "--format", "json", cwd=root)
    assert serial.returncode == parallel.returncode == 1
    assert json.loads(serial.stdout) == json.loads(parallel.stdout)
    assert len(json.loads(serial.stdout)["findings"]) == 30
    assert run_cli("check", "--jobs", "0", cwd=root).returncode == 2


# -- rules and explain ----------------------------------------------------------------------------
def test_rules_lists_every_code(project: Path) -> None:
    result = run_cli("rules", cwd=project)
    assert result.returncode == 0
    catalog = load_catalog()
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(catalog.codes)
    for line, rule in zip(lines, catalog.rules, strict=True):
        assert rule.summary in line
        assert line.split()[1] == rule.name


def test_explain_prints_the_rule_page(project: Path) -> None:
    result = run_cli("explain", "APL104", cwd=project)
    assert result.returncode == 0
    text = result.stdout
    assert text.startswith("APL104: blocking-database-call\n")
    headings = ["What it does", "Why is this bad?", "Example", "Use instead"]
    positions = [text.index(f"\n{heading}\n") for heading in headings]
    assert positions == sorted(positions)
    rule = load_catalog()["APL104"]
    assert "    " + rule.example.splitlines()[0] in text
    assert "```" not in text
    by_name = run_cli("explain", "blocking-database-call", cwd=project)
    assert by_name.stdout == text


def test_explain_unknown_rule(project: Path) -> None:
    result = run_cli("explain", "APL999", cwd=project)
    assert result.returncode == 2
    assert "no rule 'APL999'" in result.stderr


# -- routes ---------------------------------------------------------------------------------------
ROUTES_APP = """\
import time
from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket

app = FastAPI()


def get_settings():
    return {}


async def current_user(settings: Annotated[dict, Depends(get_settings)]):
    time.sleep(1)
    return "user"


async def audit(event: str) -> None:
    time.sleep(0.1)


@app.get("/items")
async def list_items(user: str = Depends(current_user)):
    await audit("list")
    time.sleep(1)
    return []


@app.post("/items")
def create_item(settings: dict = Depends(get_settings)):
    time.sleep(1)
    return {}


@app.get("/health")
async def health():
    return {"ok": True}


@app.websocket("/ws")
async def feed(websocket: WebSocket):
    await websocket.accept()
    await audit("feed")
"""


def test_routes_table(tmp_path: Path) -> None:
    root = make_project(tmp_path / "svc", {"main.py": ROUTES_APP})
    result = run_cli("routes", cwd=root)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "METHOD", "PATH", "FUNCTION", "LOCATION", "RUNS", "IN", "DEPENDENCIES", "FINDINGS",
    ]  # fmt: skip
    rows = [line.split() for line in lines if line and not line.startswith(" ")][1:-3]
    assert [row[:3] for row in rows] == [
        ["GET", "/items", "list_items"],
        ["WS", "/ws", "feed"],
        ["GET", "/health", "health"],
        ["POST", "/items", "create_item"],
    ]
    assert rows[0][3:] == ["main.py:23", "event", "loop", "current_user,", "get_settings", "3"]
    assert rows[3][3:] == ["main.py:30", "threadpool", "get_settings", "0"]
    assert "\033[" not in result.stdout
    assert lines[-3] == "4 routes: 3 on the event loop, 1 in the threadpool; 2 with findings"
    assert lines[-2] == "source roots: the project root and src/ only"
    assert lines[-1].startswith("project .: libraries: ")
    coloured = run_cli("routes", "--color", "always", cwd=root)
    assert "\033[31m" in coloured.stdout


def test_routes_json(tmp_path: Path) -> None:
    root = make_project(tmp_path / "svc", {"main.py": ROUTES_APP})
    result = run_cli("routes", "--format", "json", cwd=root)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    # Offline: routes.schema.json carries the report schema it refers to.
    Draft202012Validator(_schema("routes.schema.json"), registry=Registry()).validate(document)
    first = document["routes"][0]
    assert {
        key: first[key]
        for key in ("kind", "method", "route", "function", "path", "line", "runs_in")
    } == {
        "kind": "route",
        "method": "GET",
        "route": "/items",
        "function": "list_items",
        "path": "main.py",
        "line": 23,
        "runs_in": "event loop",
    }
    assert first["dependencies"] == [
        {"name": "current_user", "path": "main.py", "line": 13, "runs_in": "event loop"},
        {"name": "get_settings", "path": "main.py", "line": 9, "runs_in": "threadpool"},
    ]
    assert [(f["line"], f["code"]) for f in first["findings"]] == [
        (14, "APL101"),
        (19, "APL101"),
        (25, "APL101"),
    ]
    websocket = document["routes"][1]
    assert (websocket["kind"], websocket["method"], [f["line"] for f in websocket["findings"]]) == (
        "websocket",
        "WS",
        [19],
    )
    threadpool = document["routes"][3]
    assert (threadpool["runs_in"], threadpool["findings"]) == ("threadpool", [])


def test_routes_agree_with_noqa_and_selection(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "svc",
        {
            "main.py": ROUTES_APP.replace(
                "    time.sleep(1)\n    return []",
                "    time.sleep(1)  # noqa: APL101\n    return []",
            )
        },
    )
    document = json.loads(run_cli("routes", "--format", "json", cwd=root).stdout)
    assert [f["line"] for f in document["routes"][0]["findings"]] == [14, 19]
    ignored = json.loads(
        run_cli("routes", "--format", "json", "--ignore", "APL101", cwd=root).stdout
    )
    assert all(route["findings"] == [] for route in ignored["routes"])


def test_routes_without_routes(tmp_path: Path) -> None:
    root = make_project(tmp_path / "lib", {"util.py": "def f():\n    return 1\n"})
    result = run_cli("routes", cwd=root)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [
        "no routes or websockets found",
        "source roots: the project root and src/ only",
    ]
    assert result.stdout.splitlines()[2].startswith("project .: libraries: ")


BACKEND_FILES = {
    "backend/__init__.py": "",
    "backend/shop/__init__.py": "",
    "backend/shop/main.py": (
        "from fastapi import FastAPI\n\nfrom shop.store import load\n\napp = FastAPI()\n\n\n"
        '@app.get("/")\nasync def index():\n    return load()\n'
    ),
    "backend/shop/store.py": "import time\n\n\ndef load():\n    time.sleep(1)\n",
    "Procfile": "web: cd backend && uvicorn shop.main:app --port $PORT\n",
}


def test_routes_show_the_detected_source_roots(tmp_path: Path) -> None:
    root = make_project(tmp_path / "svc", BACKEND_FILES)
    table = run_cli("routes", "--color", "never", cwd=root)
    assert table.stdout.splitlines()[-2] == (
        "source roots: backend (detected: Procfile:1: uvicorn shop.main:app)"
    )
    document = json.loads(run_cli("routes", "--format", "json", cwd=root).stdout)
    report_schema = _schema("report.schema.json")
    registry: Registry = Registry().with_resource(
        str(report_schema["$id"]), Resource.from_contents(report_schema)
    )
    Draft202012Validator(_schema("routes.schema.json"), registry=registry).validate(document)
    assert document["source_roots"] == [
        {
            "path": "backend",
            "origin": "detected",
            "placement": "first",
            "reason": "Procfile:1: uvicorn shop.main:app",
        }
    ]
    assert [f["code"] for f in document["routes"][0]["findings"]] == ["APL201"]


def test_routes_schema_rejects_malformed_source_roots(tmp_path: Path) -> None:
    root = make_project(tmp_path / "svc", BACKEND_FILES, 'source-roots = ["backend"]\n')
    document = json.loads(run_cli("routes", "--format", "json", cwd=root).stdout)
    assert document["source_roots"][0]["origin"] == "configured"
    report_schema = _schema("report.schema.json")
    registry: Registry = Registry().with_resource(
        str(report_schema["$id"]), Resource.from_contents(report_schema)
    )
    validator = Draft202012Validator(_schema("routes.schema.json"), registry=registry)
    validator.validate(document)
    document["source_roots"][0]["placement"] = "somewhere"
    assert not validator.is_valid(document)
    del document["source_roots"]
    assert validator.is_valid(document)  # documents written before the field stay valid


def test_check_verbose_names_the_source_roots(tmp_path: Path) -> None:
    root = make_project(tmp_path / "svc", BACKEND_FILES)
    result = run_cli("check", "--verbose", cwd=root)
    assert result.returncode == 1
    assert (
        "async-pitfalls-lint: source roots: backend (detected: Procfile:1: uvicorn shop.main:app)"
        in result.stderr.splitlines()
    )
    quiet = run_cli("check", cwd=root)
    assert "source roots" not in quiet.stderr


def test_module_entry_point_matches_script(project: Path) -> None:
    script = shutil.which("async-pitfalls-lint", path=str(Path(sys.executable).parent))
    assert script is not None
    via_script = subprocess.run(
        [script, "rules"], cwd=project, capture_output=True, text=True, check=False
    )
    assert via_script.stdout == run_process("rules", cwd=project).stdout


# -- cache and project root from the command line ------------------------------------------------
def test_cache_options(project: Path, tmp_path: Path) -> None:
    default_cache = default_cache_dir(str(project.resolve()))
    assert run_cli("check", "--no-cache", cwd=project).returncode == 1
    assert not default_cache.exists()
    custom = tmp_path / "cache-here"
    assert run_cli("check", "--cache-dir", str(custom), cwd=project).returncode == 1
    assert any(path.name.startswith("facts-") for path in custom.rglob("*.json"))
    assert not default_cache.exists()
    assert run_cli("check", cwd=project).returncode == 1
    assert any(default_cache.rglob("facts-*.json"))
    assert not (project / ".async_pitfalls_lint_cache").exists()


def test_project_root_option(tmp_path: Path) -> None:
    main_py = (
        "from fastapi import FastAPI\n\nfrom helpers import slow\n\napp = FastAPI()\n\n\n"
        '@app.get("/slow")\nasync def slow_route():\n    slow()\n    return {}\n'
    )
    helpers = "import time\n\n\ndef slow():\n    time.sleep(1)\n"
    root = make_project(
        tmp_path / "p", {"services/api/main.py": main_py, "services/helpers.py": helpers}
    )
    whole = run_cli("check", "--quiet", "--no-cache", cwd=root)
    assert [line.split(": ")[1].split()[0] for line in whole.stdout.splitlines()] == ["APL201"]
    narrowed = run_cli("check", "--quiet", "--no-cache", "--project-root", "services/api", cwd=root)
    assert (narrowed.returncode, narrowed.stdout) == (0, "")
