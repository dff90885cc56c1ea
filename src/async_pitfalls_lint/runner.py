"""Running a check over many files: parse in parallel, analyse once per project, collect.

Parsing dominates the cost, so files whose facts are not cached are summarised by a pool of
worker processes; the analysis itself (resolution, handlers, chains) then runs in this process
with every module's facts in memory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from async_pitfalls_lint.analysis import Analysis, analysis_for
from async_pitfalls_lint.codec import Codec
from async_pitfalls_lint.config import Settings
from async_pitfalls_lint.files import display_path, iter_python_files
from async_pitfalls_lint.model import FileProblem, FileResult, Finding, ProjectInfo
from async_pitfalls_lint.progress import ProgressLine
from async_pitfalls_lint.project import FACTS_CODEC, fallback_roots, summarise_file
from async_pitfalls_lint.report import INTERNAL_ERROR_PREFIX, Report
from async_pitfalls_lint.results import ResultStore
from async_pitfalls_lint.suppression import remove_suppressed

_PARALLEL_THRESHOLD = 24
RUN_CODEC: Codec[list[FileResult]] = Codec("run", list[FileResult])


@dataclass
class StdinInput:
    filename: str
    text: str


def group_by_project(
    files: Iterable[Path], settings: Settings, fallbacks: Sequence[str] = ()
) -> list[tuple[Analysis, list[Path]]]:
    """Files grouped by the project (and so the shared analysis state) they belong to."""
    groups: dict[int, tuple[Analysis, list[Path]]] = {}
    for file in files:
        analysis = analysis_for(file, settings, fallbacks)
        groups.setdefault(id(analysis), (analysis, []))[1].append(file)
    return list(groups.values())


def check_files(
    paths: Iterable[Path],
    settings: Settings,
    jobs: int = 1,
    stdin: StdinInput | None = None,
    progress: TextIO | None = None,
) -> Report:
    report = Report()
    if stdin is not None:
        report.results.append(_check_stdin(stdin, settings))
        return report
    files = list(iter_python_files(paths, settings.exclude))
    done = 0
    line = ProgressLine(progress, len(files))
    folders = fallback_roots(path for path in paths if os.path.isdir(path))
    for analysis, group in group_by_project(files, settings, folders):
        report.projects.append(project_info(analysis))
        run_key = _run_key(analysis, group)
        cached = _load_run(analysis, run_key)
        if cached is not None:
            report.results.extend(cached)
            done += len(group)
            continue
        store = ResultStore.open(analysis)
        reused = {}
        if store is not None:
            for file in group:
                found = store.get(os.fspath(file))
                if found is not None:
                    reused[file] = found
        warm(analysis, [file for file in group if file not in reused], jobs)
        results = []
        for file in group:
            result = reused.get(file)
            if result is None:
                result = check_one(analysis, file)
                if store is not None:
                    store.put(os.fspath(file), result)
            results.append(result)
            done += 1
            line.update(done)
        report.results.extend(results)
        if store is not None:
            store.save()
        _store_run(analysis, run_key, results)
        analysis.project.save_state()
    line.close()
    return report


def project_info(analysis: Analysis) -> ProjectInfo:
    libraries = analysis.environment.description if analysis.libraries is not None else "off"
    return ProjectInfo(display_path(Path(analysis.project.root)), libraries)


# -- whole-run results, for a rerun when no project file changed -------------------------------
def _run_key(analysis: Analysis, group: list[Path]) -> str | None:
    """A digest of everything a run's results depend on: the tool, the settings, the working
    folder (paths are shown relative to it), and the size and mtime of every project file
    (Python files, and the files that decide the source roots)."""
    if analysis.project.cache is None:
        return None
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((analysis.project.cache.directory, analysis.settings, os.getcwd())).encode())
    project = analysis.project
    inputs = {*project.python_files(), *project.launch_files(), *map(os.path.abspath, group)}
    for path in sorted(inputs):
        stamp = project.files.stamp(path)
        if stamp is None:  # gone or unreadable: no whole-run result for this run
            return None
        digest.update(f"{path}\0{stamp[0]}\0{stamp[1]}\n".encode())
    for file in group:
        digest.update(f"{os.path.abspath(file)}\n".encode())
    return "run-" + digest.hexdigest()


def _load_run(analysis: Analysis, key: str | None) -> list[FileResult] | None:
    cache = analysis.project.cache
    if key is None or cache is None:
        return None
    return cache.get(key, RUN_CODEC)


def _store_run(analysis: Analysis, key: str | None, results: list[FileResult]) -> None:
    cache = analysis.project.cache
    if key is not None and cache is not None:
        cache.put(key, RUN_CODEC, results)


def check_one(analysis: Analysis, file: Path) -> FileResult:
    """One file's findings, with `# noqa` applied; an analyser failure becomes its problem."""
    display = display_path(file)
    try:
        result = analysis.check(os.fspath(file), display)
    except RecursionError:
        return FileResult(display, [], FileProblem(display, "nesting too deep to analyse"))
    except Exception as error:  # one file's failure must not end the run
        return FileResult(display, [], FileProblem(display, _internal(error)))
    data = analysis.project.read_bytes(os.path.abspath(file))
    text = data.decode("utf-8", errors="replace") if data is not None else None
    result.findings = _rebase_chains(analysis, remove_suppressed(result.findings, text))
    return result


def _internal(error: Exception) -> str:
    return f"{INTERNAL_ERROR_PREFIX} {type(error).__name__}: {error}"


def _rebase_chains(analysis: Analysis, findings: list[Finding]) -> list[Finding]:
    """Chain steps name files relative to the project root; reports use the finding's base
    (the working folder), so every path of a report can be resolved the same way."""
    root = analysis.project.root
    rebased = []
    for finding in findings:
        steps = tuple(
            replace(step, path=display_path(Path(os.path.join(root, step.path))))
            for step in finding.chain
        )
        rebased.append(replace(finding, chain=steps) if steps else finding)
    return rebased


def _check_stdin(stdin: StdinInput, settings: Settings) -> FileResult:
    path = Path(os.path.abspath(stdin.filename))
    try:
        analysis = analysis_for(path, settings, fallback_roots())
        analysis.project.set_content(os.fspath(path), stdin.text.encode("utf-8"))
        result = analysis.check(os.fspath(path), stdin.filename)
    except Exception as error:  # reported like any file the analyser failed on
        return FileResult(stdin.filename, [], FileProblem(stdin.filename, _internal(error)))
    result.findings = _rebase_chains(analysis, remove_suppressed(result.findings, stdin.text))
    return result


def warm(analysis: Analysis, files: list[Path], jobs: int) -> None:
    """Summarise, in parallel, the files the analysis will need and the cache does not hold."""
    if jobs <= 1:
        return
    project = analysis.project
    wanted = {os.path.abspath(file) for file in files}
    if analysis.settings.scope == "fastapi" and not analysis.index.ready():
        wanted.update(path for path in project.python_files() if project.is_candidate(path))
    missing = sorted(path for path in wanted if not project.cached(path))
    if len(missing) < _PARALLEL_THRESHOLD:
        return
    max_bytes = analysis.settings.max_file_size
    chunk = max(1, len(missing) // (jobs * 8))
    try:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            summaries = pool.map(
                summarise_file, missing, [max_bytes] * len(missing), chunksize=chunk
            )
            for path, key, summary, payload in summaries:
                if key:
                    project.preload(path, key, summary)
                    if project.cache is not None:
                        project.cache.put_bytes(key, FACTS_CODEC.name, payload)
    except (OSError, RuntimeError) as error:  # no process pool here: analyse serially
        print(f"async-pitfalls-lint: parallel parsing unavailable ({error})", file=sys.stderr)


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)
