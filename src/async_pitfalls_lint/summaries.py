"""What a call does, and whether a project's sync function blocks (and through which chain).

`CallClassifier.classify` decides, for one call site, whether the callee is a known blocking
library call, a project sync function that blocks (the summary: the first blocking call reached
through project sync calls, in source order), a project coroutine, or nothing we know. Chains
are memoised per function; cycles and chains deeper than `max-depth` stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from async_pitfalls_lint.facts import CallSite, FunctionFacts, ref_text
from async_pitfalls_lint.knowledge import BlockingEntry, KnowledgeBase
from async_pitfalls_lint.model import ChainStep
from async_pitfalls_lint.names import (
    Arguments,
    Receiver,
    Resolver,
    Value,
    qualified_name,
    receiver_of,
)
from async_pitfalls_lint.project import Project

if TYPE_CHECKING:
    from async_pitfalls_lint.libraries import LibraryIndex, LibraryVerdict


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
    chain: Chain | None = None  # the most severe chain, for helpers
    target: tuple[str, str] | None = None  # (path, qualname) of a project function
    chains: tuple[Chain, ...] = ()  # every category reached, for helpers
    # For a library call found blocking from its installed source: the way it blocks
    # (`websocket.create_connection → socket.create_connection (websocket/_core.py:612)`).
    provenance: str = ""

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
        self,
        project: Project,
        resolver: Resolver,
        kb: KnowledgeBase,
        max_depth: int,
        severity: dict[str, int],
        libraries: LibraryIndex | None = None,
        library_code: bool = False,
    ) -> None:
        self.severity = severity
        self.project = project
        self.resolver = resolver
        self.kb = kb
        self.max_depth = max_depth
        self.libraries = libraries
        # Summarising a library's own code (libraries.py): constructors are configuration and
        # calls behind an "already cached?" branch run once, so neither is followed.
        self.library_code = library_code
        self._chains: dict[
            tuple[str, str, Receiver | None, Arguments | None], dict[str, Chain]
        ] = {}
        self._active: set[tuple[str, str, Receiver | None, Arguments | None]] = set()
        self._cutoffs = 0  # cycles and depth limits met; a None found under one is not final

    def function(self, path: str, qualname: str) -> FunctionFacts | None:
        facts = self.project.facts_for(path)
        return facts.functions.get(qualname) if facts is not None else None

    def classify(self, path: str, site: CallSite, depth: int = 0) -> Classified:
        if site.property_read:
            return self._property_read(path, site, depth)
        value = self.resolver.eval(path, site.callee)
        if value is None:
            return NOTHING
        tag = value[0]
        if tag == "x":
            if self.resolver.opens_buffer(path, value, site.args, site.kwargs):
                return NOTHING
            entry = self.kb.blocking(value[1])
            if entry is not None:
                if self.library_code and not entry.in_libraries:
                    return NOTHING
                return Classified("blocking", value, entry, value[1])
            return self._inferred(value, site)
        if tag == "xi":
            if site.awaited:  # awaiting it means the object is async whatever its annotation says
                return self._inferred(value, site)
            entry = self.kb.blocking_method(value[1], value[2])
            if entry is not None:
                if self.library_code and not entry.in_libraries:
                    return NOTHING
                return Classified("blocking", value, entry, qualified_name(value))
            return self._inferred(value, site)
        if tag == "pc" and self.library_code:
            return NOTHING
        if tag == "pf":
            targets = [(value[1], value[2], receiver_of(value)), *self.resolver.overrides(value)]
            return self._project_call(path, value, targets, site, depth)
        if tag in ("pc", "pi"):
            method_name = "__init__" if tag == "pc" else "__call__"
            method = self.resolver.find_method(value[1], value[2], method_name)
            if method is None:
                return NOTHING
            exact = tag == "pc" or (len(value) > 3 and bool(value[3]))
            return self._project_call(
                path, value, [(*method, (value[1], value[2], exact))], site, depth
            )
        return NOTHING

    def _inferred(self, value: Value, site: CallSite) -> Classified:
        """A library call the knowledge base does not know, judged from the library's source."""
        if self.libraries is None:
            return NOTHING
        verdict = self.libraries.blocking(value, site.awaited)
        if verdict is None:
            return NOTHING
        entry = _inferred_entry(verdict, site.awaited)
        return Classified("blocking", value, entry, verdict.resolved, provenance=verdict.provenance)

    def _property_read(self, path: str, site: CallSite, depth: int) -> Classified:
        """`db.status` where `status` is a property of the project class `db` belongs to."""
        callee = site.callee
        if callee is None or callee[0] != "a":
            return NOTHING
        base = self.resolver.eval(path, callee[1])
        if base is None or base[0] != "pi":
            return NOTHING
        getter = self.resolver.property_getter(base[1], base[2], callee[2])
        if getter is None:
            return NOTHING
        receiver = (base[1], base[2], len(base) > 3 and bool(base[3]))
        value: Value = ("pf", getter[0], getter[1])
        return self._project_call(path, value, [(*getter, receiver)], site, depth)

    def _project_call(
        self,
        caller_path: str,
        value: Value,
        targets: list[tuple[str, str, Receiver | None]],
        site: CallSite,
        depth: int,
    ) -> Classified:
        path, qualname, _ = targets[0]
        function = self.function(path, qualname)
        if function is None:
            return NOTHING
        if function.is_async:
            return Classified("coroutine", value, target=(path, qualname))
        if site.awaited:
            return NOTHING
        if function.is_generator and not site.consumed and not _runs_when_called(function):
            # A generator's body runs where it is iterated (StreamingResponse: the threadpool).
            return NOTHING
        chains: dict[str, Chain] = {}
        for target_path, target_qualname, receiver in targets:
            implementation = self.function(target_path, target_qualname)
            if implementation is None or implementation.is_async:
                continue
            if (
                implementation.is_generator
                and not site.consumed
                and not _runs_when_called(implementation)
            ):
                continue  # an override that is a generator runs where it is iterated
            if self._never_blocks_twice(target_path, implementation):
                continue
            arguments = self.resolver.bind_arguments(
                caller_path, site, target_path, implementation, receiver
            )
            found = self.chains_for(target_path, target_qualname, depth + 1, receiver, arguments)
            for category, chain in found.items():
                chains.setdefault(category, chain)
        if not chains:
            return NOTHING
        best = self._most_severe(chains)
        return Classified(
            "helper", value, chain=best, target=(path, qualname), chains=tuple(chains.values())
        )

    def _most_severe(self, chains: dict[str, Chain]) -> Chain:
        return max(chains.values(), key=lambda chain: self.severity.get(chain.category, 0))

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

    def chain_for(
        self, path: str, qualname: str, depth: int = 1, receiver: Receiver | None = None
    ) -> Chain | None:
        """The chain to the most severe kind of blocking a project sync function reaches."""
        chains = self.chains_for(path, qualname, depth, receiver)
        return self._most_severe(chains) if chains else None

    def chains_for(
        self,
        path: str,
        qualname: str,
        depth: int = 1,
        receiver: Receiver | None = None,
        arguments: Arguments | None = None,
    ) -> dict[str, Chain]:
        """For each category reached, the first chain (in source order) to a blocking call."""
        function = self.function(path, qualname)
        if function is None or function.is_async:
            return {}
        if function.class_qualname is None:
            receiver = None
        key = (path, qualname, receiver, arguments)
        cached = self._chains.get(key)
        if cached is not None:
            # Computed from a shallower caller: keep only chains that fit under max-depth here.
            return {
                category: chain
                for category, chain in cached.items()
                if depth + len(chain.steps) - 1 <= self.max_depth
            }
        if key in self._active or depth > self.max_depth:
            self._cutoffs += 1
            return {}
        self._active.add(key)
        cutoffs = self._cutoffs
        try:
            with self.resolver.frame_for(receiver, arguments):
                chains = self._blocking_calls(path, function, depth)
        finally:
            self._active.discard(key)
        if self._cutoffs == cutoffs or depth == 1:
            self._chains[key] = chains
        return chains

    def _blocking_calls(self, path: str, function: FunctionFacts, depth: int) -> dict[str, Chain]:
        display = self.project.display(path)
        chains: dict[str, Chain] = {}
        for site in (*function.calls, *function.property_reads):
            if site.once or (site.memoised and self.library_code):
                continue  # a lazily initialised value: it blocks once, at warm-up
            found = self.classify(path, site, depth)
            if found.kind == "blocking" and found.entry is not None:
                if found.entry.category not in chains:
                    label = ref_text(site.callee)
                    if found.provenance:  # a library call judged from its source
                        label = f"{label} ({found.provenance})"
                    step = ChainStep(label, display, site.line, site.column + 1)
                    chains[found.entry.category] = Chain((step,), found.entry, found.resolved)
            elif found.kind == "helper":
                step = ChainStep(ref_text(site.callee), display, site.line, site.column + 1)
                for chain in found.chains:
                    if chain.category not in chains:
                        chains[chain.category] = Chain(
                            (step, *chain.steps), chain.entry, chain.resolved
                        )
        return chains


def _inferred_entry(verdict: LibraryVerdict, awaited: bool) -> BlockingEntry:
    """The entry a call judged blocking from its library's source is reported with: the
    category's own advice, a thread offload for a sync call, no fix for an awaited one."""
    return BlockingEntry(
        pattern=verdict.origin,
        group="inferred",
        category=verdict.category,
        why=f"reaches {verdict.resolved} in the library's code",
        alternative="",
        fix="none" if awaited else "to-thread",
        what=verdict.what,
    )


def _runs_when_called(function: FunctionFacts) -> bool:
    """`@contextmanager` generators run to their first yield when entered."""
    return any(
        decorator is not None and decorator[0] in ("n", "a") and decorator[-1] == "contextmanager"
        for decorator in function.decorators
    )
