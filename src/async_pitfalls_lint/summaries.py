"""What a call does, and whether a project's sync function blocks (and through which chain).

`CallClassifier.classify` decides, for one call site, whether the callee is a known blocking
library call, a project sync function that blocks (the summary: the first blocking call reached
through project sync calls, in source order), a project coroutine, or nothing we know. Chains
are memoised per function; cycles and chains deeper than `max-depth` stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from async_pitfalls_lint.facts import CallSite, FunctionFacts, ref_text
from async_pitfalls_lint.knowledge import BlockingEntry, KnowledgeBase
from async_pitfalls_lint.model import ChainStep
from async_pitfalls_lint.names import Resolver, Value, qualified_name
from async_pitfalls_lint.project import Project

_MISSING = object()


@dataclass(frozen=True)
class Chain:
    """From a project function to the blocking call it reaches."""

    steps: tuple[ChainStep, ...]  # each project call on the way, then the blocking call
    entry: BlockingEntry
    resolved: str  # the blocking callee's qualified name

    @property
    def category(self) -> str:
        return self.entry.category


@dataclass(frozen=True)
class Classified:
    kind: str  # "blocking", "helper", "coroutine" or "none"
    value: Value | None = None
    entry: BlockingEntry | None = None
    resolved: str = ""
    chain: Chain | None = None
    target: tuple[str, str] | None = None  # (path, qualname) of a project function

    @property
    def category(self) -> str:
        if self.entry is not None:
            return self.entry.category
        if self.chain is not None:
            return self.chain.category
        return ""


NOTHING = Classified("none")


class CallClassifier:
    def __init__(
        self, project: Project, resolver: Resolver, kb: KnowledgeBase, max_depth: int
    ) -> None:
        self.project = project
        self.resolver = resolver
        self.kb = kb
        self.max_depth = max_depth
        self._chains: dict[tuple[str, str], Chain | None] = {}
        self._active: set[tuple[str, str]] = set()
        self._cutoffs = 0  # cycles and depth limits met; a None found under one is not final

    def function(self, path: str, qualname: str) -> FunctionFacts | None:
        facts = self.project.facts_for(path)
        return facts.functions.get(qualname) if facts is not None else None

    def classify(self, path: str, site: CallSite, depth: int = 0) -> Classified:
        value = self.resolver.eval(path, site.callee)
        if value is None:
            return NOTHING
        tag = value[0]
        if tag == "x":
            entry = self.kb.blocking(value[1])
            return Classified("blocking", value, entry, value[1]) if entry else NOTHING
        if tag == "xi":
            if site.awaited:  # awaiting it means the object is async whatever its annotation says
                return NOTHING
            entry = self.kb.blocking_method(value[1], value[2])
            return Classified("blocking", value, entry, qualified_name(value)) if entry else NOTHING
        if tag == "pf":
            return self._project_call(value, value[1], value[2], site, depth)
        if tag == "pc":
            init = self.resolver.find_method(value[1], value[2], "__init__")
            return self._project_call(value, *init, site, depth) if init else NOTHING
        if tag == "pi":
            call = self.resolver.find_method(value[1], value[2], "__call__")
            return self._project_call(value, *call, site, depth) if call else NOTHING
        return NOTHING

    def _project_call(
        self, value: Value, path: str, qualname: str, site: CallSite, depth: int
    ) -> Classified:
        function = self.function(path, qualname)
        if function is None:
            return NOTHING
        if function.is_async:
            return Classified("coroutine", value, target=(path, qualname))
        if site.awaited or self._never_blocks_twice(path, function):
            return NOTHING
        chain = self.chain_for(path, qualname, depth + 1)
        if chain is None:
            return NOTHING
        return Classified("helper", value, chain=chain, target=(path, qualname))

    def _never_blocks_twice(self, path: str, function: FunctionFacts) -> bool:
        """Memoised results block once, at warm-up; decorated-to-async functions do not block."""
        for decorator in function.decorators:
            target = decorator[1] if decorator is not None and decorator[0] == "c" else decorator
            value = self.resolver.eval(path, target)
            if value is not None and value[0] == "x":
                name = value[1]
                if name in self.kb.memoizing_decorators or name in self.kb.offloading_decorators:
                    return True
        return False

    def chain_for(self, path: str, qualname: str, depth: int = 1) -> Chain | None:
        """The first blocking call a project sync function reaches, or None."""
        key = (path, qualname)
        cached = self._chains.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        if key in self._active or depth > self.max_depth:
            self._cutoffs += 1
            return None
        function = self.function(path, qualname)
        if function is None or function.is_async:
            return None
        self._active.add(key)
        cutoffs = self._cutoffs
        try:
            chain = self._first_blocking_call(path, function, depth)
        finally:
            self._active.discard(key)
        if chain is not None or self._cutoffs == cutoffs:
            self._chains[key] = chain
        return chain

    def _first_blocking_call(self, path: str, function: FunctionFacts, depth: int) -> Chain | None:
        display = self.project.display(path)
        for site in function.calls:
            found = self.classify(path, site, depth)
            if found.kind == "blocking" and found.entry is not None:
                step = ChainStep(ref_text(site.callee), display, site.line, site.column + 1)
                return Chain((step,), found.entry, found.resolved)
            if found.kind == "helper" and found.chain is not None:
                step = ChainStep(ref_text(site.callee), display, site.line, site.column + 1)
                return Chain((step, *found.chain.steps), found.chain.entry, found.chain.resolved)
        return None
