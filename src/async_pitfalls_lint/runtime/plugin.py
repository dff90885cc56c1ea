"""The pytest plugin (entry point `pytest11`): `pytest --apl-monitor[=MS]` reports every time an
event loop's thread stays away from the loop for longer than MS milliseconds (default 50).

Off unless `--apl-monitor` is given; this module then imports nothing but pytest, so an
environment with async-pitfalls-lint installed pays nothing for the plugin in other runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

DEFAULT_THRESHOLD_MS = 50.0
PLUGIN_NAME = "async-pitfalls-lint-monitor"


def _threshold(value: str) -> float:
    try:
        threshold = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number of milliseconds: {value!r} (write --apl-monitor=MS, or put the "
            "option after the test paths)"
        ) from None
    if not threshold > 0:
        raise argparse.ArgumentTypeError("the threshold must be more than 0 ms")
    return threshold


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("async-pitfalls-lint", "async-pitfalls-lint event-loop stall monitor")
    group.addoption(
        "--apl-monitor",
        dest="apl_monitor",
        nargs="?",
        const=DEFAULT_THRESHOLD_MS,
        default=None,
        type=_threshold,
        metavar="MS",
        help="report event-loop stalls longer than MS milliseconds (default: 50) and match "
        "them to async-pitfalls-lint findings",
    )
    group.addoption(
        "--apl-report",
        dest="apl_report",
        default=None,
        type=Path,
        metavar="PATH",
        help="write the stalls as JSON to PATH (for `async-pitfalls-lint check "
        "--runtime-report PATH`)",
    )
    group.addoption(
        "--apl-findings",
        dest="apl_findings",
        default=None,
        type=Path,
        metavar="PATH",
        help="match stalls against this `async-pitfalls-lint check --format json` report "
        "instead of analysing the stalled files at the end of the session",
    )


def pytest_configure(config: pytest.Config) -> None:
    threshold = config.getoption("apl_monitor")
    if threshold is None:
        for option in ("apl_report", "apl_findings"):
            if config.getoption(option) is not None:
                flag = "--" + option.replace("_", "-")
                raise pytest.UsageError(f"{flag} needs --apl-monitor")
        return
    # only now: the monitor, and at the end the analysis, are for monitored sessions
    from async_pitfalls_lint.runtime.session import MonitoredSession  # noqa: PLC0415

    session = MonitoredSession(
        config,
        threshold_ms=threshold,
        report_path=_from_invocation(config, config.getoption("apl_report")),
        findings_path=_from_invocation(config, config.getoption("apl_findings")),
    )
    config.pluginmanager.register(session, PLUGIN_NAME)


def _from_invocation(config: pytest.Config, path: Path | None) -> Path | None:
    """Relative to where pytest was started, even if a conftest changes the working folder."""
    return None if path is None else config.invocation_params.dir / path
