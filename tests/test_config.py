"""`[tool.async-pitfalls-lint]`: every documented key changes the result, bad keys and values are
clear errors (exit 2, the key and the file named, no traceback), the command line overrides the
file, and flake8 reads the same table (its own options override it)."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from async_pitfalls_lint.cache import default_cache_dir
from async_pitfalls_lint.cli import main
from async_pitfalls_lint.config import DOCUMENTED_KEYS, ConfigError
from async_pitfalls_lint.flake8_options import read_options

import clirun

ROUTE = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/sleep")
async def sleepy():
    time.sleep(1)
    return {}
"""


def make_project(root: Path, files: dict[str, str], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.async-pitfalls-lint]\n' + config, encoding="utf-8"
    )
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def check(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, list[str], str]:
    """`check` run in-process from `root`: exit status, 'path:line CODE' lines, stderr."""
    monkeypatch.chdir(root)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["check", "--jobs", "1", *args], stdout=stdout, stderr=stderr)
    findings = []
    for line in stdout.getvalue().splitlines():
        location, rest = line.split(": ", 1)
        path, row, _column = location.rsplit(":", 2)
        findings.append(f"{path}:{row} {rest.split()[0]}")
    return code, findings, stderr.getvalue()


def write_config(root: Path, config: str) -> None:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.async-pitfalls-lint]\n' + config, encoding="utf-8"
    )


# -- one test per documented key ------------------------------------------------------------------
def test_every_documented_key_has_a_test_below() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for key in DOCUMENTED_KEYS:
        assert f"def test_key_{key.replace('-', '_')}(" in source, key


_LIBRARY_ROUTE = (
    "from fastapi import FastAPI\n\nfrom wirelib import fetch\n\napp = FastAPI()\n\n\n"
    '@app.get("/w")\nasync def w():\n    return fetch("example.com")\n'
)
_LIBRARY = "import socket\n\n\ndef fetch(host):\n    return socket.create_connection((host, 80))\n"


def _library_project(root: Path, environment: str) -> Path:
    root = make_project(root, {"app.py": _LIBRARY_ROUTE})
    site = root.parent / environment / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "wirelib.py").write_text(_LIBRARY, encoding="utf-8")
    return root


def test_key_infer_libraries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    root = _library_project(tmp_path / "p", "p/.venv")
    assert check(root, monkeypatch)[1] == ["app.py:10 APL102"]
    write_config(root, "infer-libraries = false\n")
    assert check(root, monkeypatch)[:2] == (0, [])


def test_key_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    root = _library_project(tmp_path / "p", "elsewhere")
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, 'python = "../elsewhere/bin/python"\n')
    assert check(root, monkeypatch)[1] == ["app.py:10 APL102"]


def test_key_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = "import time\n\n\nasync def worker():\n    time.sleep(1)\n"
    root = make_project(tmp_path / "p", {"worker.py": worker})
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, 'scope = "all"\n')
    assert check(root, monkeypatch)[:2] == (1, ["worker.py:5 APL101"])


def test_key_select(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE})
    assert check(root, monkeypatch)[1] == ["app.py:10 APL101"]
    write_config(root, 'select = ["APL102"]\n')
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, 'select = ["APL3"]\n')
    assert check(root, monkeypatch)[1] == ["app.py:9 APL303"]


def test_key_ignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, 'ignore = ["APL1"]\n')
    assert check(root, monkeypatch)[:2] == (0, [])


def test_key_extend_select(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, 'extend-select = ["APL303"]\n')
    assert check(root, monkeypatch)[1] == ["app.py:9 APL303", "app.py:10 APL101"]


def test_key_extra_blocking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = ROUTE.replace("import time\n", "import mylib\n").replace(
        "time.sleep(1)", "mylib.fetch_all()"
    )
    root = make_project(tmp_path / "p", {"app.py": app})
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, '[tool.async-pitfalls-lint.extra-blocking]\n"mylib.fetch_all" = "http"\n')
    assert check(root, monkeypatch)[1] == ["app.py:10 APL102"]
    write_config(root, '[tool.async-pitfalls-lint.extra-blocking]\n"mylib.*" = "db"\n')
    assert check(root, monkeypatch)[1] == ["app.py:10 APL104"]


def test_key_allow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, 'allow = ["time.sleep"]\n')
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, 'allow = ["time.*"]\n')
    assert check(root, monkeypatch)[:2] == (0, [])


def test_key_route_decorators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = (
        "import time\n\nfrom company.web import cached_route\n\n\n"
        '@cached_route("/custom")\nasync def custom():\n    time.sleep(1)\n'
    )
    root = make_project(tmp_path / "p", {"app.py": app})
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, 'route-decorators = ["company.web.cached_route"]\n')
    assert check(root, monkeypatch)[1] == ["app.py:8 APL101"]


def test_key_max_depth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = ROUTE.replace(
        "@app.get",
        "def level2():\n    time.sleep(1)\n\n\ndef level1():\n    level2()\n\n\n@app.get",
    ).replace("    time.sleep(1)\n    return {}", "    level1()\n    return {}")
    root = make_project(tmp_path / "p", {"app.py": app})
    assert check(root, monkeypatch)[1] == ["app.py:18 APL201"]
    write_config(root, "max-depth = 1\n")
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, "max-depth = 2\n")
    assert check(root, monkeypatch)[1] == ["app.py:18 APL201"]


CANDIDATES = ROUTE.replace(
    "@app.get",
    "class Slow:\n    def run(self):\n        time.sleep(1)\n\n\n"
    "class Quick:\n    def run(self):\n        return 1\n\n\n"
    "class Idle:\n    def run(self):\n        return 0\n\n\n"
    "runner = Slow() if time.time() else Quick() if time.monotonic() else Idle()\n\n\n@app.get",
).replace("    time.sleep(1)\n    return {}", "    runner.run()\n    return {}")


def test_key_max_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": CANDIDATES})
    assert check(root, monkeypatch)[1] == ["app.py:28 APL201"]
    write_config(root, "max-candidates = 2\n")
    assert check(root, monkeypatch)[:2] == (0, [])
    write_config(root, "max-candidates = 3\n")
    assert check(root, monkeypatch)[1] == ["app.py:28 APL201"]


def test_key_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE})
    check(root, monkeypatch)
    assert any(default_cache_dir(str(root.resolve())).rglob("facts-*.json"))
    other = make_project(tmp_path / "q", {"app.py": ROUTE}, "cache = false\n")
    assert check(other, monkeypatch)[1] == ["app.py:10 APL101"]
    assert not default_cache_dir(str(other.resolve())).exists()


def test_key_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, 'cache-dir = "build/lint-cache"\n')
    assert check(root, monkeypatch)[1] == ["app.py:10 APL101"]
    assert any((root / "build" / "lint-cache").rglob("facts-*.json"))
    assert not default_cache_dir(str(root.resolve())).exists()


def test_key_exclude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE, "generated/api.py": ROUTE})
    _code, findings, stderr = check(root, monkeypatch)
    assert findings == ["app.py:10 APL101", "generated/api.py:10 APL101"]
    write_config(root, 'exclude = ["generated"]\n')
    _code, findings, stderr = check(root, monkeypatch)
    assert findings == ["app.py:10 APL101"]
    assert "1 file checked" in stderr


def test_key_per_file_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(
        tmp_path / "p",
        {"app.py": ROUTE, "legacy/old.py": ROUTE},
        '[tool.async-pitfalls-lint.per-file-ignores]\n"legacy/*.py" = ["APL101"]\n',
    )
    assert check(root, monkeypatch)[1] == ["app.py:10 APL101"]
    write_config(root, '[tool.async-pitfalls-lint.per-file-ignores]\n"legacy/*.py" = ["APL2"]\n')
    assert check(root, monkeypatch)[1] == ["app.py:10 APL101", "legacy/old.py:10 APL101"]


def test_key_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main_py = (
        "from fastapi import FastAPI\n\nfrom helpers import slow\n\napp = FastAPI()\n\n\n"
        '@app.get("/slow")\nasync def slow_route():\n    slow()\n    return {}\n'
    )
    helpers = "import time\n\n\ndef slow():\n    time.sleep(1)\n"
    root = make_project(
        tmp_path / "p", {"services/api/main.py": main_py, "services/helpers.py": helpers}
    )
    assert check(root, monkeypatch)[1] == ["services/api/main.py:10 APL201"]
    # With the root narrowed to services/api, helpers.py is outside the project: not followed.
    write_config(root, 'project-root = "services/api"\n')
    assert check(root, monkeypatch)[:2] == (0, [])


def test_key_source_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "backend/__init__.py": "",
        "backend/server/__init__.py": "",
        "backend/server/store.py": "import time\n\n\ndef load():\n    time.sleep(1)\n",
        "backend/server/app.py": (
            "from fastapi import FastAPI\n\nfrom server.store import load\n\napp = FastAPI()\n"
            "\n\n@app.get('/')\nasync def index():\n    return load()\n"
        ),
    }
    root = make_project(tmp_path / "p", files)
    assert check(root, monkeypatch)[:2] == (0, [])  # `server` is not importable from the root
    write_config(root, 'source-roots = ["backend"]\n')
    assert check(root, monkeypatch)[:2] == (1, ["backend/server/app.py:10 APL201"])


def test_key_max_file_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, "max-file-size = 64\ncache = false\n")
    code, findings, stderr = check(root, monkeypatch)
    assert (code, findings) == (2, ["app.py:1 APL900"])
    assert "1 file could not be analysed" in stderr
    write_config(root, f"max-file-size = {len(ROUTE)}\ncache = false\n")
    assert check(root, monkeypatch)[1] == ["app.py:10 APL101"]


# -- the command line overrides the file ----------------------------------------------------------
def test_command_line_overrides_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = "import time\n\n\nasync def worker():\n    time.sleep(1)\n"
    root = make_project(
        tmp_path / "p",
        {"app.py": ROUTE, "worker.py": worker},
        'scope = "all"\nselect = ["APL102"]\n',
    )
    assert check(root, monkeypatch)[1] == []
    assert check(root, monkeypatch, "--select", "APL101")[1] == [
        "app.py:10 APL101",
        "worker.py:5 APL101",
    ]
    assert check(root, monkeypatch, "--select", "APL101", "--scope", "fastapi")[1] == [
        "app.py:10 APL101"
    ]


def test_explicit_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE})
    other = tmp_path / "strict.toml"
    other.write_text('[tool.async-pitfalls-lint]\nignore = ["APL101"]\n', encoding="utf-8")
    assert check(root, monkeypatch, "--config", str(other))[:2] == (0, [])


# -- errors ---------------------------------------------------------------------------------------
def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return clirun.run_cli(*args, cwd=root)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("colour = true\n", "unknown key 'colour' in [tool.async-pitfalls-lint] (known keys: "),
        (
            'scope = "everything"\n',
            "[tool.async-pitfalls-lint] scope must be one of fastapi, all, not 'everything'",
        ),
        (
            'select = ["E501"]\n',
            "[tool.async-pitfalls-lint] select: 'E501' is not a rule code or prefix",
        ),
        ("ignore = 5\n", "[tool.async-pitfalls-lint] ignore must be a list of strings, not 5"),
        (
            "max-depth = 0\n",
            "[tool.async-pitfalls-lint] max-depth must be a positive integer, not 0",
        ),
        (
            "max-candidates = -1\n",
            "[tool.async-pitfalls-lint] max-candidates must be a positive integer, not -1",
        ),
        (
            'max-file-size = "1MB"\n',
            "[tool.async-pitfalls-lint] max-file-size must be a positive integer",
        ),
        ('cache = "yes"\n', "[tool.async-pitfalls-lint] cache must be true or false, not 'yes'"),
        ("cache-dir = 3\n", "[tool.async-pitfalls-lint] cache-dir must be a path string, not 3"),
        ('project-root = ""\n', "[tool.async-pitfalls-lint] project-root must be a path string"),
        ("exclude = [1]\n", "[tool.async-pitfalls-lint] exclude must be a list of strings"),
        ("allow = {x = 1}\n", "[tool.async-pitfalls-lint] allow must be a list of strings"),
        (
            "route-decorators = true\n",
            "[tool.async-pitfalls-lint] route-decorators must be a list of strings",
        ),
        (
            'extend-select = ["X1"]\n',
            "[tool.async-pitfalls-lint] extend-select: 'X1' is not a rule code or prefix",
        ),
        (
            '[tool.async-pitfalls-lint.extra-blocking]\n"mylib.get" = "network"\n',
            "[tool.async-pitfalls-lint] extra-blocking: category for 'mylib.get' must be one of "
            "sleep, http, file, db, subprocess, cpu, wait, fsmeta, not 'network'",
        ),
        (
            'extra-blocking = ["mylib.get"]\n',
            "[tool.async-pitfalls-lint] extra-blocking must be a table",
        ),
        (
            'per-file-ignores = ["x"]\n',
            "[tool.async-pitfalls-lint] per-file-ignores must be a table of glob = [codes]",
        ),
        (
            '[tool.async-pitfalls-lint.per-file-ignores]\n"tests/*" = ["T100"]\n',
            "[tool.async-pitfalls-lint] per-file-ignores.tests/*: "
            "'T100' is not a rule code or prefix",
        ),
        ("scope = \n", "invalid TOML"),
    ],
)
def test_bad_configuration(tmp_path: Path, config: str, message: str) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, config)
    for command in ("check", "routes"):
        result = run_cli(root, command)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith(
            "async-pitfalls-lint: configuration error: pyproject.toml: "
        )
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1


def test_underscored_keys_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", {"app.py": ROUTE}, 'extend_select = ["APL303"]\n')
    assert check(root, monkeypatch)[1] == ["app.py:9 APL303", "app.py:10 APL101"]


# -- flake8 reads the same table ------------------------------------------------------------------
def run_flake8_here(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """flake8 in this process (tests/clirun.py): option plumbing, without a process start."""
    return clirun.run_flake8_in_process(root, "--select", "APL", *args)


def run_flake8(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "APL", *args, "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_flake8_reads_pyproject_and_its_options_override(tmp_path: Path) -> None:
    worker = "import time\n\n\nasync def worker():\n    time.sleep(1)\n"
    root = make_project(
        tmp_path / "p", {"app.py": ROUTE, "worker.py": worker}, 'allow = ["time.sleep"]\n'
    )
    assert run_flake8_here(root).stdout == ""
    write_config(root, 'scope = "all"\n')
    assert sorted(run_flake8_here(root).stdout.splitlines()) == [
        "./app.py:10:5: APL101 time.sleep() in async function sleepy blocks the event loop; "
        "use `await asyncio.sleep(...)` [fix available]",
        "./worker.py:5:5: APL101 time.sleep() in async function worker blocks the event loop; "
        "use `await asyncio.sleep(...)` [fix available]",
    ]
    overridden = run_flake8_here(root, "--async-pitfalls-scope", "fastapi")
    assert [line.split(":")[0] for line in overridden.stdout.splitlines()] == ["./app.py"]


DEEP = ROUTE.replace(
    "@app.get", "def level2():\n    time.sleep(1)\n\n\ndef level1():\n    level2()\n\n\n@app.get"
).replace("    time.sleep(1)\n    return {}", "    level1()\n    return {}")


@pytest.mark.parametrize(
    ("files", "option", "before", "after"),
    [
        ({"app.py": ROUTE}, "--async-pitfalls-allow=time.sleep", ["./app.py:10"], []),
        (
            {
                "app.py": ROUTE.replace("time.sleep(1)", "mylib.fetch_all()").replace(
                    "import time\n", "import mylib\n"
                )
            },
            "--async-pitfalls-extra-blocking=mylib.fetch_all->http",
            [],
            ["./app.py:10"],
        ),
        (
            {
                "app.py": "import time\n\nfrom company.web import cached_route\n\n\n"
                '@cached_route("/custom")\nasync def custom():\n    time.sleep(1)\n'
            },
            "--async-pitfalls-route-decorators=company.web.cached_route",
            [],
            ["./app.py:8"],
        ),
        ({"app.py": DEEP}, "--async-pitfalls-max-depth=1", ["./app.py:18"], []),
        ({"app.py": CANDIDATES}, "--async-pitfalls-max-candidates=2", ["./app.py:28"], []),
    ],
)
def test_flake8_options(
    tmp_path: Path, files: dict[str, str], option: str, before: list[str], after: list[str]
) -> None:
    root = make_project(tmp_path / "p", files)

    def locations(result: subprocess.CompletedProcess[str]) -> list[str]:
        return [":".join(line.split(":")[:2]) for line in result.stdout.splitlines()]

    assert locations(run_flake8_here(root)) == before
    assert locations(run_flake8_here(root, option)) == after


def test_flake8_project_root_and_no_cache(tmp_path: Path) -> None:
    main_py = (
        "from fastapi import FastAPI\n\nfrom helpers import slow\n\napp = FastAPI()\n\n\n"
        '@app.get("/slow")\nasync def slow_route():\n    slow()\n    return {}\n'
    )
    helpers = "import time\n\n\ndef slow():\n    time.sleep(1)\n"
    root = make_project(
        tmp_path / "p", {"services/api/main.py": main_py, "services/helpers.py": helpers}
    )
    no_cache = run_flake8_here(root, "--async-pitfalls-no-cache")
    assert [line.split(": ")[1][:6] for line in no_cache.stdout.splitlines()] == ["APL201"]
    assert not default_cache_dir(str(root.resolve())).exists()
    narrowed = run_flake8_here(
        root, "--async-pitfalls-no-cache", f"--async-pitfalls-project-root={root / 'services/api'}"
    )
    assert narrowed.stdout == ""


# -- flake8 option values are validated like the table's ----------------------------------------
APP_FOR_FLAKE8 = ROUTE


@pytest.mark.parametrize(
    ("config_file", "line", "message"),
    [
        (
            "setup.cfg",
            "async-pitfalls-scope = whatever",
            "setup.cfg: [flake8] async-pitfalls-scope must be one of fastapi, all, not 'whatever'",
        ),
        (
            "tox.ini",
            "async-pitfalls-max-depth = abc",
            "tox.ini: [flake8] async-pitfalls-max-depth must be a positive integer, not 'abc'",
        ),
        (
            ".flake8",
            "async-pitfalls-extra-blocking = mylib.fetch->network",
            ".flake8: [flake8] async-pitfalls-extra-blocking category for 'mylib.fetch' must be "
            "one of sleep, http, file, db, subprocess, cpu, wait, fsmeta, not 'network'",
        ),
        (
            ".flake8",
            "async-pitfalls-no-cache = maybe",
            ".flake8: [flake8] async-pitfalls-no-cache must be true or false, not 'maybe'",
        ),
        (
            "setup.cfg",
            "extend-select = APL1O1",
            "setup.cfg: [flake8] extend-select 'APL1O1' is not a rule code or prefix",
        ),
    ],
)
def test_flake8_config_file_errors(
    tmp_path: Path, config_file: str, line: str, message: str
) -> None:
    """A bad value in any of flake8's config files is one error naming the option and the file,
    with the status flake8 gives its own configuration errors (1), and no traceback."""
    root = make_project(tmp_path / "p", {"app.py": APP_FOR_FLAKE8})
    (root / config_file).write_text(f"[flake8]\n{line}\n", encoding="utf-8")
    # One real flake8 process per config file kind; the other values in-process.
    first_of_its_kind = line.startswith(("async-pitfalls-scope", "async-pitfalls-max-depth"))
    first_of_its_kind |= "extra-blocking" in line
    result = run_flake8(root) if first_of_its_kind else run_flake8_here(root)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "There was a critical error during execution of Flake8:",
        f"async-pitfalls-lint: configuration error: {message}"
        + ("" if message.endswith("'") else " (APL, APL1, APL101)"),
    ]


def test_flake8_command_line_value_errors_name_the_option(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": APP_FOR_FLAKE8})
    (root / "setup.cfg").write_text("[flake8]\nasync-pitfalls-max-depth = 3\n", encoding="utf-8")
    result = run_flake8(root, "--async-pitfalls-max-depth=0")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        "async-pitfalls-lint: configuration error: "
        "--async-pitfalls-max-depth must be a positive integer, not '0'"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"async_pitfalls_scope": "all"}, "scope='all'"),
        ({"async_pitfalls_max_depth": "4"}, "max_depth=4"),
        ({"async_pitfalls_no_cache": "yes"}, "no_cache=True"),
        ({"async_pitfalls_no_cache": "off"}, "no_cache=False"),
        ({"async_pitfalls_no_cache": True}, "no_cache=True"),
        (
            {"async_pitfalls_extra_blocking": ["a.b->http", "c.d=db"]},
            "(('a.b', 'http'), ('c.d', 'db'))",
        ),
        ({"extend_select": ["APL3", "E501"], "select": ["APL108"]}, "selected=('APL108', 'APL3')"),
    ],
)
def test_flake8_option_values_are_converted(values: dict[str, object], expected: str) -> None:
    options = argparse.Namespace(**values)
    assert expected in repr(read_options(options))


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"async_pitfalls_scope": "everything"}, "must be one of fastapi, all"),
        ({"async_pitfalls_max_depth": "-1"}, "must be a positive integer"),
        ({"async_pitfalls_max_depth": "1.5"}, "must be a positive integer"),
        ({"async_pitfalls_extra_blocking": ["mylib.fetch"]}, "is not qualified.name->category"),
        ({"async_pitfalls_allow": ["my lib.get"]}, "is not a qualified name"),
        ({"async_pitfalls_route_decorators": ["web..route"]}, "is not a qualified name"),
        ({"ignore": ["APL10x"]}, "'APL10x' is not a rule code or prefix"),
        ({"select": ["apl101"]}, "'apl101' is not a rule code or prefix"),
    ],
)
def test_flake8_option_values_are_checked(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        read_options(argparse.Namespace(isolated=True, **values))


# -- flake8's own selection turns on the rules that are off by default --------------------------
OFF_BY_DEFAULT = """\
import asyncio
import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/a")
async def a():
    loop = asyncio.get_event_loop()
    return os.path.exists("x"), loop
"""


def _codes(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split(": ", 1)[1].split()[0] for line in result.stdout.splitlines()]


def test_flake8_selection_enables_rules_that_are_off_by_default(tmp_path: Path) -> None:
    """Real flake8 processes for `--select` and a config file's `extend-select`; the other
    combinations in-process."""
    root = make_project(tmp_path / "p", {"app.py": OFF_BY_DEFAULT})
    assert _codes(run_flake8_here(root)) == ["APL108"]  # `--select APL`: the defaults
    assert _codes(run_flake8(root, "--select", "APL303")) == ["APL303"]
    assert _codes(run_flake8_here(root, "--extend-select", "APL304")) == ["APL304", "APL108"]
    (root / ".flake8").write_text("[flake8]\nextend-select = APL3,APL108\n", encoding="utf-8")
    assert _codes(run_flake8(root)) == ["APL303", "APL304", "APL108"]
    # flake8's own ignore still wins over its selection, as for every flake8 code.
    assert _codes(run_flake8_here(root, "--extend-ignore", "APL303")) == ["APL304", "APL108"]


def test_flake8_honours_what_pyproject_turns_on(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": OFF_BY_DEFAULT}, 'extend-select = ["APL304"]\n')
    assert _codes(run_flake8_here(root)) == ["APL304", "APL108"]
