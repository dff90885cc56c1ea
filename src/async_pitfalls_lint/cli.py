"""The `async-pitfalls-lint` command: check, rules, explain.

Exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error (and files
that could not be analysed, when nothing else was found).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
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
from async_pitfalls_lint.explain import render_rule, render_rules_table
from async_pitfalls_lint.output import FORMATS
from async_pitfalls_lint.report import Report
from async_pitfalls_lint.runner import StdinInput, check_files, default_jobs

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def _selectors(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="async-pitfalls-lint",
        description="Find blocking calls on the event loop of FastAPI and Starlette services.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="report blocking calls (default command)")
    add_check_options(check)

    commands.add_parser("rules", help="list every rule with its summary")
    explain = commands.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="a code (APL104) or a rule name (blocking-database-call)")
    return parser


def add_check_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=[], metavar="PATH", help="files or folders (default: .)")
    parser.add_argument("--select", type=_selectors, help="only these codes or prefixes (comma separated)")
    parser.add_argument("--extend-select", type=_selectors, help="add codes to the selection")
    parser.add_argument("--ignore", type=_selectors, help="never report these codes or prefixes")
    parser.add_argument("--scope", choices=SCOPES, help="fastapi (default) or all async functions")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format")
    parser.add_argument("--output-file", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--statistics", action="store_true", help="print counts per code")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument("--config", type=Path, help="read settings from this pyproject.toml")
    parser.add_argument("--stdin-filename", default="stdin.py", help="the file name for PATH '-'")
    parser.add_argument("--project-root", type=Path, help="root for cross-module analysis")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("--cache-dir", type=Path, help="cache folder (default: <root>/.async_pitfalls_lint_cache)")
    parser.add_argument("--jobs", "-j", type=int, default=None, help="parallel processes (default: all cores)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary or progress on stderr")


def settings_from_args(args: argparse.Namespace, start: Path) -> Settings:
    settings = load_settings(start, args.config)
    changes: dict[str, object] = {}
    if args.select is not None:
        changes["select"] = validate_selectors(args.select, "--select")
    if args.extend_select is not None:
        changes["extend_select"] = (*settings.extend_select, *validate_selectors(args.extend_select, "--extend-select"))
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


def run_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    paths = [Path(path) for path in (args.paths or ["."])]
    stdin = None
    if args.paths == ["-"]:
        stdin = StdinInput(args.stdin_filename, sys.stdin.read())
        start = Path(os.path.abspath(args.stdin_filename)).parent
    else:
        missing = [str(path) for path in paths if not path.exists() and not path.is_symlink()]
        if missing:
            print(f"async-pitfalls-lint: error: no such file or folder: {', '.join(missing)}", file=stderr)
            return EXIT_ERROR
        start = paths[0] if paths[0].is_dir() else paths[0].parent
    settings = settings_from_args(args, start)
    jobs = args.jobs if args.jobs is not None else default_jobs()
    progress = stderr if (not args.quiet and stderr.isatty()) else None
    report = check_files(paths, settings, jobs=jobs, stdin=stdin, progress=progress)
    _write_report(report, args, stdout)
    if not args.quiet:
        print(summary_line(report), file=stderr)
    return exit_status(report, args.exit_zero)


def _write_report(report: Report, args: argparse.Namespace, stdout: TextIO) -> None:
    rendered = FORMATS[args.format](report)
    if args.statistics and args.format == "text":
        rendered += "".join(f"{count:6d}  {code}\n" for code, count in sorted(report.counts().items()))
    if args.output_file is not None:
        args.output_file.write_text(rendered, encoding="utf-8")
    else:
        stdout.write(rendered)


def summary_line(report: Report) -> str:
    findings = report.findings
    parts = [f"{report.files_checked} files checked", f"{len(findings)} findings"]
    if report.fixable:
        parts.append(f"{report.fixable} fixable")
    if report.problems:
        parts.append(f"{len(report.problems)} could not be analysed")
    return "async-pitfalls-lint: " + ", ".join(parts)


def exit_status(report: Report, exit_zero: bool) -> int:
    if report.findings and not exit_zero:
        return EXIT_FINDINGS
    if report.problems:
        return EXIT_ERROR
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not arguments or arguments[0] not in ("check", "rules", "explain", "-h", "--help", "--version"):
        arguments.insert(0, "check")
    args = parser.parse_args(arguments)
    try:
        if args.command == "rules":
            stdout.write(render_rules_table(load_catalog()))
            return EXIT_CLEAN
        if args.command == "explain":
            rule = load_catalog().get(args.rule)
            if rule is None:
                print(f"async-pitfalls-lint: error: no rule {args.rule!r} (see `async-pitfalls-lint rules`)", file=stderr)
                return EXIT_ERROR
            stdout.write(render_rule(rule, load_catalog()))
            return EXIT_CLEAN
        return run_check(args, stdout, stderr)
    except ConfigError as error:
        print(f"async-pitfalls-lint: configuration error: {error}", file=stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("async-pitfalls-lint: interrupted", file=stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
