"""The performance benchmark of async-pitfalls-lint (issue 6). Not a test: it measures.

    python benchmarks/run.py            # everything: setup, corpus, apps, measurements, profile
    python benchmarks/run.py --quick    # a small smoke run (minutes)
    python benchmarks/run.py --editor   # the editor loop alone: check FILE, flake8 FILE (minutes)

It builds, under benchmarks/ (git-ignored):
  .venvs/apl    this checkout (pip install <repo root>) + flake8, ruff, py-spy, psutil, matplotlib
  .venvs/async  flake8 + flake8-async        (same flake8, pycodestyle, pyflakes, mccabe pins)
  .venvs/bare   flake8 only
  .corpus/packages/NAME-VERSION   sdists of pinned PyPI releases (pip download --no-binary :all:)
  .corpus/apps/app-N              generated FastAPI apps (generate_app.py, fixed seed)
and then runs each comparison A/B, alternating the order every round (ABBA), several rounds,
reporting medians and the per-round A/B ratio. It prints a table, writes
benchmarks/results/latest.json (+ latest.md) and docs/img/performance-scaling.png.

Wall time is measured around the child process; peak memory is both the child's ru_maxrss
(largest single process, from wait4) and the sampled sum of RSS over the process tree (psutil,
every 50 ms), since the CLI parses in a process pool.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".venvs"
RESULTS = HERE / "results"
PLOT = ROOT / "docs" / "img" / "performance-scaling.png"

# -- pins ---------------------------------------------------------------------------------------
FLAKE8_PINS = ["flake8==7.5.0", "pycodestyle==2.15.0", "pyflakes==4.1.0", "mccabe==0.7.0"]
FLAKE8_ASYNC_PIN = "flake8-async==26.8.1"
RUFF_PIN = "ruff==0.17.6"
TOOL_PINS = ["py-spy==0.4.3", "psutil==7.2.2", "matplotlib==3.11.2"]
CORPUS = [  # (name, version): sdists from PyPI
    ("fastapi", "0.165.0"),
    ("starlette", "1.10.0"),
    ("pydantic", "2.14.4"),
    ("sqlalchemy", "2.1.9"),
    ("httpx", "0.28.1"),
    ("requests", "2.34.2"),
    ("django", "5.2.19"),
]
QUICK_CORPUS = ["starlette", "httpx", "requests"]
# flake8-async parses every file with libcst several times and runs at a few hundred lines a
# second, so the flake8 comparisons use a subset of the corpus: real async code plus a small app.
FLAKE8_SET = ["starlette", "httpx", "requests"]
APP_SEED = 20240601
APP_SIZES = [100, 1000, 5000]
QUICK_APP_SIZES = [100, 300]


# -- setup --------------------------------------------------------------------------------------
def venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def sh(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(str(part) for part in cmd), flush=True)
    subprocess.run([str(part) for part in cmd], check=True, **kwargs)  # type: ignore[arg-type]


def make_venv(name: str, packages: list[str], force_root: bool = False) -> None:
    python = venv_python(name)
    if not python.exists():
        sh([sys.executable, "-m", "venv", VENVS / name])
        sh([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    marker = VENVS / name / "bench-pins.txt"
    wanted = "\n".join(sorted(packages))
    if not marker.exists() or marker.read_text() != wanted:
        sh([python, "-m", "pip", "install", "-q", *packages])
        marker.write_text(wanted)
    if force_root:  # always measure the checkout as it is now
        sh([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", ROOT])
        sh([python, "-m", "pip", "install", "-q", ROOT])
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (VENVS / name / "bench-installed.txt").write_text(
            f"{head}{' + uncommitted src edits' if dirty else ''}, installed {stamp}\n"
        )


def setup_venvs(reinstall: bool = True) -> None:
    VENVS.mkdir(parents=True, exist_ok=True)
    make_venv("apl", [*FLAKE8_PINS, RUFF_PIN, *TOOL_PINS], force_root=reinstall)
    make_venv("async", [*FLAKE8_PINS, FLAKE8_ASYNC_PIN])
    make_venv("bare", list(FLAKE8_PINS))


def setup_corpus(workdir: Path, names: list[str], folder: str = "packages") -> dict[str, Path]:
    downloads = workdir / "downloads"
    packages = workdir / folder
    downloads.mkdir(parents=True, exist_ok=True)
    packages.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name, version in CORPUS:
        if name not in names:
            continue
        target = packages / f"{name}-{version}"
        if not target.exists():
            archive = _find_archive(downloads, name, version)
            if archive is None:
                sh(
                    [
                        venv_python("apl"),
                        "-m",
                        "pip",
                        "download",
                        "-q",
                        "--no-deps",
                        "--no-binary",
                        ":all:",
                        "-d",
                        downloads,
                        f"{name}=={version}",
                    ]
                )
                archive = _find_archive(downloads, name, version)
            if archive is None:
                raise SystemExit(f"could not download {name}=={version}")
            _unpack(archive, packages, target)
        found[name] = target
    return found


def _find_archive(folder: Path, name: str, version: str) -> Path | None:
    for path in sorted(folder.iterdir()):
        stem = path.name.lower().replace("_", "-")
        if stem.startswith(f"{name.lower()}-{version}") and path.name.endswith((".tar.gz", ".zip")):
            return path
    return None


def _unpack(archive: Path, packages: Path, target: Path) -> None:
    scratch = packages / ".unpack"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(scratch)
    else:
        with tarfile.open(archive) as handle:
            handle.extractall(scratch, filter="data")
    (top,) = list(scratch.iterdir())
    top.rename(target)
    scratch.rmdir()


def setup_apps(workdir: Path, sizes: list[int]) -> dict[int, Path]:
    sys.path.insert(0, str(HERE))
    from generate_app import write_app

    apps: dict[int, Path] = {}
    for size in sizes:
        out = workdir / "apps" / f"app-{size}"
        manifest = out / "manifest.json"
        if not (manifest.exists() and json.loads(manifest.read_text()).get("seed") == APP_SEED):
            print(f"+ generate_app.py --seed {APP_SEED} --modules {size} --out {out}", flush=True)
            write_app(APP_SEED, size, out)
        apps[size] = out
    return apps


def prepare_workdir(workdir: Path) -> None:
    """The repository's .gitignore excludes benchmarks/.corpus, and both linters honour
    .gitignore files: make the corpus its own git repository and re-include its files."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / ".git").exists():
        subprocess.run(["git", "init", "-q", str(workdir)], check=False)
    (workdir / ".gitignore").write_text(
        "# benchmark corpus: its own repository; re-include everything for the linters\n!*\n"
    )


# -- measuring ----------------------------------------------------------------------------------
@dataclass
class Run:
    seconds: float
    maxrss_mb: float  # largest single process
    tree_mb: float  # sampled sum over the process tree
    code: int
    stdout: str = ""


def measure(cmd: list[str | Path], cwd: Path | None = None, ok: tuple[int, ...] = (0, 1)) -> Run:
    import psutil

    args = [str(part) for part in cmd]
    started = time.perf_counter()
    # Installed tools run from byte-code, as they do for users: a shell that sets
    # PYTHONDONTWRITEBYTECODE would make every measured run compile its modules afresh. Read
    # at each run: main() points XDG_CACHE_HOME into the workdir after import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    process = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    peak = 0
    chunks: list[bytes] = []
    # drain stdout in a thread so a chatty child never blocks on a full pipe
    import threading

    def drain(stream, sink):  # type: ignore[no-untyped-def]
        for block in iter(lambda: stream.read(65536), b""):
            sink.append(block)

    errors: list[bytes] = []
    threads = [
        threading.Thread(target=drain, args=(process.stdout, chunks), daemon=True),
        threading.Thread(target=drain, args=(process.stderr, errors), daemon=True),
    ]
    for thread in threads:
        thread.start()
    parent = psutil.Process(process.pid)
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        try:
            total = parent.memory_info().rss
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for thread in threads:
        thread.join()
    code = process.returncode
    if code not in ok:
        sys.stderr.write(b"".join(errors).decode(errors="replace")[-3000:])
        raise SystemExit(f"command failed ({code}): {' '.join(args)}")
    maxrss = usage.ru_maxrss / 1024
    return Run(
        elapsed, maxrss, max(peak / 2**20, maxrss), code, b"".join(chunks).decode(errors="replace")
    )


def clear_caches(*roots: Path) -> None:
    # Our cache lives in the user cache folder, which main() points into the workdir.
    user_cache = os.environ.get("XDG_CACHE_HOME")
    if user_cache:
        shutil.rmtree(Path(user_cache) / "async-pitfalls-lint", ignore_errors=True)
    for root in roots:
        for folder, dirs, _ in os.walk(root):
            for name in list(dirs):
                if name in (".async_pitfalls_lint_cache", ".ruff_cache"):
                    shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
                    dirs.remove(name)
                elif name in (".git",):
                    dirs.remove(name)


@dataclass
class Comparison:
    name: str
    a_label: str
    b_label: str
    a: list[Run] = field(default_factory=list)
    b: list[Run] = field(default_factory=list)
    note: str = ""

    def ratios(self) -> list[float]:
        return [x.seconds / y.seconds for x, y in zip(self.a, self.b, strict=True)]

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "a": self.a_label,
            "b": self.b_label,
            "a_seconds": [round(r.seconds, 3) for r in self.a],
            "b_seconds": [round(r.seconds, 3) for r in self.b],
            "a_median": round(statistics.median(r.seconds for r in self.a), 3),
            "b_median": round(statistics.median(r.seconds for r in self.b), 3),
            "ratios": [round(x, 3) for x in self.ratios()],
            "median_ratio": round(statistics.median(self.ratios()), 3),
            "a_peak_tree_mb": round(max(r.tree_mb for r in self.a), 1),
            "b_peak_tree_mb": round(max(r.tree_mb for r in self.b), 1),
            "a_peak_process_mb": round(max(r.maxrss_mb for r in self.a), 1),
            "b_peak_process_mb": round(max(r.maxrss_mb for r in self.b), 1),
            "note": self.note,
        }


def ab(
    name: str, a_label: str, b_label: str, rounds: int, run_a, run_b, note: str = ""
) -> Comparison:  # type: ignore[no-untyped-def]
    """Alternate A and B (ABBA...) for `rounds` rounds; print each round as it lands."""
    comparison = Comparison(name, a_label, b_label, note=note)
    for index in range(rounds):
        if index % 2 == 0:
            first = run_a()
            second = run_b()
            comparison.a.append(first)
            comparison.b.append(second)
        else:
            second = run_b()
            first = run_a()
            comparison.b.append(second)
            comparison.a.append(first)
        print(
            f"  [{name}] round {index + 1}: {a_label} {first.seconds:.2f}s  {b_label} "
            f"{second.seconds:.2f}s  ratio {first.seconds / second.seconds:.2f}",
            flush=True,
        )
    return comparison


def group(name: str, rounds: int, runners: dict) -> dict[str, list[Run]]:  # type: ignore[type-arg]
    """Run several commands once per round, the order reversed every other round."""
    runs: dict[str, list[Run]] = {label: [] for label in runners}
    for index in range(rounds):
        order = list(runners) if index % 2 == 0 else list(reversed(runners))
        for label in order:
            runs[label].append(runners[label]())
        print(
            f"  [{name}] round {index + 1}: "
            + "  ".join(f"{label} {runs[label][-1].seconds:.2f}s" for label in runners),
            flush=True,
        )
    return runs


def bin_(venv: str, tool: str) -> Path:
    return VENVS / venv / "bin" / tool


def add_statement(path: Path, counter: list[int]) -> None:
    """Change one file's facts: one more statement at the top of its first async function's
    body (an editor's usual edit; the edit of the round before is taken back first)."""
    counter[0] += 1
    text = re.sub(r"\n[ ]+_bench_edit = \d+\n", "\n", path.read_text(encoding="utf-8"))
    start = text.index("async def ")
    body = text.index(":\n", start) + 2
    path.write_text(f"{text[:body]}    _bench_edit = {counter[0]}\n{text[body:]}", encoding="utf-8")


def touch(path: Path, counter: list[int]) -> None:
    """Change one file's content (a new comment line) so its cache entry misses."""
    counter[0] += 1
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\n# bench-touch \d+\n$", "\n", text)
    path.write_text(text + f"# bench-touch {counter[0]}\n", encoding="utf-8")


# -- the comparisons ----------------------------------------------------------------------------
def flake8_comparisons(targets: list[Path], rounds: int, cwd: Path) -> list[Comparison]:
    out = []
    apl = [bin_("apl", "flake8"), "--select=APL", "--exit-zero"]
    asy = [bin_("async", "flake8"), "--select=ASYNC", "--exit-zero"]
    bare = [bin_("bare", "flake8"), "--select=E9", "--exit-zero"]

    def cold(cmd):  # type: ignore[no-untyped-def]
        def go() -> Run:
            clear_caches(*targets)
            return measure([*cmd, *targets], cwd)

        return go

    def plain(cmd):  # type: ignore[no-untyped-def]
        return lambda: measure([*cmd, *targets], cwd)

    for jobs in ("1", "auto"):
        out.append(
            ab(
                f"flake8 --jobs={jobs}: APL vs flake8-async",
                "APL",
                "ASYNC",
                rounds,
                cold([*apl, f"--jobs={jobs}"]),
                plain([*asy, f"--jobs={jobs}"]),
                note="our plugin with an empty disk cache",
            )
        )
    out.append(
        ab(
            "flake8 marginal cost, cold cache",
            "APL",
            "bare flake8",
            rounds,
            cold(apl),
            plain(bare),
            note="--select=E9 in a venv with no extra plugin; default jobs",
        )
    )
    clear_caches(*targets)
    measure([*apl, *targets], cwd)  # warm the disk cache
    out.append(
        ab(
            "flake8 marginal cost, warm cache",
            "APL",
            "bare flake8",
            rounds,
            plain(apl),
            plain(bare),
            note="unchanged files, disk cache filled by a previous run",
        )
    )
    return out


def ruff_command(workdir: Path) -> list[str | Path]:
    """ruff's ASYNC rules, with a cache of the run's own, on ignored folders too (the corpus)."""
    return [
        bin_("apl", "ruff"),
        "check",
        "--select",
        "ASYNC",
        "--exit-zero",
        "-q",
        "--cache-dir",
        workdir / "ruff-cache",
        "--no-respect-gitignore",
    ]


COLD_RUNS: dict[Path, list[Run]] = {}  # CLI cold runs already measured, reused by scaling()


def cli_comparisons(
    label: str,
    target: Path,
    rounds: int,
    jobs: int,
    changed: Path | None,
    workdir: Path,
    cold_rounds: int | None = None,
) -> list[Comparison]:
    cli = [bin_("apl", "async-pitfalls-lint"), "check", "-q", "--exit-zero", f"--jobs={jobs}"]
    ruff = ruff_command(workdir)
    parse = [venv_python("apl"), HERE / "parse_baseline.py", f"--jobs={jobs}"]
    out = []

    def cli_cold() -> Run:
        clear_caches(target)
        return measure([*cli, target], target)

    cold = group(
        label + " cold",
        cold_rounds if cold_rounds is not None else rounds,
        {
            "CLI cold": cli_cold,
            "parse all": lambda: measure([*parse, "--filter", "all", target]),
            "parse async": lambda: measure([*parse, "--filter", "async", target]),
            "ruff --no-cache": lambda: measure([*ruff, "--no-cache", target], target),
        },
    )
    COLD_RUNS[target] = cold["CLI cold"]
    pairs = (
        ("parse all", "libcst parse (all files)"),
        ("parse async", "libcst parse (files with async/Depends)"),
        ("ruff --no-cache", "ruff --no-cache"),
    )
    for other, what in pairs if cold["CLI cold"] else ():  # 0 rounds: the group comes from --resume
        out.append(
            Comparison(
                f"{label}: CLI cold vs {what}",
                "CLI cold",
                other,
                cold["CLI cold"],
                cold[other],
                note="same rounds: the four commands alternate, order reversed every round",
            )
        )
    measure([*cli, target], target)  # fills whatever the cold rounds left missing
    measure([*ruff, target], target)
    out.append(
        ab(
            f"{label}: CLI warm vs ruff warm",
            "CLI warm",
            "ruff warm",
            rounds,
            lambda: measure([*cli, target], target),
            lambda: measure([*ruff, target], target),
            note="no file changed",
        )
    )
    if changed is not None:
        counter = [0]
        original = changed.read_text(encoding="utf-8")

        def cli_changed() -> Run:
            touch(changed, counter)
            return measure([*cli, target], target)

        def ruff_changed() -> Run:
            touch(changed, counter)
            return measure([*ruff, target], target)

        try:
            out.append(
                ab(
                    f"{label}: one file changed, CLI vs ruff (warm)",
                    "CLI 1 changed",
                    "ruff 1 changed",
                    rounds,
                    cli_changed,
                    ruff_changed,
                    note=f"changed: {changed.relative_to(target)}",
                )
            )
        finally:
            changed.write_text(original, encoding="utf-8")
    return out


def edited_router(app: Path) -> Path:
    """The router module the "one file changed" measurements edit: the first (by name) with
    async routes, so the edit lands in event-loop code the analysis must look at again (the
    generator pads apps to their exact module count with near-empty modules)."""
    folder = app / "app" / "routers"
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if name.endswith(".py") and "async def" in path.read_text(encoding="utf-8"):
            return path
    raise SystemExit(f"no router with async routes in {folder}")


def editor_comparisons(target: Path, rounds: int, workdir: Path) -> list[Comparison]:
    """The editor loop: one router of the largest app edited (a comment line appended, as a
    save does), then only that file re-checked: `check FILE` against ruff on the same file,
    and `flake8 FILE` with our plugin against bare flake8 on it. The disk cache is warm (one
    run of the whole app first), as it is in an editor session."""
    changed = edited_router(target)
    relative = changed.relative_to(target)
    cli = [bin_("apl", "async-pitfalls-lint"), "check", "-q", "--exit-zero"]
    ruff = ruff_command(workdir)
    apl_flake8 = [bin_("apl", "flake8"), "--select=APL", "--exit-zero"]
    bare_flake8 = [bin_("bare", "flake8"), "--select=E9", "--exit-zero"]
    measure([*cli, "."], target)  # fills the disk cache, as an editor session's first check
    measure([*ruff, "."], target)
    counter = [0]
    original = changed.read_text(encoding="utf-8")

    def edited(cmd: list[str | Path], edit: Callable[[Path, list[int]], None]) -> Callable[[], Run]:
        def go() -> Run:
            edit(changed, counter)
            return measure([*cmd, relative], target)

        return go

    comparisons = []
    try:
        for label, edit in (("a comment", touch), ("a statement", add_statement)):
            note = f"changed ({label} added) and checked: {relative}; cache warm"
            comparisons.append(
                ab(
                    f"{target.name}: one file changed ({label}), check FILE vs ruff FILE",
                    "CLI check FILE",
                    "ruff FILE",
                    rounds,
                    edited(cli, edit),
                    edited(ruff, edit),
                    note=note,
                )
            )
            comparisons.append(
                ab(
                    f"{target.name}: one file changed ({label}), flake8 FILE: APL vs bare flake8",
                    "APL flake8 FILE",
                    "bare flake8 FILE",
                    rounds,
                    edited(apl_flake8, edit),
                    edited(bare_flake8, edit),
                    note=note,
                )
            )
        return comparisons
    finally:
        changed.write_text(original, encoding="utf-8")


def startup(rounds: int) -> float:
    runs = [
        measure([bin_("apl", "async-pitfalls-lint"), "--version"], ok=(0,)) for _ in range(rounds)
    ]
    return statistics.median(run.seconds for run in runs)


def scaling(apps: dict[int, Path], rounds: int, jobs: int) -> list[dict[str, object]]:
    cli = [bin_("apl", "async-pitfalls-lint"), "check", "-q", "--exit-zero", f"--jobs={jobs}"]
    rows = []
    for size, target in sorted(apps.items()):
        runs = list(COLD_RUNS.get(target, []))
        while len(runs) < rounds:
            clear_caches(target)
            runs.append(measure([*cli, target], target))
        one = [measure([*cli[:-1], "--jobs=1", "--no-cache", target], target)]
        row = {
            "modules": size,
            "lines": json.loads((target / "manifest.json").read_text())["lines"],
            "seconds": [round(r.seconds, 3) for r in runs],
            "median_seconds": round(statistics.median(r.seconds for r in runs), 3),
            "peak_tree_mb": round(max(r.tree_mb for r in runs), 1),
            "peak_process_mb": round(max(r.maxrss_mb for r in runs), 1),
            "jobs1_seconds": round(one[0].seconds, 3),
            "jobs1_peak_mb": round(one[0].maxrss_mb, 1),
        }
        print(
            f"  [scaling] {size} modules: {row['median_seconds']}s, peak {row['peak_tree_mb']} MB "
            f"(tree), {row['peak_process_mb']} MB (largest process); --jobs=1 "
            f"{row['jobs1_seconds']}s {row['jobs1_peak_mb']} MB",
            flush=True,
        )
        rows.append(row)
    return rows


def scope_comparison(target: Path, rounds: int, jobs: int) -> Comparison:
    cli = [
        bin_("apl", "async-pitfalls-lint"),
        "check",
        "-q",
        "--exit-zero",
        "--no-cache",
        f"--jobs={jobs}",
    ]
    return ab(
        "cross-module analysis: --scope fastapi vs --scope all",
        "scope fastapi",
        "scope all",
        rounds,
        lambda: measure([*cli, "--scope", "fastapi", target], target),
        lambda: measure([*cli, "--scope", "all", target], target),
        note=f"{target.name}, --no-cache",
    )


# -- profiling ----------------------------------------------------------------------------------
def profile(cmd: list[str | Path], cwd: Path, name: str, top: int = 15) -> dict[str, object]:
    raw = RESULTS / f"profile-{name}.txt.tmp"
    RESULTS.mkdir(parents=True, exist_ok=True)
    args = [
        bin_("apl", "py-spy"),
        "record",
        "--format",
        "raw",
        "--rate",
        "250",
        "--subprocesses",
        "-o",
        raw,
        "--",
        *cmd,
    ]
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if not raw.exists():
        return {"error": (result.stderr or result.stdout)[-2000:]}
    own: dict[str, int] = {}
    total_in: dict[str, int] = {}
    samples = 0
    frame = re.compile(r"^(?P<fn>.*) \((?P<file>.*?)(?::\d+)?\)$")
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = []
        for part in stack.split(";"):
            match = frame.match(part.strip())
            if match is None:
                continue
            frames.append(f"{_short_path(match['file'])}:{match['fn']}")
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for key in set(frames):
            total_in[key] = total_in.get(key, 0) + count
    raw.unlink()

    def table(counts: dict[str, int]) -> list[dict[str, object]]:
        best = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [
            {"function": key, "samples": value, "percent": round(100 * value / max(samples, 1), 1)}
            for key, value in best
        ]

    ours = {k: v for k, v in total_in.items() if "async_pitfalls_lint/" in k}
    return {"samples": samples, "self": table(own), "inclusive_ours": table(ours)}


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "lib/python3" and "/" in tail else tail
    return path


# -- report -------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    def out(cmd: list[str | Path]) -> str:
        return subprocess.run(
            [str(c) for c in cmd], capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "python": platform.python_version(),
        "async-pitfalls-lint": out([bin_("apl", "async-pitfalls-lint"), "--version"]).split()[-1],
        "commit": _installed(),
        "flake8 (apl venv)": out([bin_("apl", "flake8"), "--version"]).replace("\n", " "),
        "flake8 (async venv)": out([bin_("async", "flake8"), "--version"]).replace("\n", " "),
        "flake8 (bare venv)": out([bin_("bare", "flake8"), "--version"]).replace("\n", " "),
        "ruff": out([bin_("apl", "ruff"), "--version"]),
        "libcst": out(
            [
                venv_python("apl"),
                "-c",
                "import libcst,importlib.metadata as m;print(m.version('libcst'))",
            ]
        ),
    }


def _installed() -> str:
    """The revision of the checkout installed in the apl venv (it may predate HEAD with --keep-install)."""
    stamp = VENVS / "apl" / "bench-installed.txt"
    return stamp.read_text().strip() if stamp.exists() else "unknown"


def machine() -> dict[str, object]:
    info: dict[str, object] = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def count_files(*roots: Path) -> tuple[int, int]:
    files = lines = 0
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("__pycache__",)]
            for name in names:
                if name.endswith(".py"):
                    files += 1
                    with open(os.path.join(folder, name), "rb") as handle:
                        lines += handle.read().count(b"\n")
    return files, lines


def render_markdown(result: dict[str, object]) -> str:
    lines = [
        f"Run {result['date']} on {result['machine']['cpus']} CPUs "
        f"({result['machine'].get('cpu', '?')}, {result['machine'].get('memory_gb', '?')} GB), "
        f"{result['rounds']} rounds, commit {result['versions']['commit']}.",
        "",
    ]
    lines += [
        "| comparison | A | B | A median (s) | B median (s) | A/B per round | A/B median |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for c in result["comparisons"]:
        per_round = ", ".join(f"{r:.2f}" for r in c["ratios"])
        lines.append(
            f"| {c['name']} | {c['a']} | {c['b']} | {c['a_median']:.2f} | {c['b_median']:.2f} "
            f"| {per_round} | **{c['median_ratio']:.2f}** |"
        )
    lines += [
        "",
        "| generated app | lines | CLI cold median (s) | peak RSS, process tree (MB) "
        "| peak RSS, largest process (MB) | --jobs=1 --no-cache (s) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["scaling"]:
        lines.append(
            f"| {row['modules']} modules | {row['lines']} | {row['median_seconds']:.2f} "
            f"| {row['peak_tree_mb']:.0f} | {row['peak_process_mb']:.0f} | {row['jobs1_seconds']:.2f} |"
        )
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'met' if t['met'] else '**missed**'} |")
    return "\n".join(lines) + "\n"


def targets(result: dict[str, object]) -> list[dict[str, object]]:
    comps = {c["name"]: c for c in result["comparisons"]}
    out: list[dict[str, object]] = []

    def find(fragment: str) -> list[dict[str, object]]:
        return [c for name, c in comps.items() if fragment in name]

    for c in find("APL vs flake8-async"):
        out.append(
            {
                "target": f"{c['name']}: ≤ 1.0x",
                "measured": f"{c['median_ratio']:.2f}x",
                "met": c["median_ratio"] <= 1.0,
            }
        )
    for c, limit in ((find("marginal cost, cold"), 0.5), (find("marginal cost, warm"), 0.1)):
        for item in c:
            added = item["a_median"] / item["b_median"] - 1
            out.append(
                {
                    "target": f"{item['name']}: added ≤ {limit:.0%} of bare flake8",
                    "measured": f"+{added:.0%} ({item['a_median']:.2f}s vs {item['b_median']:.2f}s)",
                    "met": added <= limit,
                }
            )
    for c in find("CLI cold vs libcst parse"):
        out.append(
            {
                "target": f"{c['name']}: ≤ 1.3x",
                "measured": f"{c['median_ratio']:.2f}x",
                "met": c["median_ratio"] <= 1.3,
            }
        )
    for c in find("CLI warm vs ruff warm"):
        out.append(
            {
                "target": f"{c['name']}: ≤ 3x",
                "measured": f"{c['median_ratio']:.2f}x",
                "met": c["median_ratio"] <= 3.0,
            }
        )
    start = result["startup_seconds"]
    for c in find("flake8 FILE: APL vs bare flake8"):
        analysis = c["a_median"] - c["b_median"]
        out.append(
            {
                "target": f"{c['name']}: analysis ≤ 0.5 s",
                "measured": f"{analysis:.2f}s ({c['a_median']:.2f}s - {c['b_median']:.2f}s of bare flake8)",
                "met": analysis <= 0.5,
            }
        )
    for c in find("one file changed"):
        if "flake8 FILE" in c["name"]:
            continue
        analysis = c["a_median"] - start
        out.append(
            {
                "target": f"{c['name']}: analysis ≤ 0.5 s",
                "measured": f"{analysis:.2f}s ({c['a_median']:.2f}s wall - {start:.2f}s start-up)",
                "met": analysis <= 0.5,
            }
        )
    rows = result["scaling"]
    if rows:
        big = rows[-1]
        out.append(
            {
                "target": f"CLI peak memory on the {big['modules']}-module app < 500 MB",
                "measured": f"{big['peak_tree_mb']:.0f} MB process tree, {big['peak_process_mb']:.0f} MB "
                f"largest process",
                "met": big["peak_tree_mb"] < 500,
            }
        )
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        ratio_size = last["lines"] / first["lines"]
        growth_t = (last["median_seconds"] - result["startup_seconds"]) / max(
            first["median_seconds"] - result["startup_seconds"], 1e-3
        )
        per = [(r["median_seconds"] - start) / r["lines"] * 1e6 for r in rows]
        out.append(
            {
                "target": "linear growth of time (ms per 1,000 lines, start-up excluded)",
                "measured": " → ".join(f"{p:.0f}" for p in per)
                + f" (size x{ratio_size:.0f}, time x{growth_t:.1f})",
                "met": per[-1] <= per[-2] * 1.25,
            }
        )
        mem = [r["peak_process_mb"] for r in rows]
        mem_per = [
            (m - mem[0]) / max(r["lines"] - first["lines"], 1) * 1000
            for m, r in zip(mem[1:], rows[1:], strict=True)
        ]
        out.append(
            {
                "target": "linear growth of peak memory (MB per 1,000 lines above the smallest app)",
                "measured": " → ".join(f"{p:.2f}" for p in mem_per) or "n/a",
                "met": len(mem_per) < 2 or mem_per[-1] <= mem_per[0] * 1.25 + 0.05,
            }
        )
    return out


DOC = ROOT / "docs" / "performance.md"
DOC_START, DOC_END = "<!-- results:start (written by benchmarks/run.py) -->", "<!-- results:end -->"


def profile_markdown(title: str, data: dict[str, object]) -> str:
    if "error" in data:
        return f"{title}: py-spy failed: {data['error'][:300]}\n"
    lines = [
        f"{title} ({data['samples']} samples). Own time (top 15):",
        "",
        "| # | file:function | samples | % |",
        "|---:|---|---:|---:|",
    ]
    for index, row in enumerate(data["self"], 1):
        lines.append(f"| {index} | `{row['function']}` | {row['samples']} | {row['percent']} |")
    lines += [
        "",
        "Inclusive time in async_pitfalls_lint functions (top 15):",
        "",
        "| # | file:function | samples | % |",
        "|---:|---|---:|---:|",
    ]
    for index, row in enumerate(data["inclusive_ours"], 1):
        lines.append(f"| {index} | `{row['function']}` | {row['samples']} | {row['percent']} |")
    return "\n".join(lines) + "\n"


def update_docs(result: dict[str, object], markdown: str) -> None:
    """Replace the generated block of docs/performance.md with this run's tables."""
    if not DOC.exists():
        return
    text = DOC.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        return
    v = result["versions"]
    corpora = result["corpora"]
    block = [
        DOC_START,
        "",
        f"### Latest run: {result['date'][:10]}",
        "",
        f"Machine: {result['machine'].get('cpu', '?')}, {result['machine']['cpus']} CPUs, "
        f"{result['machine'].get('memory_gb', '?')} GB, {result['machine']['platform']}; shared and busy. "
        f"async-pitfalls-lint {v['async-pitfalls-lint']} (installed from {v['commit']}), "
        f"Python {v['python']}, libcst {v['libcst']}, {v['ruff']}, "
        f"flake8 venvs: `{v['flake8 (async venv)']}`. Rounds: {result['rounds']} "
        f"({result['flake8_rounds']} for the flake8 comparisons), jobs {result['jobs']}. "
        f"Package corpus: {corpora['packages']['files']} files, {corpora['packages']['lines']} lines; "
        f"flake8 set: {corpora['flake8_set']['files']} files, {corpora['flake8_set']['lines']} lines. "
        f"CLI start-up (`--version`): {result['startup_seconds']:.2f} s.",
        "",
        markdown,
        "![time and peak memory vs generated app size](img/performance-scaling.png)",
        "",
    ]
    if "profile_cli" in result:
        block.append(
            profile_markdown(
                "CLI, `check --jobs=1 --no-cache` on the largest generated app",
                result["profile_cli"],
            )
        )
    if "profile_flake8" in result:
        block.append(
            profile_markdown(
                "flake8 `--select=APL --jobs=1`, cold cache, on the flake8 set "
                "(pycodestyle and pyflakes included)",
                result["profile_flake8"],
            )
        )
    block.append(DOC_END)
    before, rest = text.split(DOC_START, 1)
    after = rest.split(DOC_END, 1)[1]
    DOC.write_text(before + "\n".join(block) + after, encoding="utf-8")


def plot(result: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["scaling"]
    if not rows:
        return
    x = [r["modules"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(
        x, [r["median_seconds"] for r in rows], "o-", label=f"CLI cold, --jobs={result['jobs']}"
    )
    left.plot(x, [r["jobs1_seconds"] for r in rows], "s--", label="CLI --jobs=1 --no-cache")
    left.set_xlabel("generated modules")
    left.set_ylabel("wall time (s)")
    left.set_title("time vs corpus size")
    left.grid(True, alpha=0.3)
    left.legend()
    right.plot(x, [r["peak_tree_mb"] for r in rows], "o-", label="peak RSS, process tree")
    right.plot(x, [r["peak_process_mb"] for r in rows], "s--", label="peak RSS, largest process")
    right.axhline(500, color="red", linestyle=":", label="target 500 MB")
    right.set_xlabel("generated modules")
    right.set_ylabel("MB")
    right.set_title("peak memory vs corpus size")
    right.grid(True, alpha=0.3)
    right.legend()
    fig.suptitle(
        f"async-pitfalls-lint {result['versions']['async-pitfalls-lint']} "
        f"({result['versions']['commit']}), {result['date'][:10]}"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="async-pitfalls-lint performance benchmark")
    parser.add_argument(
        "--quick", action="store_true", help="small smoke run: 3 packages, apps of 100 and 300"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="A/B rounds per comparison (default 3, quick 2)"
    )
    parser.add_argument(
        "--flake8-rounds", type=int, default=None, help="rounds for the slow flake8 comparisons"
    )
    parser.add_argument(
        "--package-rounds",
        type=int,
        default=None,
        help="rounds of the cold CLI group on the package corpus (slowest; 0 = take it from --resume)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="a JSON result whose comparisons are kept (for sections skipped in this run)",
    )
    parser.add_argument("--workdir", type=Path, default=HERE / ".corpus")
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of: flake8,cli,corpus-cli,editor,scaling,scope,profile",
    )
    parser.add_argument(
        "--editor",
        action="store_true",
        help="only the editor loop on the largest app (check FILE, flake8 FILE): a few minutes",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON result (default results/latest.json)"
    )
    parser.add_argument(
        "--docs-only",
        type=Path,
        default=None,
        help="only redraw the plot and docs/performance.md from a JSON result",
    )
    parser.add_argument(
        "--keep-install",
        action="store_true",
        help="measure the checkout installed by a previous run (no reinstall)",
    )
    parser.add_argument("--in-venv", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (
        not args.in_venv
    ):  # set up, then run the measurements inside the apl venv (psutil, matplotlib)
        if args.docs_only is None or not venv_python("apl").exists():
            setup_venvs(reinstall=not args.keep_install)
        os.execv(
            str(venv_python("apl")),
            [str(venv_python("apl")), __file__, *(argv or sys.argv[1:]), "--in-venv"],
        )
    if args.docs_only is not None:
        result = json.loads(args.docs_only.read_text(encoding="utf-8"))
        plot(result, PLOT)
        update_docs(result, render_markdown(result))
        return 0
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    if args.editor:
        skip |= {"flake8", "cli", "corpus-cli", "scaling", "scope", "profile"}
        skip.discard("editor")
    rounds = args.rounds or (2 if args.quick else 3)
    flake8_rounds = args.flake8_rounds or rounds
    jobs = os.cpu_count() or 1
    workdir = args.workdir.resolve()
    prepare_workdir(workdir)
    # The tool's cache (user cache folder) and its secret (user config folder): the run's own.
    os.environ["XDG_CACHE_HOME"] = str(workdir / "user-cache")
    os.environ["XDG_CONFIG_HOME"] = str(workdir / "user-config")
    names = QUICK_CORPUS if args.quick else [name for name, _ in CORPUS]
    if args.editor:
        names = QUICK_CORPUS  # the editor mode measures the app alone; the corpus stays small
    packages = setup_corpus(
        workdir, names, "packages-quick" if args.quick or args.editor else "packages"
    )
    sizes = QUICK_APP_SIZES if args.quick else APP_SIZES
    apps = setup_apps(workdir, [max(APP_SIZES)] if args.editor else sizes)
    smallest, largest = apps[min(apps)], apps[max(apps)]
    packages_root = next(iter(packages.values())).parent
    for name in list(packages_root.iterdir()):  # only the pinned packages take part (drop old pins)
        if name.is_dir() and name not in packages.values():
            shutil.rmtree(name)
    result: dict[str, object] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "quick": args.quick,
        "rounds": rounds,
        "flake8_rounds": flake8_rounds,
        "jobs": jobs,
        "pins": {
            "corpus": dict(CORPUS),
            "flake8": FLAKE8_PINS,
            "flake8-async": FLAKE8_ASYNC_PIN,
            "ruff": RUFF_PIN,
            "app_seed": APP_SEED,
        },
    }
    corpus_files, corpus_lines = count_files(*packages.values())
    flake8_targets = [packages[name] for name in FLAKE8_SET if name in packages] + [smallest]
    f8_files, f8_lines = count_files(*flake8_targets)
    result["corpora"] = {
        "packages": {"files": corpus_files, "lines": corpus_lines, "names": sorted(packages)},
        "flake8_set": {
            "files": f8_files,
            "lines": f8_lines,
            "paths": [p.name for p in flake8_targets],
        },
        "apps": {str(size): count_files(path)[0] for size, path in apps.items()},
    }
    print(json.dumps(result, indent=1), flush=True)
    result["startup_seconds"] = round(startup(5), 3)
    comparisons: list[Comparison] = []
    kept: list[dict[str, object]] = []
    if args.resume is not None:
        previous = json.loads(args.resume.read_text(encoding="utf-8"))
        kept = list(previous.get("comparisons", []))
        result["resumed_from"] = {
            "file": args.resume.name,
            "date": previous.get("date"),
            "comparisons": [c["name"] for c in kept],
        }
    default_name = "quick.json" if args.quick else "editor.json" if args.editor else "latest.json"
    output = args.output or (RESULTS / default_name)

    def save_partial() -> None:
        result["comparisons"] = kept + [c.summary() for c in comparisons]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.with_suffix(".partial.json.tmp").write_text(json.dumps(result, indent=2) + "\n")

    if "flake8" not in skip:
        print(f"== flake8 on {f8_files} files ({f8_lines} lines)", flush=True)
        comparisons += flake8_comparisons(flake8_targets, flake8_rounds, workdir)
        save_partial()
    changed = edited_router(largest)
    if "corpus-cli" not in skip:
        print(
            f"== CLI on the package corpus ({corpus_files} files, {corpus_lines} lines)", flush=True
        )
        comparisons += cli_comparisons(
            "packages", packages_root, rounds, jobs, None, workdir, cold_rounds=args.package_rounds
        )
        save_partial()
    if "cli" not in skip:
        print(f"== CLI on {largest.name}", flush=True)
        comparisons += cli_comparisons(largest.name, largest, rounds, jobs, changed, workdir)
        save_partial()
    if "editor" not in skip:
        print(f"== editor loop on {largest.name}", flush=True)
        comparisons += editor_comparisons(largest, rounds, workdir)
        save_partial()
    if "scope" not in skip:
        print(f"== --scope on {largest.name}", flush=True)
        comparisons.append(scope_comparison(largest, rounds, jobs))
    result["comparisons"] = kept + [c.summary() for c in comparisons]
    save_partial()
    result["scaling"] = scaling(apps, rounds, jobs) if "scaling" not in skip else []
    if "profile" not in skip:
        print("== profiling (py-spy)", flush=True)
        clear_caches(largest)
        result["profile_cli"] = profile(
            [
                bin_("apl", "async-pitfalls-lint"),
                "check",
                "-q",
                "--exit-zero",
                "--no-cache",
                "--jobs=1",
                largest,
            ],
            largest,
            "cli",
        )
        clear_caches(*flake8_targets)
        result["profile_flake8"] = profile(
            [bin_("apl", "flake8"), "--select=APL", "--exit-zero", "--jobs=1", *flake8_targets],
            workdir,
            "flake8",
        )
        result["profile_flake8"]["note"] = (
            "includes pycodestyle and pyflakes, which run under any --select"
        )
    result["targets"] = targets(result)
    markdown = render_markdown(result)
    print("\n" + markdown, flush=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown, encoding="utf-8")
    if args.editor:
        print(f"wrote {output} and {output.with_suffix('.md')}")
    elif not args.quick:
        plot(result, PLOT)
        update_docs(result, markdown)
        print(f"wrote {output}, {output.with_suffix('.md')}, {PLOT} and {DOC}")
    else:
        plot(result, output.with_suffix(".png"))
        print(f"wrote {output} and {output.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
