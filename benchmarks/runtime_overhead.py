"""The runtime monitor's overhead on a test suite that never stalls. Not a test: it measures.

    python benchmarks/runtime_overhead.py                 # 7 rounds of 600 quick async tests
    python benchmarks/runtime_overhead.py --rounds 11 --tests 900

It writes a suite of quick async tests into a temporary folder (pytest-asyncio and anyio tests
that await and compute a little, httpx AsyncClient requests to a small Starlette app over
ASGITransport, and Starlette TestClient requests, in the proportions below), then runs
`pytest` on it with and without `--apl-monitor`, alternating the order every round (ABBA), and
prints the median time of the test session (pytest's own "in N s", from session start to the
summary), of the whole process and its CPU time (user + system), with the overhead of the
monitored runs as the median of each round's monitored/plain ratio. Needs the test extra (pytest-asyncio, anyio, httpx, starlette).
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request):
    total = sum(range(int(request.path_params["n"]) * 50))
    return JSONResponse({"n": request.path_params["n"], "total": total})


app = Starlette(routes=[Route("/items/{n}", item)])
"""

ASYNCIO_TESTS = """
import asyncio

import pytest


async def _work(n):
    total = 0
    for step in range(20):
        total += sum(range(n * 10 + step))
        await asyncio.sleep(0)
    return total


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range({count}))
async def test_asyncio(n):
    results = await asyncio.gather(*(_work(n + k) for k in range(5)))
    assert len(results) == 5
"""

ANYIO_TESTS = """
import anyio
import pytest


@pytest.mark.anyio
@pytest.mark.parametrize("n", range({count}))
async def test_anyio(n):
    async with anyio.create_task_group() as group:
        for k in range(5):
            group.start_soon(anyio.sleep, 0)
    assert sum(range(n * 100)) >= 0
"""

CLIENT_TESTS = """
import httpx
import pytest

from app import app


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range({count}))
async def test_async_client(n):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(3):
            assert (await client.get(f"/items/{{n}}")).status_code == 200
"""

TESTCLIENT_TESTS = """
import pytest
from starlette.testclient import TestClient

from app import app


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("n", range({count}))
def test_test_client(client, n):
    assert client.get(f"/items/{{n}}").status_code == 200
"""

INI = """[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = ignore
"""

SESSION_TIME = re.compile(r" in ([0-9.]+)s")


def write_suite(folder: Path, tests: int) -> None:
    quarter = tests // 4
    (folder / "pytest.ini").write_text(INI)
    (folder / "app.py").write_text(APP)
    for name, template in (
        ("test_asyncio.py", ASYNCIO_TESTS),
        ("test_anyio.py", ANYIO_TESTS),
        ("test_async_client.py", CLIENT_TESTS),
        ("test_test_client.py", TESTCLIENT_TESTS),
    ):
        (folder / name).write_text(template.format(count=quarter))


@dataclass(frozen=True)
class Run:
    session: float  # pytest's "in N s"
    wall: float  # the whole process
    cpu: float  # user + system time of the process


def run_once(folder: Path, monitored: bool) -> Run:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    if monitored:
        command.append("--apl-monitor")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the benchmark suite failed:\n{result.stdout}\n{result.stderr}")
    if monitored and "no event-loop stall" not in result.stdout:
        print("warning: the monitored run reported stalls; the machine is loaded", file=sys.stderr)
    session = SESSION_TIME.findall(result.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(float(session[-1]) if session else wall, wall, cpu)


def _line(label: str, plain: list[float], monitored: list[float]) -> str:
    """Medians, and the median of each round's ratio: the two runs of a round are back to
    back, so a load that comes and goes on a shared machine weighs on both."""
    a, b = statistics.median(plain), statistics.median(monitored)
    paired = statistics.median(m / p for p, m in zip(plain, monitored, strict=True))
    return (
        f"{label:8} median {a:6.2f} s plain, {b:6.2f} s monitored; "
        f"overhead {100 * (paired - 1):+5.1f}% (median of the rounds' ratios)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tests", type=int, default=600)
    args = parser.parse_args(argv)
    runs: dict[bool, list[Run]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_suite(folder, args.tests)
        run_once(folder, monitored=False)  # warm the file cache and bytecode
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for monitored in order:
                runs[monitored].append(run_once(folder, monitored))
    print(f"{args.tests} tests, {args.rounds} rounds")
    for label in ("session", "process", "cpu"):
        plain = [getattr(run, label if label != "process" else "wall") for run in runs[False]]
        monitored = [getattr(run, label if label != "process" else "wall") for run in runs[True]]
        print(_line(label, plain, monitored))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
