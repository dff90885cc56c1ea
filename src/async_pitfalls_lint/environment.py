"""The application's Python environment: where its third-party libraries are installed.

Library inference reads the source of the libraries the application imports, so it needs the
application's environment, which is often not the one the tool runs in (pre-commit installs
hooks in an isolated environment; editors run flake8 from wherever). In order: the `python`
setting (an interpreter or an environment folder), `VIRTUAL_ENV`, a `.venv` or `venv` folder
at the project root, and the running interpreter as the last resort. Found by looking at the
file system only: no interpreter is started.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from functools import lru_cache

_ENVIRONMENT_FOLDERS = (".venv", "venv")


@dataclass(frozen=True)
class Environment:
    """Where libraries are looked up, and how that was decided (for `--verbose`/`routes`)."""

    description: str
    site_packages: tuple[str, ...]


def find_environment(root: str, python: str | None = None) -> Environment:
    """The application's environment for a project root (`python`: the configured one)."""
    candidates: list[tuple[str, str]] = []
    if python:
        candidates.append((f"`python` setting ({python})", python))
    local = [
        (f"{name} at the project root", os.path.join(root, name)) for name in _ENVIRONMENT_FOLDERS
    ]
    virtual_env = os.environ.get("VIRTUAL_ENV")
    activated = [(f"VIRTUAL_ENV ({virtual_env})", virtual_env)] if virtual_env else []
    if virtual_env and _is_running_environment(virtual_env):
        # The tool's own environment is active (pipx, a tools venv): the project's wins.
        candidates += local + activated
    else:
        candidates += activated + local
    for description, location in candidates:
        folders = site_packages_of(location)
        if folders:
            return Environment(description, folders)
    return Environment(f"the running interpreter ({sys.executable})", _running_site_packages())


@lru_cache(maxsize=64)
def site_packages_of(location: str) -> tuple[str, ...]:
    """The site-packages folders of an environment folder or of an interpreter inside one
    (`.venv/bin/python` or `.venv\\Scripts\\python.exe`); empty when it is neither."""
    location = os.path.abspath(location)
    folder = os.path.dirname(location)
    if os.path.isfile(location) or os.path.basename(folder) in ("bin", "Scripts"):
        location = os.path.dirname(folder)  # an interpreter: its environment is two levels up
    if not os.path.isdir(location):
        return ()
    patterns = (
        os.path.join(location, "lib", "python3*", "site-packages"),
        os.path.join(location, "lib64", "python3*", "site-packages"),
        os.path.join(location, "Lib", "site-packages"),
    )
    found: list[str] = []
    for pattern in patterns:
        for folder in sorted(glob.glob(pattern)):
            real = os.path.realpath(folder)
            if real not in found and os.path.isdir(real):
                found.append(real)
    return tuple(found)


def _is_running_environment(location: str) -> bool:
    return os.path.realpath(location) == os.path.realpath(sys.prefix)


def _running_site_packages() -> tuple[str, ...]:
    found: list[str] = []
    for entry in sys.path:
        if os.path.basename(entry) in ("site-packages", "dist-packages") and os.path.isdir(entry):
            real = os.path.realpath(entry)
            if real not in found:
                found.append(real)
    return tuple(found)
