"""`async-pitfalls-lint server`: the language server, driven as a real process over stdio
(tests/lspclient.py frames the JSON-RPC itself)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from clirun import run_cli
from lspclient import Client, apply_text_edits, frame, workspace_edits

pytest.importorskip("pygls")

MAIN = """\
import time

from fastapi import FastAPI

from helpers import load_report

app = FastAPI()


@app.get("/report")
async def report():
    time.sleep(1)
    return load_report()


@app.get("/plain")
def plain():
    return load_report()
"""
HELPERS = """\
import time


def slow_read():
    time.sleep(0.5)


def load_report():
    slow_read()
    return {}
"""
DOCS = "https://async-pitfalls-lint.readthedocs.io/en/latest/rules/"


def _range(start_line: int, start: int, end_line: int, end: int) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": start_line, "character": start},
        "end": {"line": end_line, "character": end},
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (tmp_path / "main.py").write_text(MAIN)
    (tmp_path / "helpers.py").write_text(HELPERS)
    return tmp_path


@pytest.fixture
def client(project: Path):
    running = Client(project)
    yield running
    running.kill()


def _by_code(diagnostics: list[dict]) -> dict[str, dict]:
    return {item["code"]: item for item in diagnostics}


def test_session_from_open_to_exit(project: Path, client: Client) -> None:
    result = client.initialize([project])
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"]
    assert capabilities["textDocumentSync"]["change"] == 1  # full text
    assert "quickfix" in capabilities["codeActionProvider"]["codeActionKinds"]

    main = project / "main.py"
    uri = client.open(main, MAIN)
    diagnostics = _by_code(client.diagnostics(uri, version=1))
    assert sorted(diagnostics) == ["APL101", "APL201"]

    direct = diagnostics["APL101"]
    assert direct["range"] == _range(11, 4, 11, 17)
    assert direct["source"] == "async-pitfalls-lint"
    assert direct["severity"] == 1
    assert direct["codeDescription"] == {"href": DOCS + "APL101/"}
    assert "relatedInformation" not in direct

    helper = diagnostics["APL201"]
    assert helper["range"] == _range(12, 11, 12, 24)
    assert helper["codeDescription"] == {"href": DOCS + "APL201/"}
    helpers_uri = (project / "helpers.py").as_uri()
    assert helper["relatedInformation"] == [
        {
            "location": {"uri": helpers_uri, "range": _range(8, 4, 8, 13)},
            "message": "calls slow_read",
        },
        {
            "location": {"uri": helpers_uri, "range": _range(4, 4, 4, 14)},
            "message": "calls time.sleep",
        },
    ]

    # Quick fixes for the line of the direct call: the safe fix (preferred) and noqa.
    actions = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": direct["range"],
            "context": {"diagnostics": [direct]},
        },
    )
    titles = [action["title"] for action in actions]
    assert titles == [
        "Replace with `await asyncio.sleep(...)`",
        "Ignore this line (# noqa: APL101)",
        "async-pitfalls-lint: fix all safe fixes in file",
    ]
    fix, noqa, fix_all = actions
    assert fix["kind"] == "quickfix"
    assert fix["isPreferred"] is True
    assert fix["diagnostics"][0]["code"] == "APL101"
    assert fix_all["kind"] == "source.fixAll.async-pitfalls-lint"

    fixed = apply_text_edits(MAIN, workspace_edits(fix["edit"], uri))
    ast.parse(fixed)
    assert "await asyncio.sleep(1)" in fixed
    # The engine's result: its edits, and the import they left unused removed.
    assert fixed.startswith("import asyncio\n\nfrom fastapi import FastAPI\n")
    assert "import time" not in fixed
    assert fixed == apply_text_edits(MAIN, workspace_edits(fix_all["edit"], uri))
    ignored = apply_text_edits(MAIN, workspace_edits(noqa["edit"], uri))
    assert "    time.sleep(1)  # noqa: APL101\n" in ignored

    # The unsafe fix of the helper call is labelled so, and not preferred.
    actions = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": helper["range"], "context": {"diagnostics": []}},
    )
    unsafe = actions[0]
    assert unsafe["title"].endswith("(unsafe)")
    assert "isPreferred" not in unsafe
    assert "asyncio.to_thread(load_report)" in apply_text_edits(
        MAIN, workspace_edits(unsafe["edit"], uri)
    )

    # Applying the fix: the next publication drops that finding and keeps the other.
    client.change(uri, fixed, version=2)
    diagnostics = client.diagnostics(uri, version=2)
    assert [item["code"] for item in diagnostics] == ["APL201"]
    assert diagnostics[0]["range"] == _range(12, 11, 12, 24)

    # The noqa comment silences its finding.
    client.change(uri, ignored, version=3)
    assert [item["code"] for item in client.diagnostics(uri, version=3)] == ["APL201"]

    # New content: the route is now a plain def, nothing runs on the loop.
    plain = MAIN.replace("async def report", "def report")
    client.change(uri, plain, version=4)
    assert client.diagnostics(uri, version=4) == []

    # Hover: where FastAPI runs each route, and why.
    client.change(uri, MAIN, version=5)
    assert len(client.diagnostics(uri, version=5)) == 2
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 10, "character": 12}},
    )
    text = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "**event loop**" in text
    assert "async route GET /report (report)" in text
    assert "2 findings here: APL101, APL201" in text
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 16, "character": 5}},
    )
    assert "**threadpool**" in hover["contents"]["value"]
    assert "route GET /plain (plain)" in hover["contents"]["value"]
    nothing = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}},
    )
    assert nothing is None

    # Changes in quick succession: only the last version is checked and published.
    for version in (6, 7, 8):
        client.change(uri, MAIN.replace("time.sleep(1)", f"time.sleep({version})"), version)
    assert len(client.diagnostics(uri, version=8)) == 2
    published = [
        message["params"].get("version")
        for message in client.notifications
        if message["method"] == "textDocument/publishDiagnostics"
    ]
    assert 6 not in published
    assert 7 not in published

    # The server logs to the client's output channel.
    started = client.wait_notification(
        "window/logMessage", lambda params: "language server started" in params["message"]
    )
    assert started["type"] == 3  # info

    assert client.close() == 0


@pytest.mark.slow
def test_an_edit_of_another_module_refreshes_open_files(project: Path, client: Client) -> None:
    client.initialize([project])
    main_uri = client.open(project / "main.py", MAIN)
    assert len(client.diagnostics(main_uri, version=1)) == 2
    helpers_uri = client.open(project / "helpers.py", HELPERS)
    client.diagnostics(helpers_uri, version=1)
    # The unsaved helper no longer blocks: the route's APL201 goes.
    harmless = HELPERS.replace("    time.sleep(0.5)\n", "    return None\n")
    client.change(helpers_uri, harmless, version=2)
    client.diagnostics(main_uri, codes=["APL101"])
    # Closed unsaved: the disk counts again.
    client.notify("textDocument/didClose", {"textDocument": {"uri": helpers_uri}})
    assert client.diagnostics(helpers_uri) == []
    client.diagnostics(main_uri, codes=["APL101", "APL201"])
    # A change on disk, told by the file watcher.
    (project / "helpers.py").write_text(harmless)
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": helpers_uri, "type": 2}]})
    client.diagnostics(main_uri, codes=["APL101"])
    assert client.close() == 0


@pytest.mark.slow
def test_configuration_changes_are_read_again(project: Path, client: Client) -> None:
    client.initialize([project])
    uri = client.open(project / "main.py", MAIN)
    assert len(client.diagnostics(uri, version=1)) == 2
    config = project / "pyproject.toml"
    config.write_text('[project]\nname = "shop"\n\n[tool.async-pitfalls-lint]\nignore = ["APL2"]\n')
    client.notify(
        "workspace/didChangeWatchedFiles", {"changes": [{"uri": config.as_uri(), "type": 2}]}
    )
    client.diagnostics(uri, codes=["APL101"])
    assert client.close() == 0


def test_bad_files_get_one_apl900(project: Path, client: Client) -> None:
    client.initialize([project])
    broken = project / "broken.py"
    uri = client.open(broken, "async def broken(:\n    pass\n")
    (problem,) = client.diagnostics(uri, version=1)
    assert problem["code"] == "APL900"
    assert problem["range"]["start"] == {"line": 0, "character": 0}
    # Not UTF-8: a lone surrogate cannot be encoded (an editor that read bad bytes).
    undecodable = project / "undecodable.py"
    uri = client.open(undecodable, 'async def handler():\n    return "\udcff"\n')
    (problem,) = client.diagnostics(uri, version=1)
    assert problem["code"] == "APL900"
    assert "decode" in problem["message"] or "UTF-8" in problem["message"]
    assert client.close() == 0


def test_malformed_messages_do_not_end_the_server(project: Path, client: Client) -> None:
    client.initialize([project])
    client.write(b"Garbage-Header: yes\r\n")
    client.write(frame(b"{not json"))
    client.write(frame(b'{"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover"}'))
    client.write(frame(b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": 5}'))
    client.write(frame(b"[1, 2, 3]"))
    # Still answering: a request after all of that gets its answer.
    uri = client.open(project / "main.py", MAIN)
    assert len(client.diagnostics(uri, version=1)) == 2
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 10, "character": 12}},
    )
    assert "event loop" in hover["contents"]["value"]
    # Requests for documents it does not have are answered, not failed on.
    assert (
        client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": (project / "nowhere.py").as_uri()},
                "range": _range(0, 0, 0, 0),
                "context": {"diagnostics": []},
            },
        )
        == []
    )
    assert client.close() == 0


def test_without_pygls_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` raises ImportError
    result = run_cli("server", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "async-pitfalls-lint: error: the language server needs pygls, which is not installed: "
        'pip install "async-pitfalls-lint[lsp]"'
    )


@pytest.mark.slow
def test_multi_root_workspaces_use_each_folders_settings(tmp_path: Path) -> None:
    folders = []
    for name, table in (
        ("strict", ""),
        ("lenient", '\n[tool.async-pitfalls-lint]\nignore = ["APL1"]\n'),
    ):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n{table}')
        (folder / "main.py").write_text(MAIN)
        (folder / "helpers.py").write_text(HELPERS)
        folders.append(folder)
    client = Client(tmp_path)
    try:
        client.initialize(folders)
        strict = client.open(folders[0] / "main.py", MAIN)
        lenient = client.open(folders[1] / "main.py", MAIN)
        client.diagnostics(strict, codes=["APL101", "APL201"])
        (helper,) = client.diagnostics(lenient, codes=["APL201"])
        # The chain points into the folder's own helpers.py.
        locations = [item["location"]["uri"] for item in helper["relatedInformation"]]
        assert locations == [(folders[1] / "helpers.py").as_uri()] * 2
        assert client.close() == 0
    finally:
        client.kill()
