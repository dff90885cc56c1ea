"""The flake8 adapter: options in, findings out, and never an exception.

flake8 aborts the whole run when a plugin raises, so every failure on a file becomes one APL900
finding naming the problem. flake8 applies `# noqa` and select/ignore itself.
"""

from __future__ import annotations

import argparse
import io
import os
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from async_pitfalls_lint import __version__
from async_pitfalls_lint.analysis import analysis_for
from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.config import (
    SCOPES,
    ConfigError,
    Settings,
    load_settings,
    validate_extra_blocking,
)
from async_pitfalls_lint.output.text import fix_marker
from async_pitfalls_lint.source import SourceProblem, decode_source

Report = tuple[int, int, str, type]


class Plugin:
    name = "async-pitfalls-lint"
    version = __version__
    options: ClassVar[argparse.Namespace | None] = None

    # flake8 passes arguments by parameter name; asking for `tree` makes it run us once per file.
    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:  # noqa: ARG002
        self.filename = filename
        self.lines = lines

    # -- options --------------------------------------------------------------------------------
    @staticmethod
    def add_options(manager: Any) -> None:
        manager.add_option(
            "--async-pitfalls-scope",
            choices=SCOPES,
            default=None,
            parse_from_config=True,
            help="fastapi (default): FastAPI/Starlette event-loop code; all: every async def.",
        )
        manager.add_option(
            "--async-pitfalls-extra-blocking",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Extra blocking callables as qualified.name->category (comma separated).",
        )
        manager.add_option(
            "--async-pitfalls-allow",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Qualified names never reported (comma separated; * globs allowed).",
        )
        manager.add_option(
            "--async-pitfalls-route-decorators",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Extra decorators that mark an async route (qualified or bare names).",
        )
        manager.add_option(
            "--async-pitfalls-max-depth",
            type=int,
            default=None,
            parse_from_config=True,
            help="How many project calls deep to follow a blocking chain (default 10).",
        )
        manager.add_option(
            "--async-pitfalls-max-candidates",
            type=int,
            default=None,
            parse_from_config=True,
            help="How many run-time candidates of one receiver to follow (default 8).",
        )
        manager.add_option(
            "--async-pitfalls-project-root",
            default=None,
            parse_from_config=True,
            help="The project root for cross-module analysis (default: nearest pyproject.toml, "
            "setup.cfg, setup.py or .git).",
        )
        manager.add_option(
            "--async-pitfalls-no-cache",
            action="store_true",
            default=None,
            parse_from_config=True,
            help="Do not read or write the on-disk cache.",
        )
        off_by_default = [rule.code for rule in load_catalog().rules if not rule.default]
        extend = getattr(manager, "extend_default_ignore", None)
        if extend is not None:
            extend(off_by_default)

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.options = options

    # -- running --------------------------------------------------------------------------------
    def run(self) -> Iterator[Report]:
        try:
            reports = list(self._reports())
        except Exception as error:  # one file's failure must never end the flake8 run
            reports = [self._failure(f"internal error {type(error).__name__}: {error}")]
        yield from reports

    def _reports(self) -> Iterator[Report]:
        text = "".join(self.lines)
        if "async" not in text:
            return
        path = Path(os.path.abspath(self.filename))
        try:
            settings = self._settings(path)
        except ConfigError as error:
            yield self._failure(f"configuration error: {error}")
            return
        analysis = analysis_for(path, settings)
        saved = _saved_text(path)
        if isinstance(saved, SourceProblem):
            yield self._failure(str(saved))  # flake8 read it with a fallback; Python would not
            return
        if saved is None or _newlines(saved) != _newlines(text):
            # An unsaved editor buffer, or stdin: analyse what flake8 handed us.
            analysis.project.set_content(os.fspath(path), _encode_like_python(text))
        result = analysis.check(os.fspath(path), validate=False)
        for finding in result.findings:
            message = f"{finding.code} {finding.message}{fix_marker(finding)}"
            yield (finding.line, finding.column, message, type(self))

    def _failure(self, problem: str) -> Report:
        return (1, 0, f"APL900 could not analyse this file: {problem}", type(self))

    def _settings(self, path: Path) -> Settings:
        settings = _pyproject_settings(path.parent)
        options = self.options
        if options is None:
            return settings
        changes: dict[str, Any] = {}
        scope = getattr(options, "async_pitfalls_scope", None)
        if scope:
            changes["scope"] = scope
        extra = getattr(options, "async_pitfalls_extra_blocking", None)
        if extra:
            changes["extra_blocking"] = _parse_extra(extra)
        allow = getattr(options, "async_pitfalls_allow", None)
        if allow:
            changes["allow"] = tuple(allow)
        decorators = getattr(options, "async_pitfalls_route_decorators", None)
        if decorators:
            changes["route_decorators"] = tuple(decorators)
        depth = getattr(options, "async_pitfalls_max_depth", None)
        if depth:
            changes["max_depth"] = int(depth)
        candidates = getattr(options, "async_pitfalls_max_candidates", None)
        if candidates:
            changes["max_candidates"] = int(candidates)
        root = getattr(options, "async_pitfalls_project_root", None)
        if root:
            changes["project_root"] = os.path.abspath(root)
        if getattr(options, "async_pitfalls_no_cache", None):
            changes["cache"] = False
        return settings.replace(**changes) if changes else settings


_SETTINGS_BY_FOLDER: dict[str, Settings] = {}


def _pyproject_settings(folder: Path) -> Settings:
    key = os.fspath(folder)
    settings = _SETTINGS_BY_FOLDER.get(key)
    if settings is None:
        settings = load_settings(folder)
        _SETTINGS_BY_FOLDER[key] = settings
    return settings


def _parse_extra(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for item in items:
        name, separator, category = item.partition("->")
        if not separator:
            name, separator, category = item.partition("=")
        if not separator:
            raise ConfigError(f"--async-pitfalls-extra-blocking: {item!r} is not name->category")
        pairs[name.strip()] = category.strip()
    return validate_extra_blocking(pairs, "--async-pitfalls-extra-blocking")


def _saved_text(path: Path) -> str | SourceProblem | None:
    """The file as saved, decoded as Python would (None when it is not on disk). When it is,
    the facts read from disk, and everything derived from them, hold for flake8's lines."""
    try:
        return decode_source(path.read_bytes()).text
    except OSError:
        return None
    except SourceProblem as problem:
        return problem


def _encode_like_python(text: str) -> bytes:
    """Bytes that decode back to `text` under the source's own coding declaration."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(text.encode("utf-8")).readline)
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeEncodeError):
        return text.encode("utf-8")


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
