"""Blocking inferred from installed library code (libraries.py, environment.py).

Each test builds a throwaway environment in a temporary folder: a `.venv` with small
distributions (a sync client over a socket, a pure helper, an async client, a compiled-module
stand-in, a library the knowledge base already knows) and an application whose expected
findings are written on its lines (`# APL102:12 "fragment"`, as in tests/fixtures). The exact
set of (line, column, code) is asserted, so every other line is asserted clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from async_pitfalls_lint.analysis import analysis_for, reset_analyses
from async_pitfalls_lint.api import check_paths
from async_pitfalls_lint.config import load_settings
from async_pitfalls_lint.environment import find_environment, site_packages_of

from expectations import read_expectations
from fuzzing import run_tool

SITE = ".venv/lib/python3.11/site-packages"

SOCKET_CLIENT = {
    "wire/__init__.py": """\
from wire._core import Connection, connect, open_channel
from wire.api import Channel

__all__ = ["Channel", "Connection", "connect", "open_channel"]
""",
    "wire/_core.py": """\
import socket
import time


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self) -> bytes:
        return self.sock.recv(4096)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def describe(self) -> str:
        return f"connection to {self.sock}"


def connect(host: str, retries: int = 3) -> Connection:
    for attempt in range(retries):
        try:
            return Connection(socket.create_connection((host, 80)))
        except OSError:
            time.sleep(attempt)
    raise OSError(host)


def open_channel(host: str):
    return connect(host)
""",
    "wire/api.py": """\
from wire._core import connect


class Channel:
    def __init__(self, host: str) -> None:
        self.host = host  # configuring: nothing is opened yet

    def publish(self, message: str) -> None:
        connection = connect(self.host)
        connection.send(message.encode())

    @property
    def name(self) -> str:
        return self.host
""",
}
PURE_HELPERS = {
    "slugs/__init__.py": """\
import asyncio
import logging
import re

logger = logging.getLogger(__name__)
_TABLES: dict[str, str] = {}
_RULES = None


def slugify(text: str) -> str:
    logger.info("slugifying %s", text)
    return re.sub(r"\\W+", "-", text.lower())


def table(name: str) -> str:
    if name in _TABLES:
        return _TABLES[name]
    with open(name, encoding="utf-8") as handle:
        _TABLES[name] = handle.read()
    return _TABLES[name]


def rules() -> str:
    global _RULES
    if _RULES is None:
        _RULES = open("rules.txt").read()
    return _RULES


async def _render_async(text: str) -> str:
    return text.upper()


def render(text: str, use_async: bool = False) -> str:
    if use_async:  # the sync API's bridge: taken only when no event loop runs
        return asyncio.run(_render_async(text))
    return text.upper()
""",
}
ASYNC_CLIENT = {
    "aioauth/__init__.py": """\
import asyncio

import bcrypt


class Authenticator:
    async def fetch_profile(self, user: str) -> dict:
        await asyncio.sleep(0)
        return {"user": user}

    async def check(self, password: bytes, hashed: bytes) -> bool:
        return await self._verify(password, hashed)

    async def _verify(self, password: bytes, hashed: bytes) -> bool:
        return bcrypt.checkpw(password, hashed)

    async def check_in_thread(self, password: bytes, hashed: bytes) -> bool:
        return await asyncio.to_thread(bcrypt.checkpw, password, hashed)
""",
}
COMPILED = {
    "fastcodec/__init__.py": "from fastcodec._speedups import encode\n",
    "fastcodec/_speedups.cpython-311-x86_64-linux-gnu.so": "\x7fELF not really\n",
    "rawnative.cpython-311-x86_64-linux-gnu.so": "\x7fELF not really\n",
}
# A library whose base class the application subclasses: the library awaits the `async def`
# methods it declares (inherited ones included), so project overrides run on the event loop.
HOOKS = {
    "hookbus/__init__.py": "from hookbus.base import Subscriber\n",
    "hookbus/base.py": """\
class BaseSubscriber:
    async def on_message(self, payload: bytes) -> None:
        pass

    def on_error(self, error: Exception) -> None:
        pass


class Subscriber(BaseSubscriber):
    async def on_close(self) -> None:
        pass
""",
}
# A stand-in for a library the knowledge base knows: its own source does nothing blocking,
# and the knowledge base (which always wins) says `requests.get` is network I/O.
KNOWN = {"requests/__init__.py": "def get(url, **kwargs):\n    return url\n"}

APP = """\
import subprocess
import time

import hookbus
import slugs
import wire
from aioauth import Authenticator
from fastapi import FastAPI
from fastcodec import encode
from rawnative import pack
from wire import Channel

import requests

app = FastAPI()
auth = Authenticator()
channel = Channel("broker.internal")


@app.get("/wire")
async def use_wire():
    connection = wire.connect("example.com")  # APL102:18 "wire.connect → socket.create_connection (wire/_core.py:22)"
    data = connection.recv()  # APL102:12 "wire._core.Connection.recv → socket.socket.recv (wire/_core.py:10)"
    connection.describe()
    channel.publish("hello")  # APL102:5 "wire.Channel.publish → socket.create_connection"
    return {"data": data, "name": channel.name}


@app.get("/pure")
async def use_pure():
    return {"slug": slugs.slugify("A B"), "table": slugs.table("t.csv"), "rules": slugs.rules(), "page": slugs.render("x")}


@app.post("/login")
async def login(password: str):
    await auth.fetch_profile("me")
    await auth.check_in_thread(password.encode(), b"")
    return await auth.check(password.encode(), b"")  # APL106:18 "aioauth.Authenticator.check → bcrypt.checkpw (aioauth/__init__.py:15)"


@app.get("/native")
async def use_native():
    return {"a": encode("x"), "b": pack(1), "c": requests.get("http://x")}  # APL102:50 "requests.get()"


class AuditSubscriber(hookbus.Subscriber):
    async def on_message(self, payload: bytes) -> None:
        time.sleep(0.1)  # APL101:9 "in async library callback AuditSubscriber.on_message"

    async def on_close(self) -> None:
        subprocess.run(["sync"])  # APL105:9 "in async library callback AuditSubscriber.on_close"

    async def flush(self) -> None:  # not a method the library declares: nobody awaits it
        time.sleep(1)

    def on_error(self, error: Exception) -> None:  # a plain method: the library calls it as is
        time.sleep(1)
"""


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _distribution(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    _write(site, files)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Name: {name}\nVersion: {version}\n", encoding="utf-8")
    tops = sorted({path.split("/", 1)[0].split(".", 1)[0] for path in files})
    (info / "top_level.txt").write_text("\n".join(tops) + "\n", encoding="utf-8")


def _project(root: Path, app: str = APP, config: str = "") -> Path:
    site = root / SITE
    _distribution(site, "wire", "1.0", SOCKET_CLIENT)
    _distribution(site, "slugs", "2.1", PURE_HELPERS)
    _distribution(site, "aioauth", "0.3", ASYNC_CLIENT)
    _distribution(site, "fastcodec", "5.0", COMPILED)
    _distribution(site, "requests", "9.9", KNOWN)
    _distribution(site, "hookbus", "1.2", HOOKS)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "service"\n\n[tool.async-pitfalls-lint]\n{config}', encoding="utf-8"
    )
    (root / "app.py").write_text(app, encoding="utf-8")
    return root


def _found(root: Path) -> tuple[set[tuple[int, int, str]], dict[tuple[int, int, str], str]]:
    reset_analyses()
    settings = load_settings(root)
    found: dict[tuple[int, int, str], str] = {}
    for result in check_paths([root], settings):
        for finding in result.findings:
            found[(finding.line, finding.column + 1, finding.code)] = finding.message
    return set(found), found


def _expected(root: Path) -> list[tuple[tuple[int, int, str], str]]:
    case = read_expectations(root / "app.py", "app.py")
    return [((item.line, item.column, item.code), item.fragment) for item in case.expected]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    return _project(tmp_path / "service")


def test_verdicts_from_library_source(project: Path) -> None:
    found, messages = _found(project)
    expected = _expected(project)
    assert found == {key for key, _ in expected}
    for key, fragment in expected:
        assert fragment in messages[key], (key, messages[key])


def _key(root: Path, fragment: str) -> tuple[int, int, str]:
    """The expectation whose message fragment starts with `fragment`."""
    return next(key for key, text in _expected(root) if text.startswith(fragment))


def test_the_knowledge_base_wins_over_the_library_source(project: Path) -> None:
    """The stand-in `requests.get` does nothing, but the knowledge base's entry (with its own
    advice) is what is reported; inference never speaks for a library the data knows."""
    _, messages = _found(project)
    message = messages[_key(project, "requests.get")]
    assert "→" not in message
    assert "requests.get()" in message


def test_turned_off(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.async-pitfalls-lint]\ninfer-libraries = false\n", encoding="utf-8"
    )
    found, _ = _found(project)
    assert found == {_key(project, "requests.get")}  # the knowledge base alone


def test_a_warm_run_reads_verdicts_from_the_cache(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.async-pitfalls-lint]\n", encoding="utf-8")
    cold, _ = _found(project)
    analysis = analysis_for(project / "app.py", load_settings(project))
    assert analysis.libraries is not None
    assert sum(package.project.parse_count for package in _packages(analysis)) > 0
    warm, _ = _found(project)
    assert warm == cold
    analysis = analysis_for(project / "app.py", load_settings(project))
    assert analysis.libraries is not None
    assert sum(package.project.parse_count for package in _packages(analysis)) == 0


def _packages(analysis: object) -> list:  # type: ignore[type-arg]
    libraries = analysis.libraries  # type: ignore[attr-defined]
    return [package for package in libraries._packages.values() if package is not None]


def test_a_library_upgrade_invalidates_its_verdicts(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.async-pitfalls-lint]\n", encoding="utf-8")
    connect = _key(project, "wire.connect")
    assert connect in _found(project)[0]
    site = project / SITE
    core = site / "wire" / "_core.py"
    core.write_text(
        core.read_text(encoding="utf-8").replace(
            "return Connection(socket.create_connection((host, 80)))", "return Connection(None)"
        ),
        encoding="utf-8",
    )
    (site / "wire-1.0.dist-info").rename(site / "wire-1.1.dist-info")
    assert connect not in _found(project)[0]


# -- which environment -------------------------------------------------------------------------
def test_environment_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "service"
    (root / SITE).mkdir(parents=True)
    other = tmp_path / "other-env"
    (other / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    local = find_environment(str(root))
    assert local.description == ".venv at the project root"
    assert local.site_packages == (os.path.realpath(root / SITE),)
    monkeypatch.setenv("VIRTUAL_ENV", str(other))
    activated = find_environment(str(root))
    assert activated.description.startswith("VIRTUAL_ENV")
    assert activated.site_packages == site_packages_of(str(other))
    configured = find_environment(str(root), python=str(other / "bin" / "python"))
    assert configured.description.startswith("`python` setting")
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)  # the tool's own environment is active
    assert find_environment(str(root)).description == ".venv at the project root"
    monkeypatch.delenv("VIRTUAL_ENV")
    bare = find_environment(str(tmp_path / "nothing-here"))
    assert bare.description.startswith("the running interpreter")


def test_python_setting_points_at_another_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    root = _project(tmp_path / "service")
    moved = tmp_path / "envs" / "service"
    moved.parent.mkdir()
    (root / ".venv").rename(moved)
    connect = _key(root, "wire.connect")
    assert connect not in _found(root)[0]
    (root / "pyproject.toml").write_text(
        '[tool.async-pitfalls-lint]\npython = "../envs/service"\n', encoding="utf-8"
    )
    assert connect in _found(root)[0]


def test_the_cli_says_which_environment_it_used(tmp_path: Path) -> None:
    root = _project(tmp_path / "service")
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    completed = subprocess.run(
        [sys.executable, "-m", "async_pitfalls_lint", "check", "--verbose", "."],
        cwd=root,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "libraries: .venv at the project root" in completed.stderr
    routes = run_tool(["async_pitfalls_lint", "routes", "."], root)
    assert "libraries: " in routes.stdout
