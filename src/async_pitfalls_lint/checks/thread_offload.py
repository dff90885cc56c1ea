"""APL301: CPU-heavy work handed to a thread pool."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import CallSite, ref_text
from async_pitfalls_lint.model import Finding


def cpu_work_in_thread_pool(context: CheckContext) -> list[Finding]:
    kb = context.analysis.kb
    findings = []
    for site in context.function.calls:
        name = context.callee_name(site)
        offload = kb.offloads.get(name) if name else None
        if offload is None or not _runs_in_thread(context, offload.runs_in, offload.pool, site):
            continue
        classified = context.classify_callable(site.arg(offload.position))
        if classified is None or classified.category != "cpu":
            continue
        resolved = classified.resolved or (classified.chain.resolved if classified.chain else "")
        if classified.chain is not None:
            resolved = f"{ref_text(site.arg(offload.position))} → {classified.chain.resolved}"
        findings.append(
            context.finding("APL301", site, callee=f"{ref_text(site.callee)}()", resolved=resolved)
        )
    return findings


def _runs_in_thread(context: CheckContext, runs_in: str, pool: int | None, site: CallSite) -> bool:
    if runs_in == "thread":
        return True
    if runs_in != "executor" or pool is None:
        return False
    executor = site.arg(pool)
    if executor is None or executor == ("none",):
        return True
    value = context.value(executor)
    kb = context.analysis.kb
    return value is not None and value[0] == "xi" and value[1] in kb.thread_pools
