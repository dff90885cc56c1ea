"""The analysis of one file: every call in its event-loop functions, classified and reported.

An `Analysis` holds one project's state (facts, resolution, handlers, summaries) and is shared
by every file checked in the process, so each module is parsed once however many files import
it. `check(path)` returns the file's findings, or its problem when it cannot be analysed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from async_pitfalls_lint.catalog import Catalog, load_catalog
from async_pitfalls_lint.checks import OFFLOADING_CHECKS, CheckContext
from async_pitfalls_lint.config import Settings, clear_root_cache
from async_pitfalls_lint.environment import find_environment
from async_pitfalls_lint.facts import CallSite, FunctionFacts, ref_text
from async_pitfalls_lint.files import clear_walk_cache, display_path
from async_pitfalls_lint.fixes.layout import clear_line_length_cache
from async_pitfalls_lint.knowledge import KnowledgeBase, build_knowledge
from async_pitfalls_lint.libraries import LibraryIndex
from async_pitfalls_lint.model import FileProblem, FileResult, Finding, Span
from async_pitfalls_lint.names import Arguments, Resolver
from async_pitfalls_lint.project import Project, project_root_for
from async_pitfalls_lint.routes import RouteFinder
from async_pitfalls_lint.scopes import EventLoopIndex, Reason
from async_pitfalls_lint.selection import Selection
from async_pitfalls_lint.source import SourceProblem, decode_source
from async_pitfalls_lint.summaries import CallClassifier, Chain, Classified


@dataclass(frozen=True)
class CallFinding:
    """A blocking call found in an event-loop function, before it becomes a Finding."""

    site: CallSite
    classified: Classified


class Analysis:
    """Analysis state for one project root and one set of settings."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.settings = settings
        self.catalog: Catalog = load_catalog()
        self.kb: KnowledgeBase = build_knowledge(
            dict(settings.extra_blocking), settings.allow, settings.route_decorators
        )
        self.project = Project(root, settings)
        self.selection = Selection(self.catalog, settings)
        self.environment = find_environment(self.project.root, settings.python)
        # Library code does not change with the project's files: its summaries outlive _derive.
        self.libraries = (
            LibraryIndex(
                self.environment,
                self.kb,
                settings,
                self.catalog.severity(),
                self.project.cache,
            )
            if settings.infer_libraries
            else None
        )
        self._derive()

    def _derive(self) -> None:
        """Resolution, handlers and summaries, all derived from the project's current files."""
        self._generation = self.project.generation
        self.resolver = Resolver(self.project, self.kb, self.libraries)
        self.routes = RouteFinder(self.project, self.resolver, self.kb)
        self.index = EventLoopIndex(self.project, self.resolver, self.routes, self.settings.scope)
        self.classifier = CallClassifier(
            self.project,
            self.resolver,
            self.kb,
            self.settings.max_depth,
            self.catalog.severity(),
            self.settings.max_candidates,
            libraries=self.libraries,
        )
        self._texts: dict[str, str] = {}

    # -- entry point ----------------------------------------------------------------------------
    def check(self, path: str, display: str | None = None, validate: bool = True) -> FileResult:
        """Findings for one file. Files that cannot hold event-loop code are not parsed with
        libcst; with `validate`, they still get a cheap syntax check (flake8 does its own)."""
        path = os.path.abspath(path)
        if self.project.generation != self._generation:
            self._derive()  # an editor or flake8 handed us new content for a file
        if display is None:
            display = self.project.display(path)
        result = FileResult(display)
        reasons = self._reasons_in(path)
        if reasons or self.project.is_loaded(path):
            problem = self.project.problem_for(path)
        else:
            problem = self.project.quick_problem(path) if validate else None
        if problem is not None:
            result.problem = FileProblem(display, problem)
            if self.selection.enabled("APL900", display):
                result.findings.append(self._problem_finding(display, problem))
            return result
        facts = self.project.facts_for(path) if reasons else None
        if facts is None:
            return result
        findings: list[Finding] = []
        for qualname, reason in reasons.items():
            function = facts.functions.get(qualname)
            if function is not None:
                findings.extend(self._check_function(path, display, function, reason))
        seen: set[tuple[int, int, str]] = set()
        for finding in sorted(findings, key=Finding.sort_key):
            key = (finding.line, finding.column, finding.code)
            if key not in seen and self.selection.enabled(finding.code, display):
                seen.add(key)
                result.findings.append(finding)
        return result

    def _reasons_in(self, path: str) -> dict[str, Reason]:
        if self.settings.scope == "all" and not self.project.may_be_async(path):
            return {}
        return self.index.reasons_in(path)

    def _problem_finding(self, display: str, problem: str) -> Finding:
        rule = self.catalog["APL900"]
        return Finding(display, rule.code, rule.render(problem=problem), Span(1, 0, 1, 0), "all")

    # -- one event-loop function ----------------------------------------------------------------
    def _check_function(
        self, path: str, display: str, function: FunctionFacts, reason: Reason
    ) -> list[Finding]:
        scope = reason.describe(_short(function.qualname))
        blocking: list[CallFinding] = []
        findings: list[Finding] = []
        frames = self.index.arguments_for(path, function.qualname)
        for site in (*function.calls, *function.property_reads):
            classified = self._classify(path, site, frames)
            if classified.kind == "blocking":
                if self._on_buffer(path, site, classified):
                    continue
                findings.append(
                    self._direct_finding(display, site, classified, scope, reason, function)
                )
                blocking.append(CallFinding(site, classified))
            elif classified.kind == "helper" and classified.chain is not None:
                findings.append(
                    self._helper_finding(
                        path, display, site, classified.chain, scope, reason, function
                    )
                )
                blocking.append(CallFinding(site, classified))
        from async_pitfalls_lint.fixes.attach import attach_fixes  # noqa: PLC0415 - libcst

        context = CheckContext(self, path, display, function, reason, scope, blocking)
        for check in OFFLOADING_CHECKS:
            findings.extend(check(context))
        findings = attach_fixes(self, path, display, function, reason, blocking, findings)
        return [dataclasses.replace(finding, function=function.qualname) for finding in findings]

    def _classify(self, path: str, site: CallSite, frames: list[Arguments]) -> Classified:
        """Classify a call as written, then with the typed arguments callers pass to the
        function's unannotated parameters (`async def handle(ws, db)` called with a Session)."""
        classified = self.classifier.classify(path, site)
        for arguments in frames:
            if classified.kind in ("blocking", "helper"):
                break
            with self.resolver.frame_for(None, arguments):
                classified = self.classifier.classify(path, site)
        return classified

    def _on_buffer(self, path: str, site: CallSite, found: Classified) -> bool:
        """A read or write on an in-memory buffer (`io.BytesIO`), not on a file: no I/O. On a
        file handle it blocks, and is reported as well as the handle's open()."""
        if found.entry is None or not found.entry.on_handle:
            return False
        handles = [*site.args, *(value for _, value in site.kwargs)]
        if site.callee is not None and site.callee[0] == "a":
            handles.append(site.callee[1])
        return any(self.resolver.is_buffer(self.resolver.eval(path, handle)) for handle in handles)

    def _callee_source(self, path: str, site: CallSite) -> str:
        """The callee as written (`Plain(session).get`), for advice the user can paste."""
        text = self._texts.get(path)
        if text is None:
            data = self.project.read_bytes(path)
            try:
                text = decode_source(data).text if data is not None else ""
            except SourceProblem:
                text = ""
            self._texts[path] = text
        written = " ".join(text[site.start : site.callee_end].split())
        if not written or len(written) > 60:
            return _bare_name(ref_text(site.callee))
        return written

    def _direct_finding(
        self,
        display: str,
        site: CallSite,
        found: Classified,
        scope: str,
        reason: Reason,
        function: FunctionFacts,
    ) -> Finding:
        assert found.entry is not None
        category = found.entry.category
        rule = self.catalog[self.catalog.code_for("blocking-call", category)]
        callee = describe_callee(site, found.provenance or found.resolved)
        info = self.catalog.categories[category]
        alternative = info.alternative_for(found.entry.alternative, found.entry.gil)
        plain_def = found.entry.plain_def if found.entry.alternative else info.plain_def
        if plain_def and reason.is_handler and reason.handler.can_be_plain_def:
            alternative += f", or make {_short(function.qualname)} a plain `def`"
        message = rule.render(callee=callee, scope=scope, alternative=alternative)
        return Finding(display, rule.code, message, _span(site), category, callee=found.resolved)

    def _helper_finding(
        self,
        path: str,
        display: str,
        site: CallSite,
        chain: Chain,
        scope: str,
        reason: Reason,
        function: FunctionFacts,
    ) -> Finding:
        category = chain.category
        rule = self.catalog[self.catalog.code_for("blocking-helper", category)]
        helper = ref_text(site.callee)
        last = chain.steps[-1]
        names = " → ".join([chain.entered_by(helper), *(step.label for step in chain.steps)])
        # The blocking call's file as reports show paths (relative to the working folder), not
        # relative to the project root: the same whichever marker (.git, pyproject.toml) made it.
        where = display_path(os.path.join(self.project.root, last.path))
        chain_text = f"{names} at {where}:{last.line}"
        category_info = self.catalog.categories[category]
        if site.property_read:
            helper = f"property {helper}"
            source = self._callee_source(path, site)
            alternative = (
                f"read it in a thread (`await asyncio.to_thread(lambda: {source})`), "
                "move the blocking work out of the property getter"
            )
        else:
            helper = f"{helper}()"
            advice = category_info.advice(chain.entry.gil)  # to_thread only if it frees the GIL
            alternative = advice.helper_alternative.format(helper=self._callee_source(path, site))
        if reason.is_handler and reason.handler.can_be_plain_def:
            alternative += f" or make {_short(function.qualname)} a plain def"
        doing = _doing(category_info.doing, chain, category)
        message = rule.render(
            callee=helper,
            doing=doing,
            scope=scope,
            chain=chain_text,
            alternative=alternative,
        )
        return Finding(
            display,
            rule.code,
            message,
            _span(site),
            category,
            callee=chain.resolved,
            chain=chain.steps,
            also=chain.others,
        )


def _doing(default: str, chain: Chain, category: str) -> str:
    what = chain.entry.what
    if not what:
        return default
    return f"CPU-heavy {what}" if category == "cpu" else what


def describe_callee(site: CallSite, resolved: str) -> str:
    callee = site.callee
    if callee is not None and callee[0] == "a" and callee[2] == "__enter__":
        return f"with {ref_text(callee[1])} ({resolved.removesuffix('.__enter__')})"
    if callee is not None and callee[0] == "a" and callee[2] == "__iter__" and site.implicit:
        return f"iterating {ref_text(callee[1])} ({resolved.removesuffix('.__iter__')})"
    text = ref_text(callee)
    if resolved and resolved != text and not resolved.endswith("." + text):
        return f"{text}() ({resolved})"
    return f"{text}()"


def _span(site: CallSite) -> Span:
    return Span(site.line, site.column, site.end_line, site.end_column)


def _short(qualname: str) -> str:
    return qualname.split("#", 1)[0].replace(".<locals>", "")


def _bare_name(text: str) -> str:
    return text.rsplit("(", 1)[0]


# -- one Analysis per project and settings, for the life of the process ----------------------------
_ANALYSES: dict[tuple[str, Settings], Analysis] = {}


def analysis_for(path: Path, settings: Settings, fallbacks: Sequence[str] = ()) -> Analysis:
    """The analysis of the file's project (`fallbacks`: see project.project_root_for)."""
    root = project_root_for(path, settings, fallbacks)
    key = (os.path.abspath(root), settings)
    analysis = _ANALYSES.get(key)
    if analysis is None:
        analysis = Analysis(root, settings)
        _ANALYSES[key] = analysis
    return analysis


def reset_analyses() -> None:
    """Forget every project's state (tests, long-lived processes after edits)."""
    _ANALYSES.clear()
    clear_walk_cache()
    clear_root_cache()
    clear_line_length_cache()
