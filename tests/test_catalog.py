"""The rule catalog and the knowledge base stay honest: codes, docs examples, fixture coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from async_pitfalls_lint._toml import load_toml_bytes
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.catalog import CODE_PATTERN, Rule, load_catalog
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.knowledge import GIL_VALUES, KnowledgeBase, default_knowledge

from cases import case_findings, discover_cases

ROOT = Path(__file__).parent.parent
CATALOG = load_catalog()


def test_codes_are_unique_and_well_formed() -> None:
    codes = CATALOG.codes
    assert len(codes) == len(set(codes))
    assert all(CODE_PATTERN.match(code) for code in codes)
    names = [rule.name for rule in CATALOG.rules]
    assert len(names) == len(set(names))


def test_flake8_entry_point_matches_the_codes() -> None:
    pyproject = load_toml_bytes((ROOT / "pyproject.toml").read_bytes())
    entry_points = pyproject["project"]["entry-points"]["flake8.extension"]
    assert list(entry_points) == ["APL"]
    assert all(code.startswith("APL") for code in CATALOG.codes)


def test_every_blocking_category_has_one_direct_and_one_helper_code() -> None:
    for category in ("sleep", "http", "file", "db", "subprocess", "cpu", "wait"):
        direct = CATALOG[CATALOG.code_for("blocking-call", category)]
        helper = CATALOG[CATALOG.code_for("blocking-helper", category)]
        assert direct.code[4:] == helper.code[4:], (direct.code, helper.code)


def _check_snippet(tmp_path: Path, source: str) -> set[str]:
    project = tmp_path / "snippet"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.async-pitfalls-lint]\ncache = false\nselect = ["APL"]\n', encoding="utf-8"
    )
    (project / "module.py").write_text(source + "\n", encoding="utf-8")
    results = check_paths([project], load_settings(project))
    return {finding.code for result in results for finding in result.findings}


@pytest.mark.parametrize("rule", CATALOG.rules, ids=lambda rule: rule.code)
def test_documented_example_reports_the_rule(rule: Rule, tmp_path: Path) -> None:
    assert rule.code in _check_snippet(tmp_path, rule.example)


@pytest.mark.parametrize("rule", CATALOG.rules, ids=lambda rule: rule.code)
def test_documented_fix_reports_nothing(rule: Rule, tmp_path: Path) -> None:
    assert _check_snippet(tmp_path, rule.use_instead) == set()


def _annotated_codes() -> set[str]:
    return {item.code for case in discover_cases() for item in case.expected}


def test_every_reporting_rule_has_a_fixture() -> None:
    missing = set(CATALOG.codes) - _annotated_codes() - {"APL900"}
    assert missing == set()


@pytest.fixture(scope="session")
def fixture_callees() -> set[str]:
    """The resolved callee of every finding over all fixture cases (analysed once per run,
    shared with tests/test_fixtures.py)."""
    return {callee for case in discover_cases() for *_, callee in case_findings(case.id) if callee}


def test_every_knowledge_base_group_is_exercised_by_a_fixture(fixture_callees: set[str]) -> None:
    kb = default_knowledge()
    covered = {entry.group for name in fixture_callees if (entry := kb.blocking(name)) is not None}
    groups = {entry.group for entry in kb.groups()}
    assert groups - covered == set()


def test_knowledge_base_entries_name_real_categories() -> None:
    categories = set(CATALOG.categories)
    for entry in default_knowledge().groups():
        assert entry.category in categories, entry.group
        assert entry.why, entry.group
        assert entry.alternative, entry.group


def test_messages_use_only_known_placeholders() -> None:
    allowed = {
        *("callee", "scope", "alternative", "doing", "chain"),
        *("resolved", "calls", "problem"),
    }
    for rule in CATALOG.rules:
        assert set(re.findall(r"{(\w+)}", rule.message)) <= allowed, rule.code


def test_cpu_entries_say_whether_they_hold_the_gil() -> None:
    for name, entry in default_knowledge().known_names():
        if entry.category == "cpu":
            assert entry.gil in GIL_VALUES, name
        else:
            assert entry.gil == "", name


def _group(**fields: object) -> dict[str, object]:
    return {"id": "g", "why": "w", "alternative": "{offload}", "calls": ["lib.f"], **fields}


@pytest.mark.parametrize(
    "group",
    [
        _group(category="cpu"),  # CPU work must say what it does with the GIL
        _group(category="cpu", gil="sometimes"),
        _group(category="cpu", gil="holds", gil_of={"lib.unlisted": "releases"}),
        _group(category="cpu", gil="holds", gil_of={"lib.f": "maybe"}),
        _group(category="http", gil="releases"),  # only CPU work has a GIL behaviour
    ],
)
def test_knowledge_base_rejects_bad_gil_data(group: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"(?i)gil"):
        KnowledgeBase({"group": [group]}, {})


def test_gil_of_overrides_the_group_for_one_name() -> None:
    group = _group(category="cpu", gil="releases", calls=["lib.f", "lib.g*"])
    group["gil_of"] = {"lib.g*": "holds"}
    kb = KnowledgeBase({"group": [group]}, {})
    plain, overridden = kb.blocking("lib.f"), kb.blocking("lib.go")
    assert plain is not None
    assert plain.gil == "releases"
    assert overridden is not None
    assert overridden.holds_gil


def test_cpu_advice_follows_the_gil() -> None:
    cpu = CATALOG.categories["cpu"]
    assert "asyncio.to_thread" in cpu.advice("releases").alternative
    assert "ProcessPoolExecutor" in cpu.advice("holds").alternative
    assert "asyncio.to_thread({helper}" in cpu.advice("releases").helper_alternative
    assert "ProcessPoolExecutor" in cpu.advice("holds").helper_alternative
    filled = cpu.alternative_for("load it once, then {offload}", "releases")
    assert filled == "load it once, then " + cpu.advice("releases").alternative
    http = CATALOG.categories["http"]
    assert http.alternative_for("", "") == http.alternative
