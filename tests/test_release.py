"""The release and its documented install steps agree: the version in `__init__.py`, the
CHANGELOG section for it, and every release tag the documentation pins (`rev: vX.Y.Z`,
`@vX.Y.Z`); and no documented command installs a package name that is not published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from async_pitfalls_lint import __version__

ROOT = Path(__file__).resolve().parent.parent
TAG = f"v{__version__}"
PINNED = [
    ROOT / "README.md",
    ROOT / ".pre-commit-hooks.yaml",
    *sorted((ROOT / "docs").glob("*.md")),
]
REV = re.compile(r"\brev:\s*(v\d\S*)")  # `rev: vX.Y.Z` placeholders are not releases
GIT_TAG = re.compile(
    r"git\+https://github\.com/async-pitfalls-lint/async-pitfalls-lint@(\S+?)[\"'`\s]"
)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_version_is_a_release_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_changelog_has_a_dated_section_for_the_version_below_unreleased() -> None:
    changelog = _text(ROOT / "CHANGELOG.md")
    section = re.search(
        rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    )
    assert section, f"CHANGELOG.md has no '## [{__version__}] - YYYY-MM-DD' section"
    unreleased = changelog.find("## [Unreleased]")
    assert 0 <= unreleased < section.start()


@pytest.mark.parametrize("path", PINNED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_pinned_release_is_this_version(path: Path) -> None:
    text = _text(path)
    for match in REV.finditer(text):  # flake8's own hook pins `rev: 7.1.1`: not matched
        assert match.group(1) == TAG, f"{path.name}: rev: {match.group(1)} (expected {TAG})"
    for match in GIT_TAG.finditer(text):
        assert match.group(1) == TAG, f"{path.name}: @{match.group(1)} (expected @{TAG})"


def test_the_main_pinned_examples_exist() -> None:
    for name in ("README.md", ".pre-commit-hooks.yaml", "docs/usage.md"):
        assert f"rev: {TAG}" in _text(ROOT / name), name
    for name in ("docs/installation.md", "docs/ci.md", "docs/usage.md"):
        assert f"@{TAG}" in _text(ROOT / name), name


UNPUBLISHED = re.compile(
    r"^[\s$>-]*(?:run:\s*)?(?:pip|pipx|uv tool) install async-pitfalls-lint\b"
    r"|poetry add [^\n`/]*[\s]async-pitfalls-lint\s*$"
    r"|additional_dependencies:\s*\[\s*async-pitfalls-lint\s*\]",
    re.M,
)


@pytest.mark.parametrize("path", PINNED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_documented_command_installs_the_unpublished_package_name(path: Path) -> None:
    """`pip install async-pitfalls-lint` cannot work before the package is on PyPI (prose may
    say so; commands may not)."""
    assert UNPUBLISHED.findall(_text(path)) == []


FAST = 'pip install -e ".[test]" && pytest -n auto'
REST = 'pytest -n auto -m "slow or network"'


def test_ci_runs_the_readme_test_commands_verbatim() -> None:
    readme = _text(ROOT / "README.md")
    assert f"`{FAST}`" in readme
    assert f"`{REST}`" in readme
    commands = [
        line.strip()
        for line in _text(ROOT / ".ci" / "run").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert FAST in commands
    assert REST in commands
    assert commands.index(FAST) < commands.index(REST)
