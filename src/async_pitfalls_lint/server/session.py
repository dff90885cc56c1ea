"""What the language server knows between requests, without any protocol in it.

Settings are read once per configuration file (and again when it changes); each project's
`Analysis` stays warm in memory (analysis.analysis_for keeps one per project and settings for
the life of the process), with the editor's unsaved buffers laid over the files on disk
(`Project.set_content`), so an edit re-reads one buffer, not the project. Every method runs on
the server's one analysis thread: the analysis state is not shared between threads.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from async_pitfalls_lint.analysis import Analysis, analysis_for, reset_analyses
from async_pitfalls_lint.catalog import load_catalog
from async_pitfalls_lint.config import ConfigError, Settings, find_project_root, find_pyproject
from async_pitfalls_lint.config import load_settings as _load_settings
from async_pitfalls_lint.model import Finding, Span
from async_pitfalls_lint.report import INTERNAL_ERROR_PREFIX
from async_pitfalls_lint.suppression import remove_suppressed

# Files whose change can change the settings or where a project's root is.
CONFIG_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)

Logger = Callable[[str, str], None]  # (level: "error" | "warning" | "info" | "log", message)


@dataclass
class FileCheck:
    """One check of one file's text: its findings (noqa applied), and where they came from."""

    path: str  # absolute
    text: str
    findings: list[Finding] = field(default_factory=list)
    root: str = ""  # the project root; chain step paths are relative to it
    analysis: Analysis | None = None


def encode_buffer(text: str) -> bytes:
    """An editor buffer as the bytes the file would hold: in the encoding its coding cookie
    declares (else UTF-8). Text that cannot be encoded (lone surrogates) keeps its code units,
    so the analysis reports the file as undecodable (APL900) instead of failing."""
    head = text[:400].encode("utf-8", "surrogatepass").split(b"\n")[:2]
    for line in head:
        match = _CODING.match(line)
        if match is None:
            continue
        try:
            name = codecs.lookup(match.group(1).decode("ascii")).name
        except (LookupError, UnicodeDecodeError):
            break
        try:
            return text.encode(name)
        except (UnicodeEncodeError, LookupError):
            break
    return text.encode("utf-8", "surrogatepass")


class Session:
    def __init__(self, log: Logger) -> None:
        self.log = log
        self.folders: list[str] = []  # workspace folders, absolute
        self._settings: dict[str, Settings] = {}
        self._open: dict[str, str] = {}  # unsaved (or just opened) buffers by absolute path
        self._analyses: dict[int, Analysis] = {}
        self.checks: dict[str, FileCheck] = {}  # the latest check of each open file

    # -- workspace ------------------------------------------------------------------------------
    def set_folders(self, folders: list[str]) -> None:
        self.folders = sorted({os.path.abspath(folder) for folder in folders}, key=len)

    def folder_for(self, path: str) -> str | None:
        """The innermost workspace folder holding the file."""
        best = None
        for folder in self.folders:
            if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
                best = folder
        return best

    def settings_for(self, path: str) -> Settings:
        """The settings of the nearest pyproject.toml, read once until it changes; a file of a
        workspace folder that no project marker encloses is analysed with that folder as its
        project root (a multi-root workspace of plain folders)."""
        start = Path(path).parent
        config = find_pyproject(start)
        folder = self.folder_for(path)
        key = f"{config}\0{folder}"
        known = self._settings.get(key)
        if known is None:
            try:
                known = _load_settings(start)
            except ConfigError as error:
                self.log("error", f"configuration error: {error}; using the default settings")
                known = Settings()
            if folder is not None and not known.project_root and find_project_root(start) is None:
                known = known.replace(project_root=folder)
            self._settings[key] = known
        return known

    def analysis(self, path: str) -> Analysis:
        analysis = analysis_for(Path(path), self.settings_for(path))
        self._analyses[id(analysis)] = analysis
        return analysis

    # -- buffers --------------------------------------------------------------------------------
    def opened(self, path: str, text: str) -> None:
        self._open[path] = text

    def closed(self, path: str) -> None:
        """The editor closed the buffer: the file on disk counts again."""
        self._open.pop(path, None)
        self.checks.pop(path, None)
        for analysis in self._analyses.values():
            if _inside(path, analysis.project.root):
                analysis.project.file_changed(path)

    def open_paths(self) -> list[str]:
        return list(self._open)

    def files_changed(self, paths: list[str]) -> bool:
        """Files changed, were created or deleted on disk (a file watcher, a save). Whether
        the configuration changed: then every project is analysed afresh."""
        if any(os.path.basename(path) in CONFIG_FILES for path in paths):
            self.log("info", "configuration changed: settings and projects are read again")
            self._settings.clear()
            self._analyses.clear()
            self.checks.clear()
            reset_analyses()
            return True
        for path in paths:
            if path in self._open:
                continue  # the editor's buffer wins over the disk
            for analysis in self._analyses.values():
                if _inside(path, analysis.project.root):
                    analysis.project.file_changed(path)
        return False

    # -- checks ---------------------------------------------------------------------------------
    def check(self, path: str, text: str) -> FileCheck:
        """The findings of a buffer's text, analysed as the file `path` of its project."""
        self._open[path] = text
        try:
            analysis = self.analysis(path)
            project = analysis.project
            for other, buffer in self._open.items():
                if _inside(other, project.root):
                    project.set_content(other, encode_buffer(buffer))
            result = analysis.check(path)
            findings = remove_suppressed(result.findings, text)
            check = FileCheck(path, text, findings, project.root, analysis)
        except RecursionError:
            check = FileCheck(path, text, [_problem("nesting too deep to analyse")])
        except Exception as error:  # one file's failure must not end the server
            problem = f"{INTERNAL_ERROR_PREFIX} {type(error).__name__}: {error}"
            self.log("error", f"{path}: {problem}")
            check = FileCheck(path, text, [_problem(problem)])
        self.checks[path] = check
        return check


def _problem(problem: str) -> Finding:
    rule = load_catalog()["APL900"]
    return Finding("", rule.code, rule.render(problem=problem), Span(1, 0, 1, 0), "all")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
