"""Output formats on reports with every feature: chains, safe and unsafe fixes, problems.

The JSON report is validated against schemas/report.schema.json and SARIF against the OASIS
SARIF 2.1.0 schema vendored in schemas/.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry
from referencing.exceptions import Unresolvable

from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.inventory import EVENT_LOOP, Dependency, Inventory, RouteEntry
from async_pitfalls_lint.model import ChainStep, Edit, FileProblem, FileResult, Finding, Fix, Span
from async_pitfalls_lint.output import FORMATS, github, json_format, sarif, text
from async_pitfalls_lint.output.routes import render_json
from async_pitfalls_lint.report import Report

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


HELPER = Finding(
    path="app/main.py",
    code="APL206",
    message="authenticate_user() runs CPU-heavy password hashing on the event loop",
    span=Span(14, 11, 14, 83),
    category="cpu",
    callee="passlib.context.CryptContext.verify",
    chain=(
        ChainStep("verify_password", "app/security.py", 18, 12),
        ChainStep("pwd_context.verify", "app/security.py", 7, 12),
    ),
)
SAFE_FIX = Finding(
    path="app/main.py",
    code="APL304",
    message="asyncio.get_event_loop() in async route GET /x (x): use asyncio.get_running_loop()",
    span=Span(30, 11, 30, 35),
    category="all",
    callee="asyncio.get_event_loop",
    fix=Fix("Use asyncio.get_running_loop()", True, (Edit(400, 422, "asyncio.get_running_loop"),)),
)
UNSAFE_FIX = Finding(
    path="app/other.py",
    code="APL101",
    message="time.sleep() in async route GET /y (y) blocks the event loop",
    span=Span(5, 4, 5, 17),
    category="sleep",
    callee="time.sleep",
    fix=Fix(
        "Use await asyncio.sleep()",
        False,
        (Edit(60, 70, "await asyncio.sleep"), Edit(0, 0, "import asyncio\n")),
    ),
    fix_unavailable="",
)
NO_FIX = Finding(
    path="app/other.py",
    code="APL104",
    message="db.query() in async route GET /z (z) blocks the event loop",
    span=Span(9, 4, 9, 20),
    category="db",
    callee="sqlalchemy.orm.Session.query",
    fix_unavailable="the session is shared with awaited code",
)


def full_report() -> Report:
    return Report(
        results=[
            FileResult("app/main.py", [HELPER, SAFE_FIX]),
            FileResult("app/other.py", [UNSAFE_FIX, NO_FIX]),
            FileResult(
                "app/broken.py", [], FileProblem("app/broken.py", "invalid syntax at line 1")
            ),
        ]
    )


def test_formats_registered() -> None:
    assert sorted(FORMATS) == ["github", "json", "sarif", "text"]


# -- JSON -----------------------------------------------------------------------------------------
def test_json_schema_is_a_valid_schema() -> None:
    Draft202012Validator.check_schema(_load("report.schema.json"))
    Draft202012Validator.check_schema(_load("routes.schema.json"))


def test_json_report_validates_and_carries_everything() -> None:
    document = json.loads(json_format.render(full_report()))
    Draft202012Validator(_load("report.schema.json")).validate(document)
    assert document["schema_version"] == json_format.SCHEMA_VERSION == 1
    assert document["files_checked"] == 3
    assert document["fixes_available"] == 2
    assert document["problems"] == [
        {"path": "app/broken.py", "message": "invalid syntax at line 1"}
    ]
    assert document["statistics"] == {"APL101": 1, "APL104": 1, "APL206": 1, "APL304": 1}
    by_code = {finding["code"]: finding for finding in document["findings"]}
    assert by_code["APL206"]["chain"] == [
        {"label": "verify_password", "path": "app/security.py", "line": 18, "column": 12},
        {"label": "pwd_context.verify", "path": "app/security.py", "line": 7, "column": 12},
    ]
    assert (by_code["APL206"]["column"], by_code["APL206"]["end_column"]) == (12, 84)
    assert by_code["APL304"]["fix"] == {
        "available": True,
        "applicability": "safe",
        "title": "Use asyncio.get_running_loop()",
        "edits": [{"start": 400, "end": 422, "content": "asyncio.get_running_loop"}],
    }
    assert by_code["APL101"]["fix"]["applicability"] == "unsafe"
    assert by_code["APL104"]["fix"] == {
        "available": False,
        "reason": "the session is shared with awaited code",
    }


def test_json_schema_rejects_malformed_reports() -> None:
    validator = Draft202012Validator(_load("report.schema.json"))
    document = json.loads(json_format.render(full_report()))
    broken = json.loads(json.dumps(document))
    broken["findings"][0]["line"] = 0
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(document))
    broken["findings"][0]["fix"] = {"available": True}
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(document))
    broken["schema_version"] = 2
    assert not validator.is_valid(broken)


# -- SARIF ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sarif_validator() -> Draft4Validator:
    schema = _load("sarif-schema-2.1.0.json")
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def test_sarif_validates_against_the_official_schema(sarif_validator: Draft4Validator) -> None:
    document = json.loads(sarif.render(full_report()))
    errors = sorted(sarif_validator.iter_errors(document), key=str)
    assert errors == []
    assert document["version"] == "2.1.0"


def test_sarif_empty_report_is_valid(sarif_validator: Draft4Validator) -> None:
    document = json.loads(sarif.render(Report()))
    sarif_validator.validate(document)
    assert document["runs"][0]["results"] == []


def test_sarif_rules_come_from_the_catalog() -> None:
    document = json.loads(sarif.render(Report()))
    driver = document["runs"][0]["tool"]["driver"]
    catalog = load_catalog()
    assert [rule["id"] for rule in driver["rules"]] == list(catalog.codes)
    for descriptor, rule in zip(driver["rules"], catalog.rules, strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert (
            descriptor["helpUri"]
            == f"https://async-pitfalls-lint.readthedocs.io/en/latest/rules/{rule.code}/"
        )
        assert descriptor["help"]["markdown"].startswith(f"# {rule.code}: {rule.name}\n")
        assert descriptor["defaultConfiguration"]["enabled"] is rule.default


def test_sarif_results_regions_chains_and_fixes() -> None:
    document = json.loads(sarif.render(full_report()))
    run = document["runs"][0]
    results = {result["ruleId"]: result for result in run["results"]}
    rules = run["tool"]["driver"]["rules"]
    helper = results["APL206"]
    assert rules[helper["ruleIndex"]]["id"] == "APL206"
    assert helper["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 14,
        "startColumn": 12,
        "endLine": 14,
        "endColumn": 84,
    }
    assert [
        (
            related["physicalLocation"]["artifactLocation"]["uri"],
            related["physicalLocation"]["region"]["startLine"],
            related["message"]["text"],
        )
        for related in helper["relatedLocations"]
    ] == [
        ("app/security.py", 18, "calls verify_password"),
        ("app/security.py", 7, "calls pwd_context.verify"),
    ]
    assert "fixes" not in helper
    safe = results["APL304"]["fixes"][0]
    assert safe["description"]["text"] == "Use asyncio.get_running_loop()"
    assert safe["artifactChanges"][0]["replacements"] == [
        {
            "deletedRegion": {"charOffset": 400, "charLength": 22},
            "insertedContent": {"text": "asyncio.get_running_loop"},
        }
    ]
    assert results["APL101"]["fixes"][0]["description"]["text"].endswith("(unsafe)")
    assert run["columnKind"] == "unicodeCodePoints"
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notifications] == [
        "could not analyse this file: invalid syntax at line 1"
    ]
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_absolute_paths_become_file_uris() -> None:
    location = sarif.artifact_location("/srv/app/main.py")
    assert location == {"uri": "file:///srv/app/main.py"}
    assert sarif.artifact_location("app/my file.py") == {
        "uri": "app/my%20file.py",
        "uriBaseId": "%SRCROOT%",
    }


# -- GitHub ---------------------------------------------------------------------------------------
def test_github_annotations() -> None:
    lines = github.render(full_report()).splitlines()
    assert lines[0] == (
        "::error file=app/main.py,line=14,col=12,endLine=14,endColumn=84,title=APL206::"
        "authenticate_user() runs CPU-heavy password hashing on the event loop"
    )
    assert len(lines) == 4


def test_github_escaping() -> None:
    finding = Finding(
        path="odd,dir/a:b.py",
        code="APL101",
        message="100% blocked\r\nsecond line, with: colon",
        span=Span(1, 0, 2, 3),
        category="sleep",
    )
    assert github.format_finding(finding) == (
        "::error file=odd%2Cdir/a%3Ab.py,line=1,col=1,endLine=2,endColumn=4,title=APL101::"
        "100%25 blocked%0D%0Asecond line, with: colon"
    )


# -- text -----------------------------------------------------------------------------------------
def test_text_marks_fixes() -> None:
    assert text.render(full_report()).splitlines() == [
        "app/main.py:14:12: APL206 authenticate_user() runs CPU-heavy password hashing "
        "on the event loop",
        "app/main.py:30:12: APL304 asyncio.get_event_loop() in async route GET /x (x): "
        "use asyncio.get_running_loop() [fix available]",
        "app/other.py:5:5: APL101 time.sleep() in async route GET /y (y) blocks the event loop "
        "[unsafe fix available: --unsafe-fixes]",
        "app/other.py:9:5: APL104 db.query() in async route GET /z (z) blocks the event loop",
    ]


# -- routes.schema.json validates offline -----------------------------------------------------
def _routes_document() -> dict[str, Any]:
    inventory = Inventory(
        routes=[
            RouteEntry(
                kind="route",
                method="POST",
                route="/token",
                function="login",
                path="app/main.py",
                line=13,
                runs_in=EVENT_LOOP,
                dependencies=[Dependency("OAuth2PasswordRequestForm", "", 0, "library")],
                findings=[HELPER, SAFE_FIX],
            )
        ],
        files_checked=2,
    )
    document: dict[str, Any] = json.loads(render_json(inventory))
    return document


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a schema was fetched over the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("folder", [SCHEMAS, SCHEMAS.parent / "docs" / "schemas"])
@pytest.mark.usefixtures("no_network")
def test_routes_schema_validates_offline(folder: Path) -> None:
    """No `$ref` leaves the document: a registry that can retrieve nothing is enough, and the
    findings are checked against the report schema's own definition of a finding."""
    schema = json.loads((folder / "routes.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, registry=Registry())
    document = _routes_document()
    validator.validate(document)
    document["routes"][0]["findings"][0]["line"] = "14"  # a finding the report schema rejects
    errors = list(validator.iter_errors(document))
    assert [list(error.absolute_path) for error in errors] == [["routes", 0, "findings", 0, "line"]]


@pytest.mark.usefixtures("no_network")
def test_an_unbundled_routes_schema_would_need_the_network() -> None:
    """The check above can fail: without the embedded report schema, the finding `$ref` points
    at the report schema's web address, which a registry without retrieval cannot resolve."""
    schema = json.loads((SCHEMAS / "routes.schema.json").read_text(encoding="utf-8"))
    del schema["$defs"]["report"]
    with pytest.raises(Unresolvable):
        Draft202012Validator(schema, registry=Registry()).validate(_routes_document())


def test_the_embedded_report_schema_is_the_report_schema() -> None:
    routes = _load("routes.schema.json")
    assert routes["$defs"]["report"] == _load("report.schema.json")
