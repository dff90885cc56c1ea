"""Running the command line from tests: in-process (fast) or as a real process.

`run_cli` calls `async_pitfalls_lint.cli.main` in this process, the way a fresh process would
see it: from `cwd`, with its own standard streams (none of them a terminal), the given standard
input and environment, and no analysis state left over from an earlier run. It saves the ~1 s
interpreter and import start-up of a subprocess. `run_process` runs
`python -m async_pitfalls_lint` for real; keep it for what only a process shows (the console
script, a terminal on standard error, signals).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from async_pitfalls_lint.analysis import reset_analyses
from async_pitfalls_lint.cli import main


@contextlib.contextmanager
def _environment(env: dict[str, str] | None) -> Iterator[None]:
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_cli(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`async-pitfalls-lint ARGS` run in-process from `cwd`."""
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    saved_stdin = sys.stdin
    reset_analyses()
    try:
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin or "")
        with (
            _environment(env),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                code = main(list(args), stdout=stdout, stderr=stderr)
            except SystemExit as exit_:  # argparse: --version, --help and usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        sys.stdin = saved_stdin
        os.chdir(previous)
        reset_analyses()
    return subprocess.CompletedProcess(
        ["async-pitfalls-lint", *args], code, stdout.getvalue(), stderr.getvalue()
    )


def run_process(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m async_pitfalls_lint ARGS` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "async_pitfalls_lint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def run_flake8_in_process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """flake8 run in this process from `root` (`--jobs=1`, report to a file): the real option
    parsing, config files and plugin loading, without the interpreter start-up. Tests of what
    only a separate process shows (exit on config errors, parallel workers) use a subprocess."""
    from flake8.main.application import Application  # noqa: PLC0415 - only some tests need it

    from async_pitfalls_lint import flake8_plugin  # noqa: PLC0415

    argv = ["--jobs=1", *args, "."]
    previous = os.getcwd()
    saved_argv = sys.argv
    reset_analyses()
    flake8_plugin._SETTINGS_BY_FOLDER.clear()
    stderr = io.StringIO()
    printed = io.StringIO()  # what flake8 prints itself (its critical errors)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "flake8.txt"
        try:
            os.chdir(root)
            sys.argv = ["flake8", *argv]
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(printed):
                application = Application()
                application.run([*argv[:-1], f"--output-file={report}", "."])
            code = application.exit_code()
        finally:
            sys.argv = saved_argv
            os.chdir(previous)
            reset_analyses()
            flake8_plugin._SETTINGS_BY_FOLDER.clear()
        stdout = printed.getvalue()
        stdout += report.read_text(encoding="utf-8") if report.exists() else ""
    return subprocess.CompletedProcess(["flake8", *argv], code, stdout, stderr.getvalue())
