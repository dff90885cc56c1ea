"""Baseline: the time merely to parse a corpus with `libcst.parse_module`, in N processes.

    python benchmarks/parse_baseline.py --jobs 2 --filter all   PATH...
    python benchmarks/parse_baseline.py --jobs 2 --filter async PATH...

`--filter async` parses only the files whose bytes contain `async` or `Depends` (a stand-in
for the files the CLI must parse: it can skip files that cannot hold event-loop code). Files
are found like the linters find them (.py, skipping virtualenvs, caches and build folders) and
read and decoded the same way (bytes -> text with the declared encoding). Prints one JSON line:
files, bytes, parse failures and the in-process wall time; the benchmark times the process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import tokenize
from concurrent.futures import ProcessPoolExecutor

SKIP_DIRS = {
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "__pycache__", "node_modules",
    "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".async_pitfalls_lint_cache",
}  # fmt: skip


def python_files(roots: list[str]) -> list[str]:
    found: list[str] = []
    for root in roots:
        if os.path.isfile(root):
            found.append(root)
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            found.extend(
                os.path.join(folder, name) for name in sorted(files) if name.endswith(".py")
            )
    return found


def wanted(path: str, mode: str) -> bool:
    if mode == "all":
        return True
    with open(path, "rb") as handle:
        data = handle.read()
    return b"async" in data or b"Depends" in data


def parse_one(path: str) -> tuple[int, bool]:
    import libcst

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        libcst.parse_module(data.decode(encoding))
    except Exception:  # a file libcst cannot parse still counts as read
        return len(data), False
    return len(data), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="libcst parse-only baseline")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--filter", choices=("all", "async"), default="all")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = [path for path in python_files(args.paths) if wanted(path, args.filter)]
    size = failures = 0
    if args.jobs <= 1:
        results = map(parse_one, files)
        for length, ok in results:
            size += length
            failures += not ok
    else:
        chunk = max(1, len(files) // (args.jobs * 8))
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for length, ok in pool.map(parse_one, files, chunksize=chunk):
                size += length
                failures += not ok
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {"files": len(files), "bytes": size, "failures": failures, "seconds": round(elapsed, 3)}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
