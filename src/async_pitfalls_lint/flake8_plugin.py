"""The flake8 adapter: options in, findings out, and never an exception.

flake8 aborts the whole run when a plugin raises, so every failure on a file becomes one APL900
finding naming the problem. flake8 applies `# noqa` and select/ignore itself.
"""

from __future__ import annotations

import argparse
import io
import os
import tokenize
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from async_pitfalls_lint import __version__
from async_pitfalls_lint.analysis import Analysis, analysis_for
from async_pitfalls_lint.config import SCOPES, ConfigError, Settings, load_settings
from async_pitfalls_lint.flake8_options import PluginOptions, StoreTrue, read_options
from async_pitfalls_lint.output.text import fix_marker
from async_pitfalls_lint.project import fallback_roots
from async_pitfalls_lint.results import ResultStore
from async_pitfalls_lint.source import SourceProblem, decode_source

Report = tuple[int, int, str, type]


class Plugin:
    name = "async-pitfalls-lint"
    version = __version__
    options: ClassVar[argparse.Namespace | None] = None
    plugin_options: ClassVar[PluginOptions | None] = None

    # flake8 passes arguments by parameter name; asking for `tree` makes it run us once per file.
    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:  # noqa: ARG002
        self.filename = filename
        self.lines = lines

    # -- options --------------------------------------------------------------------------------
    @staticmethod
    def add_options(manager: Any) -> None:
        # Values are read as text and checked in parse_options (flake8_options.py): flake8 does
        # not apply `choices` to config files, and `type=int` or `store_true` options end in a
        # traceback there on a bad value.
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
            default=None,
            parse_from_config=True,
            help="How many project calls deep to follow a blocking chain (default 10).",
        )
        manager.add_option(
            "--async-pitfalls-max-candidates",
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
            action=StoreTrue,
            default=None,
            parse_from_config=True,
            help="Do not read or write the on-disk cache.",
        )
        # Rules that are off by default are not reported unless selected, by
        # [tool.async-pitfalls-lint] or by flake8's own --select/--extend-select (see
        # _settings): the plugin decides, so nothing goes on flake8's default ignore list, which
        # would also hide the rules a pyproject.toml turns on.

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        try:
            cls.plugin_options = read_options(options)
        except ConfigError as error:
            raise _flake8_error(f"async-pitfalls-lint: configuration error: {error}") from None
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
        analysis = analysis_for(path, settings, fallback_roots())
        saved = _saved_text(path)
        if isinstance(saved, SourceProblem):
            yield self._failure(str(saved))  # flake8 read it with a fallback; Python would not
            return
        store = None
        if saved is None or _newlines(saved) != _newlines(text):
            # An unsaved editor buffer, or stdin: analyse what flake8 handed us.
            analysis.project.set_content(os.fspath(path), _encode_like_python(text))
        else:
            store = _results(analysis)
        result = store.get(os.fspath(path)) if store is not None else None
        if result is None:
            result = analysis.check(os.fspath(path), validate=False)
            if store is not None:
                store.put(os.fspath(path), result)
        for finding in result.findings:
            message = f"{finding.code} {finding.message}{fix_marker(finding)}"
            yield (finding.line, finding.column, message, type(self))

    def _failure(self, problem: str) -> Report:
        return (1, 0, f"APL900 could not analyse this file: {problem}", type(self))

    def _settings(self, path: Path) -> Settings:
        settings = _pyproject_settings(path.parent)
        plugin = self.plugin_options
        if plugin is None:
            return settings
        changes: dict[str, Any] = {}
        if plugin.scope:
            changes["scope"] = plugin.scope
        if plugin.extra_blocking:
            changes["extra_blocking"] = plugin.extra_blocking
        if plugin.allow:
            changes["allow"] = plugin.allow
        if plugin.route_decorators:
            changes["route_decorators"] = plugin.route_decorators
        if plugin.max_depth:
            changes["max_depth"] = plugin.max_depth
        if plugin.max_candidates:
            changes["max_candidates"] = plugin.max_candidates
        if plugin.project_root:
            changes["project_root"] = plugin.project_root
        if plugin.no_cache:
            changes["cache"] = False
        # flake8's --select/--extend-select naming an APL code or family (APL108, APL3) turns
        # on what is off by default, and wins over an identical pyproject ignore; the bare
        # plugin prefix (`--select=APL`) keeps the defaults.
        named = tuple(selector for selector in plugin.selected if len(selector) > 3)
        if named:
            changes["extend_select"] = (*settings.extend_select, *named)
            changes["ignore"] = tuple(code for code in settings.ignore if code not in named)
        return settings.replace(**changes) if changes else settings


_SETTINGS_BY_FOLDER: dict[str, Settings] = {}
_STORES: weakref.WeakKeyDictionary[Analysis, ResultStore] = weakref.WeakKeyDictionary()


def _results(analysis: Analysis) -> ResultStore | None:
    """The per-file results of an analysis, as the plugin reports them (one per process)."""
    store = _STORES.get(analysis)
    if store is None:
        store = ResultStore.open(analysis, "flake8", per_file=True)
        if store is not None:
            _STORES[analysis] = store
    return store


def _pyproject_settings(folder: Path) -> Settings:
    key = os.fspath(folder)
    settings = _SETTINGS_BY_FOLDER.get(key)
    if settings is None:
        settings = load_settings(folder)
        _SETTINGS_BY_FOLDER[key] = settings
    return settings


def _flake8_error(message: str) -> BaseException:
    """flake8's own exception for a run that cannot start: it prints the message (no
    traceback) and exits 1, as for its own configuration errors."""
    try:
        from flake8.exceptions import ExecutionError  # noqa: PLC0415
    except ImportError:  # pragma: no cover - flake8 is a dependency
        return SystemExit(message)
    return ExecutionError(message)  # type: ignore[no-any-return]


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
