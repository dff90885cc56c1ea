"""The small public API: check source text or paths, get findings back."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from async_pitfalls_lint.analysis import analysis_for
from async_pitfalls_lint.config import Settings, load_settings
from async_pitfalls_lint.files import iter_python_files
from async_pitfalls_lint.model import FileResult, Finding


def check_source(
    source: str, filename: str = "module.py", settings: Settings | None = None
) -> list[Finding]:
    """Findings for one module's source text, analysed as the file `filename` of its project."""
    path = Path(os.path.abspath(filename))
    if settings is None:
        settings = load_settings(path.parent)
    analysis = analysis_for(path, settings)
    analysis.project.set_content(os.fspath(path), source.encode("utf-8"))
    return analysis.check(os.fspath(path)).findings


def check_paths(paths: Iterable[str | Path], settings: Settings | None = None) -> list[FileResult]:
    """Results for every Python file under `paths`, honouring excludes and .gitignore."""
    roots = [Path(path) for path in paths]
    base = roots[0] if roots else Path.cwd()
    if settings is None:
        settings = load_settings(base if base.is_dir() else base.parent)
    results = []
    for file in iter_python_files(roots, settings.exclude):
        analysis = analysis_for(file, settings)
        results.append(analysis.check(os.fspath(file)))
    return results
