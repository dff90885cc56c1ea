"""`# noqa` in the standalone CLI: bare, with codes, with prefixes, case and spacing variants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from async_pitfalls_lint.model import Finding, Span
from async_pitfalls_lint.suppression import remove_suppressed, suppressed


def finding(code: str, line: int = 1) -> Finding:
    return Finding("app.py", code, "message", Span(line, 4, line, 10), "sleep")


@pytest.mark.parametrize(
    ("comment", "hidden"),
    [
        ("# noqa", True),
        ("#noqa", True),
        ("# NOQA", True),
        ("# noqa: APL101", True),
        ("# noqa:APL101", True),
        ("# noqa: apl101", True),
        ("# noqa: APL1", True),
        ("# noqa: APL", True),
        ("# noqa: E501, APL101", True),
        ("# noqa: E501,APL101", True),
        ("# noqa: E501 APL101", True),
        ("# noqa: APL102", False),
        ("# noqa: APL2", False),
        ("# noqa: E501", False),
        ("# no qa", False),
        ("", False),
    ],
)
def test_noqa_forms(comment: str, hidden: bool) -> None:
    lines = [f"    time.sleep(1)  {comment}".rstrip()]
    assert suppressed(finding("APL101"), lines) is hidden


def test_only_the_findings_line_counts() -> None:
    text = "x = 1  # noqa\ntime.sleep(1)\n"
    kept = remove_suppressed([finding("APL101", 1), finding("APL101", 2)], text)
    assert [item.line for item in kept] == [2]


def test_lines_out_of_range_are_not_suppressed() -> None:
    assert suppressed(finding("APL101", 5), ["# noqa"]) is False
    assert remove_suppressed([finding("APL101")], None) == [finding("APL101")]


APP = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    time.sleep(1)  # noqa: APL101
    time.sleep(2)  # noqa: APL2
    time.sleep(3)  # noqa
    time.sleep(4)
    return {}
"""


def test_cli_applies_noqa(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "async_pitfalls_lint", "check", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert [line.split(":")[1] for line in result.stdout.splitlines()] == ["11", "13"]
