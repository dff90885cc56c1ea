"""Edit-to-diagnostics latency of the language server (issue 13), against the CLI's one-file run.

    python benchmarks/lsp_latency.py                       # the 5,000-module app, 15 edits
    python benchmarks/lsp_latency.py --app DIR --edits 25 --cli-runs 5
    python benchmarks/lsp_latency.py --edit comment       # edits that only move code

The app (default: generated with `generate_app.py --seed 20240601 --modules 5000` into
.corpus/apps/lsp-app-5000) is copied to a temporary folder, with a cache folder of its own
that the server and the CLI share. Then:

1. the CLI checks the file once (a cold run: it fills the facts cache);
2. `async-pitfalls-lint server --debounce 0` is started and the file opened: the time to its
   first diagnostics is the warm-cache start of a server;
3. N edits are sent as didChange (each a different body line in a route, unsaved), and the
   time from sending each to the publishDiagnostics of that version is taken: the median is
   edit-to-diagnostics on a warm server (the editor's debounce, 200 ms by default, comes on top);
4. the same edits are written to disk and `async-pitfalls-lint check FILE` is run for each
   (its whole-run cache misses, as after a save): the CLI's one-file run.

It prints the figures and writes results/lsp-latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from lspclient import Client  # noqa: E402  (the tests' own framing client)

DEFAULT_APP = HERE / ".corpus" / "apps" / "lsp-app-5000"
SEED = 20240601


def ensure_app(app: Path, modules: int) -> Path:
    if not (app / "pyproject.toml").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate_app.py"),
                "--seed",
                str(SEED),
                "--modules",
                str(modules),
                "--out",
                str(app),
            ],
            check=True,
        )
    return app


def pick_file(app: Path) -> Path:
    """A router with an async route that blocks directly (so there are findings to publish)."""
    for path in sorted((app / "app" / "routers").glob("*.py")):
        text = path.read_text()
        if "async def" in text and "time.sleep(" in text:
            return path
    return sorted((app / "app" / "routers").glob("*.py"))[0]


def edited(text: str, index: int, kind: str = "statement") -> str:
    """The text with one more statement in the body of its first async route ("statement": the
    facts change), or one more comment line there ("comment": only positions move)."""
    marker = "async def "
    start = text.index(marker)
    body = text.index(":\n", start) + 2
    line = f"_edit_{index} = {index}" if kind == "statement" else f"# edit {index}"
    return f"{text[:body]}    {line}\n{text[body:]}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--app", type=Path, default=None)
    parser.add_argument("--modules", type=int, default=5000)
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument(
        "--edit",
        choices=("statement", "comment"),
        default="statement",
        help="what each edit adds to the route: a statement (facts change) or a comment line",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    suffix = "" if args.edit == "statement" else f"-{args.edit}"
    out = args.out or HERE / "results" / f"lsp-latency{suffix}.json"
    source = args.app or ensure_app(DEFAULT_APP, args.modules)
    work = Path(tempfile.mkdtemp(prefix="apl-lsp-bench-"))
    try:
        app = work / "app"
        shutil.copytree(source, app)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
        target = pick_file(app)
        original = target.read_text()
        cli = [sys.executable, "-m", "async_pitfalls_lint", "check", str(target), "-q"]

        began = time.perf_counter()
        subprocess.run(cli, cwd=app, env=env, capture_output=True, check=False)
        cli_cold = time.perf_counter() - began
        print(f"CLI cold (fills the cache): {cli_cold:.1f} s", flush=True)

        client = Client(app, ("--debounce", "0"), env={"XDG_CACHE_HOME": str(work / "cache")})
        try:
            client.initialize([app])
            began = time.perf_counter()
            uri = client.open(target, original)
            first = client.diagnostics(uri, version=1, timeout=900)
            server_start = time.perf_counter() - began
            print(f"server: first diagnostics {server_start:.2f} s ({len(first)} findings)")
            latencies = []
            for index in range(args.edits):
                version = index + 2
                began = time.perf_counter()
                client.change(uri, edited(original, index, args.edit), version)
                client.diagnostics(uri, version=version, timeout=300)
                latencies.append(time.perf_counter() - began)
                print(f"  edit {index + 1}: {latencies[-1] * 1000:.0f} ms", flush=True)
            assert client.close() == 0
        finally:
            client.kill()

        cli_runs = []
        for index in range(args.cli_runs):
            target.write_text(edited(original, 1000 + index, args.edit))
            began = time.perf_counter()
            subprocess.run(cli, cwd=app, env=env, capture_output=True, check=False)
            cli_runs.append(time.perf_counter() - began)
            print(f"  CLI one-file run {index + 1}: {cli_runs[-1]:.2f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "app": _shown(source),
        "modules": sum(1 for _ in Path(source).rglob("*.py")),
        "file": str(target.relative_to(app)),
        "edits": args.edits,
        "edit_kind": args.edit,
        "server_first_diagnostics_ms": round(server_start * 1000, 1),
        "edit_to_diagnostics_ms": [round(value * 1000, 1) for value in latencies],
        "edit_to_diagnostics_median_ms": median_ms(latencies),
        "cli_cold_s": round(cli_cold, 2),
        "cli_one_file_ms": [round(value * 1000, 1) for value in cli_runs],
        "cli_one_file_median_ms": median_ms(cli_runs),
        "ratio_server_to_cli": round(statistics.median(latencies) / statistics.median(cli_runs), 3),
        "target_ms": 200,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {key: value for key, value in result.items() if "median" in key or "ratio" in key}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
