"""What a call does, and whether a project's sync function blocks (and through which chain).

`CallClassifier.classify` decides, for one call site, whether the callee is a known blocking
library call, a project sync function that blocks (the summary: the first blocking call reached
through project sync calls, in source order), a project coroutine, or nothing we know. Chains
are memoised per function; cycles and chains deeper than `max-depth` stop.

A callee chosen at run time (`self.store.commit()` with `store` a GitStore or a DbStore, an
override in a subclass, an implementation of a Protocol) has several candidates: each one is
followed (up to `max-candidates`), the call blocks when any of them does, and the chain names
the one that does ("store.commit via GitStore.commit → ..."). Abstract methods never block
themselves. Calls in branches a literal argument rules out (`if not cache:` in a helper called
with the default `cache=True`) are not followed.
"""

from __future__ import annotations

import dataclasses
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
    candidates,
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
    # How the call that enters this chain gets there, for its label: the candidate that
    # blocks when the callee is chosen at run time, and a note (a memoised helper).
    via: str = ""
    note: str = ""
    # The other blocking calls of the same category below the entered call (their own
    # location each, a few at most): fixing the first alone would not unblock the helper.
    others: tuple[ChainStep, ...] = ()

    @property
    def category(self) -> str:
        return self.entry.category

    def entered_by(self, callee: str) -> str:
        """The label of the call entering the chain: `store.commit via GitStore.commit`."""
        label = f"{callee} via {self.via}" if self.via and self.via != callee else callee
        return f"{label} ({self.note})" if self.note else label


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
        max_candidates: int = 8,
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
        self.max_candidates = max_candidates
        self._chains: dict[
            tuple[str, str, Receiver | None, Arguments | None], dict[str, Chain]
        ] = {}
        self._active: set[tuple[str, str, Receiver | None, Arguments | None]] = set()
        self._cutoffs = 0  # cycles and depth limits met; a None found under one is not final

    def function(self, path: str, qualname: str) -> FunctionFacts | None:
        facts = self.project.facts_for(path)
        return facts.functions.get(qualname) if facts is not None else None

    def classify(self, path: str, site: CallSite, depth: int = 0) -> Classified:
        if site.settled:
            return NOTHING  # `fut.result()` once `fut.done()` said so: it returns at once
        if site.property_read:
            return self._property_read(path, site, depth)
        value = self.resolver.eval(path, site.callee)
        found = self.classify_value(path, site, value, depth)
        if found.kind == "none" and site.consumed and not site.implicit:
            return self._iterated(path, site)
        return found

    def classify_value(
        self, path: str, site: CallSite, value: Value | None, depth: int = 0
    ) -> Classified:
        """What calling `value` (the callee of `site`, or one of its candidates) does."""
        if value is not None and value[0] == "u":
            return self._candidates(path, site, value, depth)
        if value is None:
            return NOTHING
        tag = value[0]
        if tag == "x":
            if self.resolver.opens_buffer(path, value, site.args, site.kwargs):
                return NOTHING
            entry = self.kb.blocking(value[1])
            if entry is not None:
                if (self.library_code and not entry.in_libraries) or _disarmed(entry, site):
                    return NOTHING
                return Classified("blocking", value, entry, value[1])
            return self._inferred(value, site)
        if tag == "xi":
            if site.awaited:  # awaiting it means the object is async whatever its annotation says
                return self._inferred(value, site)
            entry = self.kb.blocking_method(value[1], value[2])
            if entry is not None:
                if (self.library_code and not entry.in_libraries) or _disarmed(entry, site):
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

    def _candidates(self, path: str, site: CallSite, union: Value, depth: int) -> Classified:
        """A callee chosen at run time: blocking when any candidate blocks (the most severe
        one is reported, named in the chain); unknown candidates count for nothing."""
        members = union[1]
        if len(members) > self.max_candidates:
            return NOTHING
        direct: Classified | None = None
        coroutine: Classified | None = None
        chains: dict[str, Chain] = {}
        targets: dict[str, tuple[str, str] | None] = {}
        for member in members:
            found = self.classify_value(path, site, member, depth)
            if found.kind == "blocking":
                if direct is None or self._severity(found) > self._severity(direct):
                    direct = found
            elif found.kind == "helper":
                for chain in _with_via(found, _via(member)).chains:
                    if chain.category not in chains:
                        chains[chain.category] = chain
                        targets[chain.category] = found.target
            elif found.kind == "coroutine" and coroutine is None:
                coroutine = found
        if chains:
            best = self._most_severe(chains)
            if direct is None or self.severity.get(best.category, 0) > self._severity(direct):
                return Classified(
                    "helper",
                    union,
                    chain=best,
                    target=targets[best.category],
                    chains=tuple(chains.values()),
                )
        return direct or coroutine or NOTHING

    def _severity(self, found: Classified) -> int:
        return self.severity.get(found.category, 0)

    def _iterated(self, path: str, site: CallSite) -> Classified:
        """`for row in Model.objects.filter(...)`: iterating the result runs the query."""
        result = self.resolver.eval(path, ("c", site.callee, site.args, site.kwargs))
        for member in candidates(result):
            if member[0] == "xi" and not member[2]:
                entry = self.kb.blocking_method(member[1], ("__iter__",))
                if entry is not None:
                    return Classified("blocking", member, entry, f"iterating a {member[1]}")
        return NOTHING

    def _property_read(self, path: str, site: CallSite, depth: int) -> Classified:
        """`db.status` where `status` is a property of the project class `db` belongs to."""
        callee = site.callee
        if callee is None or callee[0] != "a":
            return NOTHING
        bases = candidates(self.resolver.eval(path, callee[1]))
        if len(bases) > self.max_candidates:
            return NOTHING
        for base in bases:
            if base[0] != "pi":
                continue
            getter = self.resolver.property_getter(base[1], base[2], callee[2])
            if getter is None:
                continue
            receiver = (base[1], base[2], len(base) > 3 and bool(base[3]))
            value: Value = ("pf", getter[0], getter[1])
            found = self._project_call(path, value, [(*getter, receiver)], site, depth)
            if found.kind != "none":
                return _with_via(found, _via(value, base)) if len(bases) > 1 else found
        return NOTHING

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
        for position, (target_path, target_qualname, receiver) in enumerate(targets):
            implementation = self.function(target_path, target_qualname)
            if implementation is None or implementation.is_async or _is_abstract(implementation):
                continue  # an abstract method never runs: its overrides do
            if (
                implementation.is_generator
                and not site.consumed
                and not _runs_when_called(implementation)
            ):
                continue  # an override that is a generator runs where it is iterated
            note = self._memoised(target_path, implementation, self._on_global(caller_path, site))
            if note is None:
                continue
            arguments = self.resolver.bind_arguments(
                caller_path, site, target_path, implementation, receiver, literals=True
            )
            found = self.chains_for(target_path, target_qualname, depth + 1, receiver, arguments)
            # An override or implementation chosen at run time is named in the chain.
            via = _method_label(target_qualname, receiver) if position else ""
            for category, chain in found.items():
                if category not in chains:
                    chains[category] = dataclasses.replace(chain, via=via, note=note)
        for wrapper_path, wrapper in self.resolver.decorator_wrappers(path, function):
            # `@with_session` around a helper: its wrapper runs first (opening and committing
            # a session), then usually the helper itself.
            if wrapper.is_async:
                continue
            found = self.chains_for(wrapper_path, wrapper.qualname, depth + 1)
            for category, chain in found.items():
                if category not in chains:
                    chains[category] = dataclasses.replace(
                        chain, via=f"@{_decorator_label(wrapper.qualname)}"
                    )
        if not chains:
            return NOTHING
        best = self._most_severe(chains)
        return Classified(
            "helper", value, chain=best, target=(path, qualname), chains=tuple(chains.values())
        )

    def _most_severe(self, chains: dict[str, Chain]) -> Chain:
        return max(chains.values(), key=lambda chain: self.severity.get(chain.category, 0))

    def _on_global(self, path: str, site: CallSite) -> bool:
        """Whether the call is made on a module-level object (`primary.rates`), which lives as
        long as the process: what it caches per instance is computed once."""
        callee = site.callee
        if callee is None or callee[0] != "a" or callee[1] is None or callee[1][0] != "n":
            return False
        scope, name = callee[1][1], callee[1][2]
        facts = self.project.facts_for(path)
        if facts is None or name not in facts.bindings:
            return False
        function = facts.functions.get(scope)
        return function is None or (name not in function.locals and function.param(name) is None)

    def _memoised(self, path: str, function: FunctionFacts, on_global: bool) -> str | None:
        """How a decorator changes when the function's body runs: None when it never blocks
        the loop twice (decorated to run in a thread; memoised with nothing to key on, which
        runs once per process like a lazily initialised global), else a note for the chain
        ("" when nothing changes). A memoised function with arguments runs again for every
        new argument, and a `cached_property` for every new instance: both are followed."""
        for decorator in function.decorators:
            target = decorator[1] if decorator is not None and decorator[0] == "c" else decorator
            value = self.resolver.eval(path, target)
            if value is None or value[0] != "x":
                continue
            name = value[1]
            if name in self.kb.offloading_decorators:
                return None
            if name in self.kb.memoizing_decorators:
                if self.library_code:
                    return None  # a library's own cache: what it memoises is warm-up work
                if name.endswith("cached_property"):
                    return None if on_global else "cached per instance: blocks on each first read"
                if not _takes_arguments(function, on_global):
                    return None
                return "cached per argument: blocks on each first call"
        return ""

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
        literals = self._literals_for(path, function)
        for site in (*function.calls, *function.property_reads):
            if site.once or (site.memoised and self.library_code):
                continue  # a lazily initialised value: it blocks once, at warm-up
            if literals and _ruled_out(site, function, literals):
                continue  # in a branch the caller's literal arguments never take
            found = self.classify(path, site, depth)
            if found.entry is not None and literals and _disarmed_by(found.entry, site, literals):
                continue  # the caller's literal (or the default) makes the call harmless
            if found.kind == "blocking" and found.entry is not None:
                label = ref_text(site.callee)
                if found.provenance:  # a library call judged from its source
                    label = f"{label} ({found.provenance})"
                step = ChainStep(label, display, site.line, site.column + 1)
                category = found.entry.category
                if category not in chains:
                    chains[category] = Chain((step,), found.entry, found.resolved)
                else:
                    chains[category] = _with_others(chains[category], (step,))
            elif found.kind == "helper":
                for chain in found.chains:
                    if chain.category not in chains:
                        label = chain.entered_by(ref_text(site.callee))
                        step = ChainStep(label, display, site.line, site.column + 1)
                        chains[chain.category] = Chain(
                            (step, *chain.steps), chain.entry, chain.resolved, others=chain.others
                        )
                    else:
                        leaves = (chain.steps[-1], *chain.others)
                        chains[chain.category] = _with_others(chains[chain.category], leaves)
        return chains

    def _literals_for(self, path: str, function: FunctionFacts) -> dict[str, Value]:
        """The literals the call being followed passes to the function's guarded parameters."""
        arguments = self.resolver.frame[1]
        if not function.guarded or arguments is None or arguments[:2] != (path, function.qualname):
            return {}
        return {
            name: value
            for name, value in arguments[2]
            if name in function.guarded and value[0] in ("lit", "str", "none")
        }


def _ruled_out(site: CallSite, function: FunctionFacts, literals: dict[str, Value]) -> bool:
    """Whether a guard of the call fails for the literal its parameter was given."""
    for guard in site.guards:
        _tag, name, test, expected = guard
        value = literals.get(name)
        if value is None or name in function.locals:
            continue
        actual = value[1] if value[0] in ("lit", "str") else None
        if test == "truthy":
            holds = bool(actual)
        elif test == "falsy":
            holds = not actual
        elif test == "eq":
            holds = actual == expected and type(actual) is type(expected)
        else:
            holds = not (actual == expected and type(actual) is type(expected))
        if not holds:
            return True
    return False


def _takes_arguments(function: FunctionFacts, on_global: bool) -> bool:
    """Whether a memoised function has something to key its cache on (`self` counts: one
    entry per instance, unless the instance is a module-level one; `cls` does not)."""
    for position, param in enumerate(function.params):
        if position == 0 and function.class_qualname is not None:
            bound = function.locals.get(param.name, [])
            if any(ref is not None and ref[0] == "cls" for ref in bound):
                continue
            if on_global and any(ref is not None and ref[0] == "self" for ref in bound):
                continue
        return True
    return False


def _is_abstract(function: FunctionFacts) -> bool:
    return any(
        decorator is not None
        and decorator[0] in ("n", "a")
        and decorator[-1] in ("abstractmethod", "abstractproperty")
        for decorator in function.decorators
    )


def _method_label(qualname: str, receiver: Receiver | None) -> str:
    """`GitStore.commit`: the class the method is looked up on, and its name."""
    name = qualname.split("#", 1)[0].replace(".<locals>", "")
    if receiver is not None:
        owner = receiver[1].split("#", 1)[0].replace(".<locals>", "")
        return f"{owner}.{name.rsplit('.', 1)[-1]}"
    return name


def _via(value: Value, base: Value | None = None) -> str:
    """How a candidate of a run-time choice is named in a chain."""
    if value[0] == "pf":
        if base is not None:
            return _method_label(value[2], (base[1], base[2], False))
        return _method_label(value[2], receiver_of(value))
    if value[0] in ("pc", "pi"):
        return _method_label(value[2], None)
    return qualified_name(value)


def _with_via(found: Classified, via: str) -> Classified:
    """A helper classification whose chains name the candidate they go through."""
    if found.kind != "helper" or not via:
        return found
    chains = tuple(
        chain if chain.via else dataclasses.replace(chain, via=via) for chain in found.chains
    )
    best = next(
        (
            chain
            for chain in chains
            if found.chain is not None and chain.category == found.chain.category
        ),
        found.chain,
    )
    return dataclasses.replace(found, chain=best, chains=chains)


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
        gil=verdict.gil,
    )


def _runs_when_called(function: FunctionFacts) -> bool:
    """`@contextmanager` generators run to their first yield when entered."""
    return any(
        decorator is not None and decorator[0] in ("n", "a") and decorator[-1] == "contextmanager"
        for decorator in function.decorators
    )


def _decorator_label(qualname: str) -> str:
    """`with_session.<locals>.wrapper` -> `with_session`: the decorator, as the user wrote it."""
    return qualname.split("#", 1)[0].split(".<locals>", 1)[0]


_MAX_OTHERS = 8


def _with_others(chain: Chain, leaves: tuple[ChainStep, ...]) -> Chain:
    """The chain, with more blocking calls of its category noted (each once, a few at most)."""
    known = {chain.steps[-1], *chain.others}
    added = [leaf for leaf in leaves if leaf not in known]
    if not added or len(chain.others) >= _MAX_OTHERS:
        return chain
    others = (*chain.others, *dict.fromkeys(added))[:_MAX_OTHERS]
    return dataclasses.replace(chain, others=others)


def _disarmed(entry: BlockingEntry, site: CallSite) -> bool:
    """Whether the call passes a literal that makes it harmless (the entry's `unless`)."""
    return _disarmed_by(entry, site, {})


def _disarmed_by(entry: BlockingEntry, site: CallSite, literals: dict[str, Value]) -> bool:
    """The same, with the literals the caller gave the function's parameters: a parameter
    handed on as the keyword (`check_deliverability=check_deliverability`) counts as its
    literal."""
    for keyword, harmless in entry.unless:
        passed = site.arg(-1, keyword)
        if passed is not None and passed[0] == "n":
            passed = literals.get(passed[2])
        if (
            passed is not None
            and passed[0] in ("lit", "str")
            and type(passed[1]) is type(harmless)
            and passed[1] == harmless
        ):
            return True
    return False
