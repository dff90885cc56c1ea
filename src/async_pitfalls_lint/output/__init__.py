"""Output formats. Each module renders a Report; FORMATS maps the CLI's --format to them."""

from __future__ import annotations

from collections.abc import Callable

from async_pitfalls_lint.output import github, json_format, sarif, text
from async_pitfalls_lint.report import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}

__all__ = ["FORMATS"]
