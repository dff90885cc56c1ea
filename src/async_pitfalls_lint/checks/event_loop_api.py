"""APL304 (`asyncio.get_event_loop()` in a coroutine) and APL305 (an executor per request)."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import ref_text
from async_pitfalls_lint.model import Finding

_GET_EVENT_LOOP = frozenset({"asyncio.get_event_loop", "asyncio.events.get_event_loop"})


def get_event_loop(context: CheckContext) -> list[Finding]:
    return [
        context.finding("APL304", site, callee=f"{ref_text(site.callee)}()")
        for site in context.function.calls
        if context.callee_name(site) in _GET_EVENT_LOOP
    ]


def executor_per_request(context: CheckContext) -> list[Finding]:
    kb = context.analysis.kb
    pools = kb.thread_pools | kb.process_pools
    findings = []
    for site in context.function.calls:
        name = context.callee_name(site)
        if name is not None and kb.canonical(name) in pools:
            findings.append(context.finding("APL305", site, callee=f"{ref_text(site.callee)}()"))
    return findings
