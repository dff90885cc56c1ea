"""Shared generators and runners for property-based tests (fuzzing, robustness, autofix).

`fastapi_modules()` is a Hypothesis strategy of FastAPI modules built from a random structure:
routes (app and router, async and plain), dependencies, unregistered coroutines and project
helpers, whose bodies mix blocking calls, offloads (`to_thread`, `run_in_threadpool`), lambdas,
nested functions and nesting (`if`, `for`, `with`, `try`), with random import styles and
aliases. Each generated module knows the findings it must produce — the oracle — so a test can
compare exact (line, column, code) sets. The structure is kept apart from the names, so the
same module can be rendered again with every alias renamed (`GeneratedModule.renamed()`).

An autofix fuzzer can reuse it directly: draw `fastapi_modules()`, write `module.source` into a
project with `write_project`, run the fixer, and use `module.findings()` to know which lines
carry a fixable blocking call.

`examples(default)` is the number of examples a property test runs: small by default (CI), or
`APL_FUZZ_EXAMPLES` when set (a long local campaign: `APL_FUZZ_EXAMPLES=5000 pytest
tests/test_fuzz.py`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

FUZZ_ENV = "APL_FUZZ_EXAMPLES"


def examples(default: int) -> int:
    """How many examples a property test runs: `default`, or $APL_FUZZ_EXAMPLES when set."""
    value = os.environ.get(FUZZ_ENV, "").strip()
    return int(value) if value else default


# -- running the tool ------------------------------------------------------------------------------
Key = tuple[str, int, int, str]  # (path relative to the run folder, line, 1-based column, code)
_REPORT_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$"
)


def write_project(
    root: Path, files: dict[str, str | bytes], config: str = "cache = false\n"
) -> Path:
    """A project folder with its own pyproject.toml (so it is its own root) and the given files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "fuzz"\n\n[tool.async-pitfalls-lint]\n{config}', encoding="utf-8"
    )
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8"))
    return root


def run_tool(
    args: Sequence[str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` in `cwd`, e.g. ["async_pitfalls_lint", "check", "."]."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


# flake8 with only its core and this plugin: other installed plugins (flake8-async also
# parses with libcst and raises on code libcst rejects; pyflakes recurses out on a legal chain of
# a thousand `+`) must not decide what these tests see.
_FLAKE8_ONLY_US = """
import sys
from flake8.main import cli
from flake8.plugins import finder

_all = finder._find_importlib_plugins


def _ours():
    for plugin in _all():
        if plugin.package in ("flake8", "async-pitfalls-lint"):
            yield plugin


finder._find_importlib_plugins = _ours
sys.exit(cli.main(sys.argv[1:]))
"""


def run_flake8(
    args: Sequence[str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """A real flake8 process whose only third-party plugin is async-pitfalls-lint."""
    return subprocess.run(
        [sys.executable, "-c", _FLAKE8_ONLY_US, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def parse_report(stdout: str) -> list[tuple[Key, str]]:
    """`path:line:col: CODE message` lines (CLI text format and flake8) as ((path, line, col,
    code), message); every line must have that shape."""
    parsed = []
    for line in stdout.splitlines():
        match = _REPORT_LINE.match(line)
        assert match, f"unexpected report line: {line!r}"
        path = match.group("path").removeprefix("./")
        key = (path, int(match.group("line")), int(match.group("col")), match.group("code"))
        parsed.append((key, match.group("message")))
    return parsed


def flake8_keys(
    cwd: Path, paths: Iterable[str] = (".",), select: str = "APL", jobs: int = 2
) -> list[Key]:
    """Every finding of a real `flake8` run (a subprocess) as sorted keys."""
    completed = run_flake8([f"--select={select}", f"--jobs={jobs}", *paths], cwd)
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    return sorted(key for key, _ in parse_report(completed.stdout))


# -- the FastAPI module generator ------------------------------------------------------------------
KINDS = ("sleep", "http", "file", "subprocess")
DIRECT_CODES = {"sleep": "APL101", "http": "APL102", "file": "APL103", "subprocess": "APL105"}
HELPER_CODES = {"sleep": "APL201", "http": "APL202", "file": "APL203", "subprocess": "APL205"}


@dataclass(frozen=True)
class Names:
    """How the module imports and spells each library: an import style and an alias per library.

    Styles: time 0 `import time`, 1 `import time as A`, 2 `from time import sleep`,
    3 `from time import sleep as A` (requests with `get`, subprocess with `run` alike);
    asyncio 0 `import asyncio`, 1 `import asyncio as A`; run_in_threadpool 0 from
    fastapi.concurrency, 1 the same with an alias, 2 from starlette.concurrency.
    """

    time_style: int = 0
    requests_style: int = 0
    subprocess_style: int = 0
    asyncio_style: int = 0
    pool_style: int = 0
    aliases: tuple[str, str, str, str, str] = ("ta_x", "ra_x", "sa_x", "aa_x", "pa_x")

    def renamed(self, prefix: str = "q") -> Names:
        """Every alias renamed consistently, to a different name of the same length."""
        return Names(
            self.time_style,
            self.requests_style,
            self.subprocess_style,
            self.asyncio_style,
            self.pool_style,
            tuple(prefix + alias[1:] for alias in self.aliases),  # type: ignore[arg-type]
        )

    def _library(self, style: int, module: str, function: str, alias: str) -> tuple[str, str]:
        """(import line, how a call to module.function is spelled)."""
        if style == 0:
            return f"import {module}", f"{module}.{function}"
        if style == 1:
            return f"import {module} as {alias}", f"{alias}.{function}"
        if style == 2:
            return f"from {module} import {function}", function
        return f"from {module} import {function} as {alias}", alias

    def imports(self) -> list[str]:
        time_alias, requests_alias, subprocess_alias, asyncio_alias, pool_alias = self.aliases
        lines = [
            "import asyncio" if self.asyncio_style == 0 else f"import asyncio as {asyncio_alias}",
            "import contextlib",
            self._library(self.subprocess_style, "subprocess", "run", subprocess_alias)[0],
            self._library(self.time_style, "time", "sleep", time_alias)[0],
            "",
            self._library(self.requests_style, "requests", "get", requests_alias)[0],
            "from fastapi import APIRouter, Depends, FastAPI",
        ]
        if self.pool_style == 0:
            lines.append("from fastapi.concurrency import run_in_threadpool")
        elif self.pool_style == 1:
            lines.append(f"from fastapi.concurrency import run_in_threadpool as {pool_alias}")
        else:
            lines.append("from starlette.concurrency import run_in_threadpool")
        return lines

    @property
    def asyncio(self) -> str:
        return "asyncio" if self.asyncio_style == 0 else self.aliases[3]

    @property
    def pool(self) -> str:
        return self.aliases[4] if self.pool_style == 1 else "run_in_threadpool"

    def callee(self, kind: str) -> str:
        """The callable of a blocking kind as this module spells it."""
        if kind == "sleep":
            return self._library(self.time_style, "time", "sleep", self.aliases[0])[1]
        if kind == "http":
            return self._library(self.requests_style, "requests", "get", self.aliases[1])[1]
        if kind == "subprocess":
            return self._library(self.subprocess_style, "subprocess", "run", self.aliases[2])[1]
        return "open"

    def call(self, kind: str) -> str:
        arguments = {
            "sleep": "1",
            "http": "url, timeout=5",
            "file": "url",
            "subprocess": '["true"], check=True',
        }
        return f"{self.callee(kind)}({arguments[kind]})"

    def offload(self, kind: str, via_pool: bool) -> str:
        arguments = {"sleep": "1", "http": "url", "file": "url", "subprocess": '["true"]'}
        runner = self.pool if via_pool else f"{self.asyncio}.to_thread"
        return f"await {runner}({self.callee(kind)}, {arguments[kind]})"


# Statement trees: (tag, payload...). Leaves carry a blocking kind or a helper index.
Stmt = tuple[object, ...]


@dataclass(frozen=True)
class Function:
    """kind: "route" (async, on app), "router" (async, on router), "sync" (plain def route),
    "dependency" (async, used through Depends by a route), "coroutine" (unregistered async)."""

    kind: str
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Structure:
    names: Names
    helpers: tuple[str, ...]  # the blocking kind each project helper performs
    functions: tuple[Function, ...]


@dataclass
class GeneratedModule:
    """A rendered module: its source and the findings it must produce under each scope."""

    structure: Structure
    source: str
    _event_loop: set[tuple[int, int, str]] = field(default_factory=set)  # always reported
    _coroutine: set[tuple[int, int, str]] = field(default_factory=set)  # with scope "all" only

    def findings(self, scope: str = "fastapi") -> set[tuple[int, int, str]]:
        """Expected (line, 0-based column, code) of every default-enabled finding."""
        return self._event_loop | (self._coroutine if scope == "all" else set())

    def renamed(self, prefix: str = "q") -> GeneratedModule:
        """The same module with every import alias renamed consistently (same lengths)."""
        return render(
            Structure(
                self.structure.names.renamed(prefix),
                self.structure.helpers,
                self.structure.functions,
            )
        )


class _Writer:
    def __init__(self, names: Names) -> None:
        self.names = names
        self.lines: list[str] = []
        self.counter = 0
        self.sink: set[tuple[int, int, str]] | None = None  # where this function's findings go

    def emit(self, depth: int, text: str) -> int:
        """Append a line at `depth` (4 spaces each); return its 1-based line number."""
        self.lines.append("    " * depth + text if text else "")
        return len(self.lines)

    def expect(self, line: int, column: int, code: str) -> None:
        if self.sink is not None:
            self.sink.add((line, column, code))

    def fresh(self) -> int:
        self.counter += 1
        return self.counter

    def statement(self, depth: int, stmt: Stmt, is_async: bool) -> None:
        tag = stmt[0]
        names = self.names
        if tag == "block":
            kind, assign = str(stmt[1]), bool(stmt[2])
            prefix = f"v_{self.fresh()} = " if assign else ""
            line = self.emit(depth, prefix + names.call(kind))
            self.expect(line, 4 * depth + len(prefix), DIRECT_CODES[kind])
        elif tag == "helper":
            index, kind, assign = int(stmt[1]), str(stmt[2]), bool(stmt[3])  # type: ignore[call-overload]
            prefix = f"v_{self.fresh()} = " if assign else ""
            line = self.emit(depth, f"{prefix}helper_{index}(url)")
            self.expect(line, 4 * depth + len(prefix), HELPER_CODES[kind])
        elif tag == "offload":
            kind, via_pool = str(stmt[1]), bool(stmt[2])
            if is_async:
                self.emit(depth, names.offload(kind, via_pool))
            else:
                self.emit(depth, f"v_{self.fresh()} = len(url)")
        elif tag == "lambda":
            self.emit(depth, f"cb_{self.fresh()} = lambda: {names.call(str(stmt[1]))}")
        elif tag == "inner":
            kind, offloaded = str(stmt[1]), bool(stmt[2])
            number = self.fresh()
            self.emit(depth, f"def inner_{number}():")
            self.emit(depth + 1, names.call(kind))
            if offloaded and is_async:
                self.emit(depth, f"await {names.asyncio}.to_thread(inner_{number})")
        elif tag == "await":
            if is_async:
                self.emit(depth, f"await {names.asyncio}.sleep(0)")
            else:
                self.emit(depth, "pass")
        elif tag == "plain":
            self.emit(depth, f"v_{self.fresh()} = len(url) + 1")
        elif tag in ("if", "for", "with", "try"):
            children: tuple[Stmt, ...] = stmt[1]  # type: ignore[assignment]
            header = {
                "if": "if url:",
                "for": f"for i_{self.fresh()} in range(2):",
                "with": "with contextlib.nullcontext():",
                "try": "try:",
            }[tag]
            self.emit(depth, header)
            for child in children:
                self.statement(depth + 1, child, is_async)
            if tag == "try":
                self.emit(depth, "except Exception:")
                self.emit(depth + 1, "pass")
        else:  # pragma: no cover - the strategy only builds the tags above
            raise AssertionError(tag)


def render(structure: Structure) -> GeneratedModule:
    """The source of a structure, and the findings it must produce."""
    names = structure.names
    module = GeneratedModule(structure, "")
    writer = _Writer(names)
    for line in [*names.imports(), "", "app = FastAPI()", "router = APIRouter()"]:
        writer.emit(0, line)
    for index, kind in enumerate(structure.helpers):
        writer.emit(0, "")
        writer.emit(0, "")
        writer.emit(0, f"def helper_{index}(url):")
        writer.emit(1, f"value = {names.call(kind)}")
        writer.emit(1, "return value")
    for index, function in enumerate(structure.functions):
        writer.emit(0, "")
        writer.emit(0, "")
        is_async = function.kind != "sync"
        if function.kind == "route":
            writer.emit(0, f'@app.get("/r{index}")')
            writer.emit(0, f'async def route_{index}(url: str = "u"):')
            writer.sink = module._event_loop
        elif function.kind == "router":
            writer.emit(0, f'@router.post("/p{index}")')
            writer.emit(0, f'async def posted_{index}(url: str = "u"):')
            writer.sink = module._event_loop
        elif function.kind == "sync":
            writer.emit(0, f'@app.get("/s{index}")')
            writer.emit(0, f'def threaded_{index}(url: str = "u"):')
            writer.sink = None
        elif function.kind == "dependency":
            writer.emit(0, f'async def dependency_{index}(url: str = "u"):')
            writer.sink = module._event_loop
        else:
            writer.emit(0, f"async def coroutine_{index}(url):")
            writer.sink = module._coroutine
        for stmt in function.body:
            writer.statement(1, stmt, is_async)
        writer.sink = None
        writer.emit(1, "return 1")
        if function.kind == "dependency":
            writer.emit(0, "")
            writer.emit(0, "")
            writer.emit(0, f'@app.get("/d{index}")')
            writer.emit(0, f"async def uses_{index}(value: int = Depends(dependency_{index})):")
            writer.emit(1, "return value")
    writer.emit(0, "")
    writer.emit(0, "")
    writer.emit(0, "app.include_router(router)")
    module.source = "\n".join(writer.lines) + "\n"
    return module


_ALIAS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6)


@st.composite
def _names(draw: st.DrawFn) -> Names:
    suffixes = draw(st.lists(_ALIAS, min_size=5, max_size=5, unique=True))
    # Distinct first letters per library keep aliases apart; `renamed()` swaps that letter.
    aliases = tuple(f"{letter}_{suffix}" for letter, suffix in zip("trsap", suffixes, strict=True))
    return Names(
        draw(st.integers(0, 3)),
        draw(st.integers(0, 3)),
        draw(st.integers(0, 3)),
        draw(st.integers(0, 1)),
        draw(st.integers(0, 2)),
        aliases,  # type: ignore[arg-type]
    )


def _statements(helper_kinds: tuple[str, ...]) -> st.SearchStrategy[Stmt]:
    kind = st.sampled_from(KINDS)
    leaves: list[st.SearchStrategy[Stmt]] = [
        st.tuples(st.just("block"), kind, st.booleans()),
        st.tuples(st.just("offload"), kind, st.booleans()),
        st.tuples(st.just("lambda"), kind),
        st.tuples(st.just("inner"), kind, st.booleans()),
        st.tuples(st.just("await")),
        st.tuples(st.just("plain")),
    ]
    if helper_kinds:
        leaves.append(
            st.integers(0, len(helper_kinds) - 1).flatmap(
                lambda index: st.tuples(
                    st.just("helper"), st.just(index), st.just(helper_kinds[index]), st.booleans()
                )
            )
        )
    leaf = st.one_of(leaves)
    return st.recursive(
        leaf,
        lambda children: st.tuples(
            st.sampled_from(("if", "for", "with", "try")),
            st.lists(children, min_size=1, max_size=3).map(tuple),
        ),
        max_leaves=8,
    )


@st.composite
def structures(draw: st.DrawFn, max_functions: int = 5) -> Structure:
    names = draw(_names())
    helpers = tuple(draw(st.lists(st.sampled_from(KINDS), max_size=3)))
    statement = _statements(helpers)
    functions = draw(
        st.lists(
            st.builds(
                Function,
                st.sampled_from(("route", "router", "sync", "dependency", "coroutine")),
                st.lists(statement, min_size=1, max_size=5).map(tuple),
            ),
            min_size=1,
            max_size=max_functions,
        )
    )
    return Structure(names, helpers, tuple(functions))


def fastapi_modules(max_functions: int = 5) -> st.SearchStrategy[GeneratedModule]:
    """FastAPI modules with their expected findings (see the module docstring)."""
    return structures(max_functions).map(render)


# -- unrelated code, for the "appending code changes nothing" property ---------------------------
UNRELATED_SNIPPETS = (
    "class Unrelated{n}:\n    value = {n}\n\n    def method(self):\n        return self.value\n",
    "def unrelated_{n}(x):\n    if x:\n        return [i * {n} for i in range(x)]\n"
    "    return None\n",
    "async def unrelated_async_{n}():\n    return {n}\n",
    "CONSTANT_{n} = {{'k': ({n}, 'v')}}\n",
    "try:\n    import json as json_{n}\nexcept ImportError:\n    json_{n} = None\n",
    "if __name__ == '__main__':\n    print('unrelated', {n})\n",
    "@staticmethod\ndef decorated_{n}():\n    return lambda: {n}\n",
)


def unrelated_code() -> st.SearchStrategy[str]:
    """Module-level code binding only fresh names (never a name a generated module uses)."""
    return st.lists(st.sampled_from(range(len(UNRELATED_SNIPPETS))), min_size=1, max_size=6).map(
        lambda picks: "\n\n".join(
            UNRELATED_SNIPPETS[pick].format(n=number) for number, pick in enumerate(picks)
        )
    )
