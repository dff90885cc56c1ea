"""APL301: CPU-heavy work that holds the GIL, handed to a thread pool.

Work done in C that releases the GIL (bcrypt, zlib, Pillow, numpy, model inference) runs in
parallel with the event loop in a thread: offloading it with `to_thread` is the right fix, so
only GIL-holding work (pure-Python parsing and rendering) is reported.
"""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import CallSite, ref_text
from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.summaries import Classified


def cpu_work_in_thread_pool(context: CheckContext) -> list[Finding]:
    kb = context.analysis.kb
    findings = []
    for site in context.function.calls:
        name = context.callee_name(site)
        offload = kb.offloads.get(name) if name else None
        if offload is None or not _runs_in_thread(context, offload.runs_in, offload.pool, site):
            continue
        classified = context.classify_callable(site.arg(offload.position))
        if classified is None or not _holds_gil(classified):
            continue
        resolved = classified.resolved or (classified.chain.resolved if classified.chain else "")
        if classified.chain is not None:
            resolved = f"{ref_text(site.arg(offload.position))} → {classified.chain.resolved}"
        findings.append(
            context.finding("APL301", site, callee=f"{ref_text(site.callee)}()", resolved=resolved)
        )
    return findings


def _holds_gil(classified: Classified) -> bool:
    """CPU work that keeps the GIL while it computes (directly or at the end of a helper chain)."""
    entry = classified.entry or (classified.chain.entry if classified.chain else None)
    return entry is not None and entry.category == "cpu" and entry.holds_gil


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
