"""Messages that fit their place (the handler kind, how a coroutine is reached, the calls
APL303 counts) and one root cause for many call sites (text trailer, JSON, SARIF)."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft4Validator, Draft202012Validator

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings

from cases import FIXTURES
from clirun import run_cli

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
PLAIN_DEF_CAPABLE = {"current_user", "list_items", "report"}  # routes and dependencies


def _findings(project: Path) -> list[tuple[str, int, int, str, str, str]]:
    reset_analyses()
    return [
        (result.path, f.line, f.column + 1, f.code, f.function, f.message)
        for result in check_paths([project], load_settings(project))
        for f in result.findings
    ]


def _project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f"[tool.async-pitfalls-lint]\ncache = false\n{config}", encoding="utf-8"
    )
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_only_routes_and_dependencies_are_told_to_become_a_plain_def(tmp_path: Path) -> None:
    source = (FIXTURES / "scope" / "messages_by_handler_kind.py").read_text(encoding="utf-8")
    project = _project(tmp_path, {"app.py": source}, 'extend-select = ["APL303"]\n')
    findings = _findings(project)
    assert len(findings) == 14
    for _path, line, column, code, function, message in findings:
        if code == "APL303":
            continue
        says_plain_def = "a plain def" in message or "a plain `def`" in message
        where = f"{line}:{column} {code} in {function}: {message}"
        if says_plain_def:  # (the fixture's fragments check where it must be said)
            assert function in PLAIN_DEF_CAPABLE, where
        assert "make the route a plain" not in message, where
        if function in ("refresh_cache", "send_receipt", "load_items"):
            assert "awaited from" not in message, where


WRAPPED = """\
import functools
import time

from fastapi import FastAPI

app = FastAPI()


def audited(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        time.sleep(0.1)
        return await func(*args, **kwargs)

    return wrapper


@app.get("/a")
@audited
async def a():
    return {}
"""


def test_a_decorator_wrapper_is_not_told_to_become_a_plain_def(tmp_path: Path) -> None:
    project = _project(tmp_path, {"app.py": WRAPPED}, 'extend-select = ["APL303"]\n')
    [(_, line, column, code, function, message)] = _findings(project)
    assert (line, column, code, function) == (12, 9, "APL101", "audited.<locals>.wrapper")
    assert "plain" not in message


def _constructor_project(tmp_path: Path, routes: int) -> Path:
    clients = "import time\n\n\nclass Client:\n    def __init__(self):\n        time.sleep(0.5)\n"
    lines = ["from fastapi import FastAPI", "", "from clients import Client", "", "app = FastAPI()"]
    for index in range(routes):
        lines += ["", "", f'@app.get("/r{index}")', f"async def r{index}():", "    Client()"]
    return _project(tmp_path, {"clients.py": clients, "main.py": "\n".join(lines) + "\n"})


def test_many_call_sites_of_one_blocking_call_are_summed_up_once(tmp_path: Path) -> None:
    project = _constructor_project(tmp_path, 15)
    result = run_cli("check", cwd=project)
    assert result.returncode == 1
    findings = result.stdout.splitlines()
    assert len(findings) == 15  # every finding is kept, standard output one finding a line
    assert all(": APL201 " in line for line in findings)
    assert findings[0].startswith("main.py:10:5: APL201 Client() runs a blocking sleep")
    # The root cause, once, with the summary on standard error.
    assert result.stderr.splitlines()[:2] == [
        "Root causes (one blocking call behind many findings; fix it once):",
        "  clients.py:6:9: time.sleep reached from 15 call sites (APL201 \u00d715)",
    ]
    assert "Root causes" not in run_cli("check", "--quiet", cwd=project).stderr


def test_two_call_sites_are_no_root_cause_summary(tmp_path: Path) -> None:
    project = _constructor_project(tmp_path, 2)
    result = run_cli("check", cwd=project)
    assert "Root causes" not in result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_json_and_sarif_carry_the_root_cause(tmp_path: Path) -> None:
    project = _constructor_project(tmp_path, 4)
    document = json.loads(run_cli("check", "--format", "json", cwd=project).stdout)
    schema = json.loads((SCHEMAS / "report.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(document)
    cause = {
        "path": "clients.py",
        "line": 6,
        "column": 9,
        "label": "time.sleep",
        "callee": "time.sleep",
        "call_sites": 4,
    }
    assert [finding["root_cause"] for finding in document["findings"]] == [cause] * 4
    [group] = document["root_causes"]
    assert group == {
        **cause,
        "codes": {"APL201": 4},
        "sites": [
            {"path": "main.py", "line": line, "column": 5, "code": "APL201"}
            for line in (10, 15, 20, 25)
        ],
    }
    sarif = json.loads(run_cli("check", "--format", "sarif", cwd=project).stdout)
    sarif_schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    Draft4Validator(sarif_schema).validate(sarif)
    first = sarif["runs"][0]["results"][0]
    assert first["properties"]["rootCause"] == {
        "location": "clients.py:6:9",
        "callee": "time.sleep",
        "callSites": 4,
    }
    related = first["relatedLocations"]
    assert [item["id"] for item in related] == [1, 2, 3, 4]
    assert related[0]["message"]["text"] == "calls time.sleep"
    assert [item["physicalLocation"]["region"]["startLine"] for item in related[1:]] == [15, 20, 25]
    assert related[1]["message"]["text"] == "another call site reaching time.sleep at clients.py:6"
