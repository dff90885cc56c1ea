"""TOML loading that works on every supported Python (tomllib is 3.11+)."""

from __future__ import annotations

import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError


def load_toml_bytes(data: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    return loaded


def load_package_data(name: str) -> dict[str, Any]:
    """Load one of the TOML files shipped in `async_pitfalls_lint/data/`."""
    data = resources.files("async_pitfalls_lint").joinpath("data").joinpath(name).read_bytes()
    return load_toml_bytes(data)
