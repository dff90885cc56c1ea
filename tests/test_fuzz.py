"""Property-based tests: the analysis never raises, and its findings are right and stable.

- hypothesmith programs (arbitrary valid Python): never an exception, never APL900, and a probe
  appended after the program is still found at its line and column;
- generated FastAPI modules (tests/fuzzing.py): exactly the findings the generator predicts,
  under both scopes; the same through a real flake8 run over a batch; unchanged when unrelated
  code is appended; unchanged when every import alias is renamed (metamorphic); unchanged when
  the same path is re-checked with new contents in a long-lived process.

CI runs a bounded number of examples (well under a minute each). A long local campaign:
`APL_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py` (examples are then drawn at random rather than
from the fixed CI sequence).
"""

from __future__ import annotations

import ast
import io
import keyword
import os
import tempfile
import tokenize
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.api import check_paths, check_source
from async_pitfalls_lint.config import load_settings

from fuzzing import (
    FUZZ_ENV,
    GeneratedModule,
    examples,
    fastapi_modules,
    flake8_keys,
    unrelated_code,
    write_project,
)

pytestmark = pytest.mark.slow  # property-based: `pytest -m "slow or network"` runs them

CAMPAIGN = bool(os.environ.get(FUZZ_ENV))


def _settings(default: int) -> settings:
    return settings(
        max_examples=examples(default),
        deadline=None,
        derandomize=not CAMPAIGN,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def _project(tmp_path: Path, scope: str) -> Path:
    return write_project(tmp_path / f"project-{scope}", {}, f'cache = false\nscope = "{scope}"\n')


def _fresh(tmp_path: Path) -> Path:
    """A new folder for one example (tmp_path is shared by all examples of a test)."""
    return Path(tempfile.mkdtemp(dir=tmp_path)) / "batch"


def _findings(root: Path, source: str, name: str = "app.py") -> set[tuple[int, int, str]]:
    """A fresh in-process analysis of `source` as root/name: (line, 0-based column, code)."""
    reset_analyses()
    found = check_source(source, str(root / name), load_settings(root))
    return {(finding.line, finding.column, finding.code) for finding in found}


# -- arbitrary valid Python -----------------------------------------------------------------------
PROBE = (
    "\n\nimport time as apl_probe_time\n\n\nasync def apl_probe():\n    apl_probe_time.sleep(1)\n"
)


@_settings(30)
@given(program=hypothesmith.from_grammar())
def test_any_valid_program_is_analysed(program: str, tmp_path: Path) -> None:
    source = program.rstrip("\n") + "\n" + PROBE
    try:
        compile(source, "<fuzz>", "exec", dont_inherit=True)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        assume(False)  # e.g. a trailing backslash continuation, or `from __future__` late
    assume("apl_probe" not in program)
    root = _project(tmp_path, "all")
    findings = _findings(root, source)
    assert not [item for item in findings if item[2] == "APL900"], findings
    probe_line = source.count("\n")  # the probe's sleep is the last line
    assert (probe_line, 4, "APL101") in findings


@_settings(3)
@given(programs=st.lists(hypothesmith.from_grammar(), min_size=5, max_size=8))
def test_valid_programs_through_flake8_match_in_process(
    programs: list[str], tmp_path: Path
) -> None:
    sources = {}
    for index, program in enumerate(programs):
        source = program.rstrip("\n") + "\n" + PROBE
        try:
            compile(source, "<fuzz>", "exec", dont_inherit=True)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            continue
        sources[f"m{index}.py"] = source
    assume(sources)
    root = write_project(_fresh(tmp_path), dict(sources), 'cache = false\nscope = "all"\n')
    flake8 = _assert_flake8_matches_api(root)
    assert {key[0] for key in flake8} == set(sources)  # every file's probe, at least


def _assert_flake8_matches_api(root: Path) -> list[tuple[str, int, int, str]]:
    """A real flake8 run over root gives exactly the in-process findings; returns them."""
    reset_analyses()
    api = sorted(
        (result.path, finding.line, finding.column + 1, finding.code)
        for result in check_paths([root], load_settings(root))
        for finding in result.findings
    )
    flake8 = flake8_keys(root, jobs=2)
    assert flake8 == api
    return flake8


# -- generated FastAPI modules: the oracle --------------------------------------------------------
@pytest.mark.parametrize("scope", ["fastapi", "all"])
def test_generated_modules_give_exactly_the_predicted_findings(scope: str, tmp_path: Path) -> None:
    root = _project(tmp_path, scope)

    @_settings(120)
    @given(module=fastapi_modules())
    def check(module: GeneratedModule) -> None:
        assert _findings(root, module.source) == module.findings(scope)

    check()


def test_the_generator_is_not_trivial() -> None:
    """The oracle test would pass vacuously on modules without findings: make sure the
    generator draws plenty of findings of every direct and helper code."""
    codes: set[str] = set()
    total = 0

    @settings(max_examples=200, derandomize=True, deadline=None)
    @given(module=fastapi_modules())
    def collect(module: GeneratedModule) -> None:
        nonlocal total
        found = module.findings("all")
        total += len(found)
        codes.update(code for _, _, code in found)

    collect()
    assert total > 200
    assert codes == {"APL101", "APL102", "APL103", "APL105", "APL201", "APL202", "APL203", "APL205"}


@_settings(4)
@given(modules=st.lists(fastapi_modules(max_functions=4), min_size=8, max_size=12))
def test_generated_modules_through_flake8_match_in_process(
    modules: list[GeneratedModule], tmp_path: Path
) -> None:
    files: dict[str, str | bytes] = {
        f"m{index}.py": module.source for index, module in enumerate(modules)
    }
    root = write_project(_fresh(tmp_path), files)
    expected = sorted(
        (f"m{index}.py", line, column + 1, code)
        for index, module in enumerate(modules)
        for line, column, code in module.findings()
    )
    assert _assert_flake8_matches_api(root) == expected


# -- metamorphic properties -----------------------------------------------------------------------
def _identifiers(source: str) -> set[str]:
    names = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
            names.add(token.string)
    return names


@_settings(60)
@given(module=fastapi_modules(), extra=unrelated_code())
def test_appended_unrelated_code_changes_nothing(
    module: GeneratedModule, extra: str, tmp_path: Path
) -> None:
    root = _project(tmp_path, "fastapi")
    assert _findings(root, module.source + "\n\n" + extra + "\n") == module.findings()


@_settings(25)
@given(module=fastapi_modules(max_functions=3), program=hypothesmith.from_grammar())
def test_appended_arbitrary_code_changes_nothing(
    module: GeneratedModule, program: str, tmp_path: Path
) -> None:
    """Arbitrary valid code appended after a module, as long as it shares no identifier with
    the module (else it may legitimately rebind a name the module uses)."""
    assume(not (_identifiers(program) & _identifiers(module.source)))
    combined = module.source + "\n\n" + program.rstrip("\n") + "\n"
    try:
        ast.parse(combined)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        assume(False)
    lines = module.source.count("\n")
    root = _project(tmp_path, "all")
    combined_findings = {item for item in _findings(root, combined) if item[0] <= lines}
    assert combined_findings == module.findings("all")


@_settings(80)
@given(module=fastapi_modules())
def test_renaming_import_aliases_changes_no_finding(
    module: GeneratedModule, tmp_path: Path
) -> None:
    renamed = module.renamed("q")
    names = module.structure.names
    aliased = (
        {names.time_style, names.requests_style, names.subprocess_style} & {1, 3}
        or names.asyncio_style == 1
        or names.pool_style == 1
    )
    assert (renamed.source != module.source) == bool(aliased)
    root = _project(tmp_path, "all")
    assert (
        _findings(root, module.source) == _findings(root, renamed.source) == module.findings("all")
    )


@_settings(40)
@given(first=fastapi_modules(max_functions=3), second=fastapi_modules(max_functions=3))
def test_rechecking_a_path_with_new_content_in_one_process(
    first: GeneratedModule, second: GeneratedModule, tmp_path: Path
) -> None:
    """flake8 (and editors) keep one analysis per process and hand it each file's current
    lines: a path's earlier content must not leak into the findings for its new content."""
    root = _project(tmp_path, "fastapi")
    settings_ = load_settings(root)
    path = str(root / "app.py")
    reset_analyses()
    check_source(first.source, path, settings_)
    again = {(f.line, f.column, f.code) for f in check_source(second.source, path, settings_)}
    assert again == second.findings()
