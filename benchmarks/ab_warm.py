"""A/B of two installed versions of the CLI on warm and one-file-changed runs.

    python benchmarks/ab_warm.py OLD_BIN NEW_BIN APP_DIR [--rounds N]

OLD_BIN and NEW_BIN are `async-pitfalls-lint` executables (e.g. a virtualenv with a release and
one with the working tree). Each gets its own cache folders (`XDG_CACHE_HOME`/`XDG_CONFIG_HOME`
under a temporary folder; a version that keeps its cache in the project gets its own copy of
the app), is warmed once, and then the two run back to back, the order reversed every round
(ABBA). Prints each round's NEW/OLD ratio and the median, for a warm run over unchanged files
and for a run after one module was edited (a comment line appended, as docs/performance.md
describes). Used for the cache-format change of 0.2.0: warm runs within +10% of 0.1.0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _run(binary: str, app: Path, env: dict[str, str], target: str = ".") -> float:
    start = time.perf_counter()
    subprocess.run(
        [binary, "check", "--exit-zero", "--format", "json", target],
        cwd=app,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def _router(app: Path) -> Path:
    routers = sorted(app.rglob("routers/*.py")) or sorted(app.rglob("*.py"))
    return routers[len(routers) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("app", type=Path)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apl-ab-") as scratch:
        sides = {}
        for name, binary in (("old", args.old), ("new", args.new)):
            app = Path(scratch) / name / "app"
            shutil.copytree(args.app, app)
            env = {
                **os.environ,
                "XDG_CACHE_HOME": str(Path(scratch) / name / "cache"),
                "XDG_CONFIG_HOME": str(Path(scratch) / name / "config"),
            }
            _run(binary, app, env)  # cold: fills the cache
            sides[name] = (binary, app, env)
        for measure in ("warm", "one file changed"):
            ratios = []
            for round_ in range(args.rounds):
                order = ["old", "new"] if round_ % 2 == 0 else ["new", "old"]
                times = {}
                for name in order:
                    binary, app, env = sides[name]
                    if measure == "one file changed":
                        with _router(app).open("a", encoding="utf-8") as handle:
                            handle.write(f"# edit {round_}\n")
                    times[name] = _run(binary, app, env)
                ratios.append(times["new"] / times["old"])
                print(f"{measure:>17} round {round_ + 1}: old {times['old']:.2f}s new "
                      f"{times['new']:.2f}s new/old {ratios[-1]:.2f}")  # fmt: skip
            print(f"{measure:>17}: median new/old {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
