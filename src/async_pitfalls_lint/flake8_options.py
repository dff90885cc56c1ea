"""flake8's options for the plugin, validated like `[tool.async-pitfalls-lint]`.

flake8 hands config-file values over unchecked: `choices` are not applied to them, an `int`
option with a bad value ends in a traceback, a boolean one too. So every plugin option is read
as text and checked here, once, when flake8 parses its options; a bad value is one error naming
the option and where it was set (`setup.cfg`, `tox.ini`, `.flake8`, a `--config` or
`--append-config` file, or the command line), and flake8 stops the way it does for its own
configuration errors (status 1, no traceback). APL selectors in flake8's own `select`,
`extend-select`, `ignore` and `extend-ignore` are checked the same way.
"""

from __future__ import annotations

import argparse
import configparser
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from async_pitfalls_lint.config import (
    CODE_SELECTOR,
    SCOPES,
    ConfigError,
    validate_extra_blocking,
)

PREFIX = "async-pitfalls-"
_BOOLEANS = {
    "1": True, "yes": True, "true": True, "on": True,
    "0": False, "no": False, "false": False, "off": False,
}  # fmt: skip
_SELECTION_OPTIONS = ("select", "extend-select", "ignore", "extend-ignore")


class StoreTrue(argparse.Action):
    """`--async-pitfalls-no-cache` on the command line; in a config file flake8 then passes the
    text through (it parses `action="store_true"` options with a traceback on bad values)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.pop("nargs", None)
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002
        namespace: argparse.Namespace,
        values: Any,  # noqa: ARG002
        option_string: str | None = None,  # noqa: ARG002
    ) -> None:
        setattr(namespace, self.dest, True)


@dataclass(frozen=True)
class PluginOptions:
    """The plugin's flake8 options, checked and converted."""

    scope: str | None = None
    extra_blocking: tuple[tuple[str, str], ...] = ()
    allow: tuple[str, ...] = ()
    route_decorators: tuple[str, ...] = ()
    max_depth: int | None = None
    max_candidates: int | None = None
    project_root: str | None = None
    no_cache: bool = False
    # flake8's explicit selection of APL codes (`--select`, `--extend-select`), to report the
    # rules that are off by default when flake8 names them.
    selected: tuple[str, ...] = ()


def read_options(options: argparse.Namespace) -> PluginOptions:
    """Check and convert; raises ConfigError naming the option and where it was set."""
    sources = _Sources(options)
    values: dict[str, Any] = {}
    scope = _text(options, "scope")
    if scope is not None:
        if scope not in SCOPES:
            raise sources.error("scope", f"must be one of {', '.join(SCOPES)}, not {scope!r}")
        values["scope"] = scope
    extra = _items(options, "extra_blocking")
    if extra:
        values["extra_blocking"] = _extra_blocking(extra, sources)
    for name in ("allow", "route_decorators"):
        items = _items(options, name)
        for item in items:
            if not item or any(part == "" for part in item.split(".")) or " " in item:
                raise sources.error(name, f"{item!r} is not a qualified name")
        if items:
            values[name] = tuple(items)
    depth = _text(options, "max_depth")
    if depth is not None:
        if not depth.isdigit() or int(depth) < 1:
            raise sources.error("max_depth", f"must be a positive integer, not {depth!r}")
        values["max_depth"] = int(depth)
    candidates = _text(options, "max_candidates")
    if candidates is not None:
        if not candidates.isdigit() or int(candidates) < 1:
            raise sources.error("max_candidates", f"must be a positive integer, not {candidates!r}")
        values["max_candidates"] = int(candidates)
    root = _text(options, "project_root")
    if root is not None:
        if not root.strip():
            raise sources.error("project_root", "must be a path")
        values["project_root"] = os.path.abspath(root)
    no_cache = getattr(options, "async_pitfalls_no_cache", None)
    if isinstance(no_cache, str):
        flag = _BOOLEANS.get(no_cache.strip().lower())
        if flag is None:
            raise sources.error("no_cache", f"must be true or false, not {no_cache!r}")
        values["no_cache"] = flag
    elif no_cache:
        values["no_cache"] = True
    selected: list[str] = []
    for option in _SELECTION_OPTIONS:
        entries = _flake8_list(getattr(options, option.replace("-", "_"), None))
        for entry in entries:
            if entry.upper().startswith("APL") and not CODE_SELECTOR.match(entry):
                raise sources.error(
                    option,
                    f"{entry!r} is not a rule code or prefix (APL, APL1, APL101)",
                    own=False,
                )
        if option in ("select", "extend-select"):
            selected.extend(entry for entry in entries if entry.startswith("APL"))
    values["selected"] = tuple(selected)
    return PluginOptions(**values)


def _text(options: argparse.Namespace, name: str) -> str | None:
    value = getattr(options, f"async_pitfalls_{name}", None)
    if value is None:
        return None
    return str(value).strip()


def _items(options: argparse.Namespace, name: str) -> list[str]:
    return _flake8_list(getattr(options, f"async_pitfalls_{name}", None))


def _flake8_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def _extra_blocking(items: list[str], sources: _Sources) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for item in items:
        name, separator, category = item.partition("->")
        if not separator:
            name, separator, category = item.partition("=")
        if not separator or not name.strip():
            raise sources.error("extra_blocking", f"{item!r} is not qualified.name->category")
        pairs[name.strip()] = category.strip()
    try:
        return validate_extra_blocking(pairs, "")
    except ConfigError as error:
        raise sources.error("extra_blocking", str(error).removeprefix(": ")) from None


class _Sources:
    """Where flake8 read its options from, to name the place of a bad value."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self._files: list[tuple[str, configparser.RawConfigParser]] | None = None

    def error(self, name: str, problem: str, own: bool = True) -> ConfigError:
        option = f"{PREFIX}{name.replace('_', '-')}" if own else name
        place = self._where(option)
        if place is None:
            return ConfigError(f"--{option} {problem}")
        return ConfigError(f"{place}: [flake8] {option} {problem}")

    def _where(self, option: str) -> str | None:
        """The config file that sets the option, or None for the command line."""
        if any(argument.split("=", 1)[0] == f"--{option}" for argument in sys.argv[1:]):
            return None
        keys = {option, option.replace("-", "_")}
        for path, parser in reversed(self._config_files()):  # later files override earlier
            if parser.has_section("flake8") and keys & set(parser["flake8"]):
                return _display(path)
        return None

    def _config_files(self) -> list[tuple[str, configparser.RawConfigParser]]:
        if self._files is not None:
            return self._files
        found: list[str] = []
        if not getattr(self.options, "isolated", False):
            explicit = getattr(self.options, "config", None)
            primary = explicit or _find_config_file(os.path.abspath("."))
            if primary:
                found.append(primary)
            found.extend(getattr(self.options, "append_config", None) or ())
        files = []
        for path in found:
            parser = configparser.RawConfigParser()
            try:
                parser.read(path, encoding="UTF-8")
            except (configparser.Error, UnicodeDecodeError, OSError):
                continue
            files.append((path, parser))
        self._files = files
        return files


def _find_config_file(folder: str) -> str | None:
    """flake8's own search: the first setup.cfg, tox.ini or .flake8 with a flake8 section,
    from the working folder up (to the home folder or the root)."""
    home = os.path.expanduser("~")
    current = folder
    while True:
        for candidate in ("setup.cfg", "tox.ini", ".flake8"):
            path = os.path.join(current, candidate)
            parser = configparser.RawConfigParser()
            try:
                parser.read(path, encoding="UTF-8")
            except (configparser.Error, UnicodeDecodeError):
                continue
            if parser.has_section("flake8") or parser.has_section("flake8:local-plugins"):
                return path
        parent = os.path.dirname(current)
        if parent in (current, home):
            return None
        current = parent


def _display(path: str) -> str:
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative
