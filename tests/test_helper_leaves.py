"""A helper that blocks more than once: the finding's chain shows the first blocking call, and
`also` (JSON), relatedLocations (SARIF) and related information (LSP) name the others of the
same category, each where it is written, so fixing the first is not mistaken for the fix."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.cli import main

from fuzzing import write_project

MAIN = """\
    from fastapi import FastAPI

    from app.sync import pull_orders, ping

    app = FastAPI()


    @app.post("/sync")
    async def sync_orders():
        return pull_orders()


    @app.get("/ping")
    async def health():
        return ping()
    """
SYNC = """\
    import requests


    def _token():
        return requests.post("https://auth.example.com/token", timeout=5).json()["token"]


    def pull_orders():
        first = requests.get("https://shop.example.com/orders", timeout=5)
        token = _token()
        second = requests.get("https://shop.example.com/returns", timeout=5, headers={"t": token})
        with open("/var/cache/orders.json", "w") as handle:
            handle.write(first.text + second.text)
        return first.json()


    def ping():
        return requests.get("https://shop.example.com/health", timeout=1).ok
    """
SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "report.schema.json"


def _run(root: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> Any:
    monkeypatch.chdir(root)
    reset_analyses()
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["check", "--no-cache", "--exit-zero", "--format", fmt, "."], stdout, stderr)
    assert code == 0, stderr.getvalue()
    return json.loads(stdout.getvalue())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "app/__init__.py": "",
        "app/main.py": textwrap.dedent(MAIN),
        "app/sync.py": textwrap.dedent(SYNC),
    }
    return write_project(tmp_path / "p", files)


def test_json_names_the_helpers_other_blocking_calls(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _run(project, monkeypatch, "json")
    Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(document)
    by_line = {(f["path"], f["line"]): f for f in document["findings"]}
    assert sorted(by_line) == [("app/main.py", 10), ("app/main.py", 15)]
    sync = by_line[("app/main.py", 10)]
    assert (sync["code"], sync["column"]) == ("APL202", 12)
    assert [(s["path"], s["line"], s["column"]) for s in sync["chain"]] == [("app/sync.py", 9, 13)]
    # The token request one helper further down, then the second request; the file write is
    # another category (the finding reports the network chain).
    assert sync["also"] == [
        {"label": "requests.post", "path": "app/sync.py", "line": 5, "column": 12},
        {"label": "requests.get", "path": "app/sync.py", "line": 11, "column": 14},
    ]
    assert "also" not in by_line[("app/main.py", 15)]  # one blocking call: nothing more


def test_sarif_lists_them_as_related_locations(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _run(project, monkeypatch, "sarif")
    results = document["runs"][0]["results"]
    sync = next(
        r for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    )
    also = [
        (loc["message"]["text"], loc["physicalLocation"]["region"]["startLine"])
        for loc in sync["relatedLocations"]
        if loc["message"]["text"].startswith("also blocks")
    ]
    assert also == [("also blocks: requests.post", 5), ("also blocks: requests.get", 11)]
