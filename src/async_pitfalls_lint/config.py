"""One frozen Settings object, built from `[tool.async-pitfalls-lint]` and overridden by the
command line (CLI) or flake8's options. Unknown keys and bad values are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from async_pitfalls_lint._toml import TOMLDecodeError, load_toml_bytes
from async_pitfalls_lint.knowledge import CATEGORIES

SCOPES = ("fastapi", "all")
DEFAULT_MAX_DEPTH = 10
DEFAULT_MAX_CANDIDATES = 8
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
CODE_SELECTOR = re.compile(r"^APL\d{0,3}$")
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".env", "env", "__pycache__",
    "node_modules", "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".async_pitfalls_lint_cache", "*.egg-info",
)  # fmt: skip


class ConfigError(Exception):
    """A configuration problem, with the key and the file it came from."""


@dataclass(frozen=True)
class Settings:
    scope: str = "fastapi"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    extra_blocking: tuple[tuple[str, str], ...] = ()
    allow: tuple[str, ...] = ()
    route_decorators: tuple[str, ...] = ()
    max_depth: int = DEFAULT_MAX_DEPTH
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    cache_dir: str | None = None
    cache: bool = True
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    project_root: str | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    source_roots: tuple[str, ...] | None = None  # None: detected (roots.py); set: exactly these
    infer_libraries: bool = True
    python: str | None = None  # the application's interpreter or environment folder
    source: str = ""  # the file the settings were read from, for messages

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _key(name: str) -> str:
    return name.replace("_", "-")


_FIELD_KEYS = {
    "scope": "scope",
    "select": "select",
    "ignore": "ignore",
    "extend-select": "extend_select",
    "extra-blocking": "extra_blocking",
    "allow": "allow",
    "route-decorators": "route_decorators",
    "max-depth": "max_depth",
    "max-candidates": "max_candidates",
    "cache-dir": "cache_dir",
    "cache": "cache",
    "exclude": "exclude",
    "per-file-ignores": "per_file_ignores",
    "project-root": "project_root",
    "max-file-size": "max_file_size",
    "source-roots": "source_roots",
    "infer-libraries": "infer_libraries",
    "python": "python",
}
DOCUMENTED_KEYS = tuple(_FIELD_KEYS)


def settings_from_mapping(raw: Mapping[str, Any], source: str) -> Settings:
    """Validate a `[tool.async-pitfalls-lint]` table."""
    values: dict[str, Any] = {"source": source}
    for key, value in raw.items():
        normalized = key.replace("_", "-")
        field_name = _FIELD_KEYS.get(normalized)
        if field_name is None:
            known = ", ".join(sorted(_FIELD_KEYS))
            raise ConfigError(
                f"{source}: unknown key {key!r} in [tool.async-pitfalls-lint] (known keys: {known})"
            )
        values[field_name] = _convert(field_name, key, value, source)
    return Settings(**values)


def _convert(field_name: str, key: str, value: Any, source: str) -> Any:
    where = f"{source}: [tool.async-pitfalls-lint] {key}"
    if field_name == "scope":
        if value not in SCOPES:
            raise ConfigError(f"{where} must be one of {', '.join(SCOPES)}, not {value!r}")
        return value
    if field_name in ("select", "ignore", "extend_select"):
        return validate_selectors(_string_list(value, where), where)
    if field_name in ("allow", "route_decorators", "exclude", "source_roots"):
        return tuple(_string_list(value, where))
    if field_name == "extra_blocking":
        return validate_extra_blocking(value, where)
    if field_name in ("max_depth", "max_candidates", "max_file_size"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where} must be a positive integer, not {value!r}")
        return value
    if field_name in ("cache", "infer_libraries"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if field_name in ("cache_dir", "project_root", "python"):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a path string, not {value!r}")
        return value
    if field_name == "per_file_ignores":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table of glob = [codes]")
        return tuple(
            (
                str(glob),
                validate_selectors(_string_list(codes, f"{where}.{glob}"), f"{where}.{glob}"),
            )
            for glob, codes in value.items()
        )
    raise ConfigError(f"{where}: unsupported key")  # pragma: no cover - table above is exhaustive


def _string_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ConfigError(f"{where} must be a list of strings, not {value!r}")


def validate_selectors(selectors: list[str], where: str) -> tuple[str, ...]:
    for selector in selectors:
        if not CODE_SELECTOR.match(selector.upper()):
            raise ConfigError(
                f"{where}: {selector!r} is not a rule code or prefix (APL, APL1, APL101)"
            )
    return tuple(selector.upper() for selector in selectors)


def validate_extra_blocking(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f'{where} must be a table of "qualified.name" = "category"')
    result = []
    for name, category in value.items():
        if category not in CATEGORIES:
            raise ConfigError(
                f"{where}: category for {name!r} must be one of {', '.join(CATEGORIES)}, "
                f"not {category!r}"
            )
        result.append((str(name), str(category)))
    return tuple(result)


def find_project_root(start: Path) -> Path | None:
    """The nearest folder holding pyproject.toml, setup.cfg, setup.py or .git."""
    current = start if start.is_dir() else start.parent
    return _project_root_of_folder(os.path.abspath(current))


def clear_root_cache() -> None:
    _project_root_of_folder.cache_clear()


@functools.lru_cache(maxsize=4096)
def _project_root_of_folder(folder: str) -> Path | None:
    if any(os.path.exists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS):
        return Path(folder)
    parent = os.path.dirname(folder)
    return None if parent == folder else _project_root_of_folder(parent)


def find_pyproject(start: Path) -> Path | None:
    current = start if start.is_dir() else start.parent
    for folder in (current, *current.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path, config_file: Path | None = None) -> Settings:
    """Settings from the nearest pyproject.toml (or an explicit file); defaults when absent."""
    path = config_file if config_file is not None else find_pyproject(start)
    if path is None:
        return Settings()
    try:
        data = load_toml_bytes(path.read_bytes())
    except TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    table = data.get("tool", {}).get("async-pitfalls-lint")
    if table is None:
        return Settings(source=str(path))
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.async-pitfalls-lint] must be a table")
    settings = settings_from_mapping(table, str(path))
    base = path.parent
    if settings.project_root is not None:
        settings = settings.replace(project_root=os.fspath(base / settings.project_root))
    if settings.cache_dir is not None:
        settings = settings.replace(cache_dir=os.fspath(base / settings.cache_dir))
    if settings.python is not None:
        settings = settings.replace(python=os.fspath(base / os.path.expanduser(settings.python)))
    if settings.source_roots is not None:
        roots = tuple(os.path.normpath(os.fspath(base / root)) for root in settings.source_roots)
        settings = settings.replace(source_roots=roots)
    return settings
