"""Discovering fixture cases and laying each out as its own little project."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from expectations import CaseFile, Expected, read_expectations

FIXTURES = Path(__file__).parent / "fixtures"
OUTPUT_SUFFIXES = (".fixed.py", ".unsafe.py")


@dataclass
class Case:
    """A single-module case (one .py file) or a multi-module case (a folder)."""

    id: str
    source: Path
    files: list[CaseFile]

    @property
    def expected(self) -> list[Expected]:
        return [item for case_file in self.files for item in case_file.expected]

    @property
    def options(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for case_file in self.files:
            merged.update(case_file.options)
        return merged

    def materialise(self, target: Path) -> Path:
        """Copy the case into `target` with a pyproject.toml holding its options."""
        target.mkdir(parents=True, exist_ok=True)
        if self.source.is_dir():
            # Expected fix outputs (`*.fixed.py`, `*.unsafe.py`) are not part of the project.
            ignore = shutil.ignore_patterns(*(f"*{suffix}" for suffix in OUTPUT_SUFFIXES))
            shutil.copytree(self.source, target, dirs_exist_ok=True, ignore=ignore)
        else:
            shutil.copy(self.source, target / self.source.name)
        pyproject = target / "pyproject.toml"
        if not pyproject.exists():
            pyproject.write_text(_pyproject(self.options), encoding="utf-8")
        return target


def _pyproject(options: dict[str, str]) -> str:
    # Library inference reads whatever the test environment has installed; fixture results
    # must not depend on that (tests/test_libraries.py builds its own environments).
    lines = ["[tool.async-pitfalls-lint]", "cache = false", "infer-libraries = false"]
    for key, value in sorted(options.items()):
        if "," in value:
            items = ", ".join(f'"{item}"' for item in value.split(","))
            lines.append(f"{key} = [{items}]")
        elif value.isdigit():
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def is_output_file(path: Path) -> bool:
    return path.name.endswith(OUTPUT_SUFFIXES)


def discover_cases(root: Path = FIXTURES) -> list[Case]:
    cases = []
    for group in sorted(path for path in root.iterdir() if path.is_dir()):
        for entry in sorted(group.iterdir()):
            if entry.name.startswith((".", "_")) and entry.name != "__init__.py":
                continue
            if entry.is_dir():
                files = [
                    read_expectations(path, path.relative_to(entry).as_posix())
                    for path in sorted(entry.rglob("*.py"))
                    if not is_output_file(path)
                ]
                cases.append(Case(f"{group.name}/{entry.name}", entry, files))
            elif entry.suffix == ".py" and not is_output_file(entry):
                cases.append(
                    Case(
                        f"{group.name}/{entry.stem}", entry, [read_expectations(entry, entry.name)]
                    )
                )
    return cases


# -- every case's findings, computed once per test process ---------------------------------------
Found = tuple[str, int, int, str, str, str]  # path, line, 1-based column, code, message, callee
_SCRATCH: list[Path] = []


def _scratch() -> Path:
    if not _SCRATCH:
        folder = Path(tempfile.mkdtemp(prefix="apl-cases-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SCRATCH.append(folder)
    return _SCRATCH[0]


@functools.lru_cache(maxsize=1)
def _cases_by_id() -> dict[str, Case]:
    return {case.id: case for case in discover_cases()}


@functools.cache
def case_findings(case_id: str) -> tuple[Found, ...]:
    """The in-process findings of one case, laid out as its own project and checked from its
    folder, shared by the tests that need them so each case is analysed once."""
    from async_pitfalls_lint.analysis import reset_analyses  # noqa: PLC0415 - tests import cases first
    from async_pitfalls_lint.api import check_paths  # noqa: PLC0415
    from async_pitfalls_lint.config import load_settings  # noqa: PLC0415

    case = _cases_by_id()[case_id]
    project = case.materialise(_scratch() / case_id.replace("/", "__"))
    reset_analyses()
    previous = os.getcwd()
    os.chdir(project)  # reports show paths relative to the working folder, as from the project
    try:
        return tuple(
            (result.path, f.line, f.column + 1, f.code, f.message, f.callee)
            for result in check_paths([project], load_settings(project))
            for f in result.findings
        )
    finally:
        os.chdir(previous)
        reset_analyses()
