"""The `async-pitfalls-lint` command: check, fix, rules, explain, routes, server.

Each subcommand is one entry in COMMANDS: a function that adds its arguments to its parser and
a function that runs it and returns the exit status. `check` is the default command, so
`async-pitfalls-lint src/` means `async-pitfalls-lint check src/`.

Exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from async_pitfalls_lint import __version__
from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.config import (
    SCOPES,
    ConfigError,
    Settings,
    load_settings,
    validate_selectors,
)
from async_pitfalls_lint.explain import render_rule_terminal, render_rules_table
from async_pitfalls_lint.inventory import build_inventory, source_roots_of
from async_pitfalls_lint.output import FORMATS
from async_pitfalls_lint.output.routes import render_json, render_table, roots_text
from async_pitfalls_lint.output.text import format_finding, root_causes_text
from async_pitfalls_lint.report import Report
from async_pitfalls_lint.runner import StdinInput, check_files, default_jobs
from async_pitfalls_lint.runtime.confirmation import RuntimeConfirmation, confirm_findings
from async_pitfalls_lint.runtime.confirmation import summary_text as runtime_summary
from async_pitfalls_lint.runtime.stall_report import RuntimeReportError
from async_pitfalls_lint.runtime.stall_report import load_report as load_runtime_report
from async_pitfalls_lint.server import INSTALL_HINT, missing_dependency

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
PROG = "async-pitfalls-lint"


class UsageError(Exception):
    """A command line that cannot be run (missing paths, unwritable output file)."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, TextIO, TextIO], int]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[
    [Callable[[argparse.Namespace, TextIO, TextIO], int]],
    Callable[[argparse.Namespace, TextIO, TextIO], int],
]:
    """Register a subcommand: `@command("name", "help", add_arguments)` on its run function."""

    def register(
        run: Callable[[argparse.Namespace, TextIO, TextIO], int],
    ) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
        COMMANDS[name] = Command(name, help, add_arguments, run)
        return run

    return register


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def _selectors(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Find blocking calls on the event loop of FastAPI and Starlette services.",
        epilog="Exit status: 0 clean, 1 findings, 2 usage, configuration or internal error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for entry in COMMANDS.values():
        entry.add_arguments(
            commands.add_parser(entry.name, help=entry.help, description=entry.help)
        )
    return parser


# -- shared options ----------------------------------------------------------------------------
def add_project_options(parser: argparse.ArgumentParser) -> None:
    """Options that decide what is analysed and how: shared by check and routes."""
    parser.add_argument(
        "paths", nargs="*", default=[], metavar="PATH", help="files or folders (default: .)"
    )
    parser.add_argument(
        "--select", type=_selectors, help="only these codes or prefixes (comma separated)"
    )
    parser.add_argument(
        "--extend-select", type=_selectors, help="add codes or prefixes to the selection"
    )
    parser.add_argument("--ignore", type=_selectors, help="never report these codes or prefixes")
    parser.add_argument(
        "--scope",
        choices=SCOPES,
        help="fastapi (default): framework event-loop code; all: every async def",
    )
    parser.add_argument("--config", type=Path, help="read settings from this pyproject.toml")
    parser.add_argument("--project-root", type=Path, help="root for cross-module analysis")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache folder (default: the project's own in the user cache)",
    )
    parser.add_argument(
        "--jobs", "-j", type=_jobs, default=None, help="parallel processes (default: all cores)"
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no summary or progress on stderr"
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also say on stderr what each project's analysis was based on: source roots and "
        "the environment library inference read",
    )


def add_check_options(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="text", help="output format (default: text)"
    )
    parser.add_argument("--output-file", type=Path, help="write the report here instead of stdout")
    parser.add_argument(
        "--statistics", action="store_true", help="print the number of findings per code"
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument(
        "--stdin-filename", default="stdin.py", help="the file name for PATH '-' (standard input)"
    )
    parser.add_argument(
        "--runtime-report",
        type=Path,
        metavar="PATH",
        help="mark findings confirmed or not exercised by a `pytest --apl-report` run",
    )


def settings_from_args(args: argparse.Namespace, start: Path) -> Settings:
    settings = load_settings(start, args.config)
    changes: dict[str, object] = {}
    if args.select is not None:
        changes["select"] = validate_selectors(args.select, "--select")
    if args.extend_select is not None:
        changes["extend_select"] = (
            *settings.extend_select,
            *validate_selectors(args.extend_select, "--extend-select"),
        )
    if args.ignore is not None:
        changes["ignore"] = (*settings.ignore, *validate_selectors(args.ignore, "--ignore"))
    if args.scope is not None:
        changes["scope"] = args.scope
    if args.project_root is not None:
        changes["project_root"] = os.path.abspath(args.project_root)
    if args.no_cache:
        changes["cache"] = False
    if args.cache_dir is not None:
        changes["cache_dir"] = os.path.abspath(args.cache_dir)
    return settings.replace(**changes) if changes else settings


def _existing_paths(raw: list[str]) -> list[Path]:
    paths = [Path(path) for path in (raw or ["."])]
    missing = [str(path) for path in paths if not path.exists() and not path.is_symlink()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    return paths


def _start(paths: list[Path]) -> Path:
    return paths[0] if paths[0].is_dir() else paths[0].parent


def _jobs_for(args: argparse.Namespace) -> int:
    return int(args.jobs) if args.jobs is not None else default_jobs()


def _emit(text: str, output_file: Path | None, stdout: TextIO) -> None:
    if output_file is None:
        stdout.write(text)
        stdout.flush()  # the report comes before the summary that follows on stderr
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {output_file}: {error.strerror}") from None


# -- check -------------------------------------------------------------------------------------
@command("check", "report blocking calls (the default command)", add_check_options)
def run_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    stdin = None
    if args.paths == ["-"]:
        stdin = StdinInput(args.stdin_filename, sys.stdin.read())
        paths = [Path(args.stdin_filename)]
        start = Path(os.path.abspath(args.stdin_filename)).parent
    else:
        if "-" in args.paths:
            raise UsageError("'-' (standard input) cannot be combined with other paths")
        paths = _existing_paths(args.paths)
        start = _start(paths)
    settings = settings_from_args(args, start)
    progress = stderr if (not args.quiet and _isatty(stderr)) else None
    report = check_files(paths, settings, jobs=_jobs_for(args), stdin=stdin, progress=progress)
    if args.runtime_report is not None:
        report.runtime = _runtime_confirmation(report, args.runtime_report)
    rendered = FORMATS[args.format](report)
    if args.statistics and args.format == "text":
        rendered += statistics_text(report)
    _emit(rendered, args.output_file, stdout)
    if args.statistics and args.format != "text":
        stderr.write(statistics_text(report))
    if args.verbose:
        roots = source_roots_of(paths, settings)
        print(f"{PROG}: {roots_text(roots)}", file=stderr)
        for info in report.projects:
            print(f"{PROG}: project {info.root}: libraries: {info.libraries}", file=stderr)
    if not args.quiet:
        if args.format == "text":
            stderr.write(root_causes_text(report.root_causes()))
        print(summary_line(report), file=stderr)
        if report.runtime is not None:
            print(f"{PROG}: {runtime_summary(report.runtime)}", file=stderr)
    for problem in report.internal_errors:
        print(f"{PROG}: {problem.path}: {problem.problem}", file=stderr)
    return exit_status(report, args.exit_zero)


def _runtime_confirmation(report: Report, path: Path) -> RuntimeConfirmation:
    try:
        runtime = load_runtime_report(path)
    except RuntimeReportError as error:
        raise UsageError(str(error)) from None
    checked = [result.path for result in report.results]
    return confirm_findings(report.findings, checked, runtime, str(path))


def statistics_text(report: Report) -> str:
    catalog = load_catalog()
    lines = []
    for code, count in sorted(report.counts().items()):
        rule = catalog.get(code)
        lines.append(f"{count:6d}  {code}  {rule.name if rule else ''}".rstrip() + "\n")
    return "".join(lines)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def summary_line(report: Report) -> str:
    parts = [
        _plural(report.files_checked, "file") + " checked",
        _plural(len(report.findings), "finding"),
        _plural(report.fixable, "fix", "fixes") + " available",
        _plural(len(report.problems), "file") + " could not be analysed",
    ]
    return f"{PROG}: " + ", ".join(parts)


def exit_status(report: Report, exit_zero: bool) -> int:
    """2 for internal errors; with `--exit-zero` 0 otherwise; else 1 for findings, 2 when files
    could not be analysed and nothing else was found (their APL900 lines are reported either
    way), and 0 for a clean run."""
    if report.internal_errors:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    if any(finding.code != "APL900" for finding in report.findings):
        return EXIT_FINDINGS
    if report.problems:
        return EXIT_ERROR
    return EXIT_CLEAN


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- fix ---------------------------------------------------------------------------------------
def _add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply unsafe fixes (thread offloads: the call then runs on another thread)",
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff instead of writing the files"
    )


@command(
    "fix",
    "apply the automatic fixes (safe ones; unsafe ones too with --unsafe-fixes)",
    _add_fix_arguments,
)
def run_fix(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    if "-" in args.paths:
        raise UsageError("fix works on files; '-' (standard input) is not supported")
    paths = _existing_paths(args.paths)
    settings = settings_from_args(args, _start(paths))
    from async_pitfalls_lint.fixes.apply import fix_paths  # noqa: PLC0415 - needs libcst

    run = fix_paths(
        paths, settings, unsafe=args.unsafe_fixes, jobs=_jobs_for(args), write=not args.diff
    )
    if args.diff:
        stdout.write(run.diff())
    else:
        for finding in run.remaining:
            why = f" [no fix: {finding.fix_unavailable}]" if finding.fix_unavailable else ""
            stdout.write(format_finding(finding) + why + "\n")
    fixed, changed = len(run.fixed), len(run.changed)
    remaining = run.remaining
    unsafe_left = sum(1 for f in remaining if f.fix is not None and not f.fix.safe)
    if not args.quiet:
        verb = "would fix" if args.diff else "fixed"
        parts = [
            f"{verb} {_plural(fixed, 'finding')} in {_plural(changed, 'file')}",
            _plural(len(remaining), "finding") + " left",
        ]
        if unsafe_left and not args.unsafe_fixes:
            parts.append(f"{unsafe_left} with an unsafe fix (--unsafe-fixes)")
        print(f"{PROG}: " + ", ".join(parts), file=stderr)
    for finding, problem in run.refused:
        print(
            f"{PROG}: {finding.path}:{finding.line}:{finding.column + 1}: "
            f"{finding.code} fix refused: {problem}",
            file=stderr,
        )
    for error in run.errors:
        print(f"{PROG}: {error}", file=stderr)
    for internal in run.report.internal_errors:
        print(f"{PROG}: {internal.path}: {internal.problem}", file=stderr)
    if run.errors or run.refused or run.report.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if remaining else EXIT_CLEAN


# -- rules and explain -------------------------------------------------------------------------
def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    """`rules` takes no arguments."""


@command("rules", "list every rule with its summary", _no_arguments)
def run_rules(_args: argparse.Namespace, stdout: TextIO, _stderr: TextIO) -> int:
    stdout.write(render_rules_table(load_catalog()))
    return EXIT_CLEAN


def _add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", help="a code (APL104) or a rule name (blocking-database-call)")


@command("explain", "print a rule's documentation", _add_explain_arguments)
def run_explain(args: argparse.Namespace, stdout: TextIO, _stderr: TextIO) -> int:
    catalog = load_catalog()
    rule = catalog.get(args.rule)
    if rule is None:
        raise UsageError(f"no rule {args.rule!r} (see `{PROG} rules`)")
    stdout.write(render_rule_terminal(rule, catalog, colour=_colour("auto", stdout)))
    return EXIT_CLEAN


# -- routes ------------------------------------------------------------------------------------
def _add_routes_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="output format (default: table)",
    )
    parser.add_argument(
        "--output-file", type=Path, help="write the inventory here instead of stdout"
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the table (default: auto, on a terminal)",
    )


@command(
    "routes",
    "list every route and websocket: where it runs, its dependencies, its findings",
    _add_routes_arguments,
)
def run_routes(args: argparse.Namespace, stdout: TextIO, _stderr: TextIO) -> int:
    paths = _existing_paths(args.paths)
    settings = settings_from_args(args, _start(paths))
    inventory = build_inventory(paths, settings, jobs=_jobs_for(args))
    if args.format == "json":
        rendered = render_json(inventory)
    else:
        to_terminal = args.output_file is None and _isatty(stdout)
        colour = _colour(args.color, stdout if args.output_file is None else None)
        rendered = render_table(inventory, colour=colour, width=_table_width(to_terminal))
    _emit(rendered, args.output_file, stdout)
    return EXIT_CLEAN


def _colour(choice: str, stream: TextIO | None) -> bool:
    """`--color always|never` decide; with `auto`, NO_COLOR (set and not empty) turns colour
    off, FORCE_COLOR (set, not empty and not 0/false) turns it on, and otherwise a terminal
    gets colour (a file never does)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR", "")
    if force and force.lower() not in ("0", "false"):
        return True
    return stream is not None and _isatty(stream)


def _table_width(to_terminal: bool) -> int | None:
    """The width the routes table must fit on a terminal (COLUMNS, when set, wins, as for
    every terminal program); a pipe or a file gets every cell whole."""
    if not to_terminal:
        return None
    return max(40, shutil.get_terminal_size((100, 24)).columns)


# -- server ------------------------------------------------------------------------------------
def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stdio", action="store_true", help="talk LSP over stdin and stdout (the default)"
    )
    parser.add_argument(
        "--debounce",
        type=int,
        default=200,
        metavar="MS",
        help="check a changed buffer after this many milliseconds without a newer change "
        "(default: 200)",
    )


@command(
    "server",
    "run the language server (LSP over stdio) for editors; needs the `lsp` extra",
    _add_server_arguments,
)
def run_server(args: argparse.Namespace, _stdout: TextIO, stderr: TextIO) -> int:
    missing = missing_dependency()
    if missing is not None:
        print(
            f"{PROG}: error: the language server needs {missing}, which is not installed: "
            f"{INSTALL_HINT}",
            file=stderr,
        )
        return EXIT_ERROR
    from async_pitfalls_lint.server.protocol import serve  # noqa: PLC0415 (needs pygls)

    return serve(max(0, args.debounce) / 1000)


# -- entry point -------------------------------------------------------------------------------
def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*COMMANDS, "-h", "--help", "--version"):
        arguments.insert(0, "check")
    args = build_parser().parse_args(arguments)
    try:
        return COMMANDS[args.command].run(args, stdout, stderr)
    except ConfigError as error:
        print(f"{PROG}: configuration error: {error}", file=stderr)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=stderr)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception as error:  # report, never a traceback; the exit status says it failed
        print(f"{PROG}: internal error: {type(error).__name__}: {error}", file=stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
