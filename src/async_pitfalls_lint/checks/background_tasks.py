"""APL302: heavy work scheduled with BackgroundTasks.add_task."""

from __future__ import annotations

from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.facts import Ref, ref_text
from async_pitfalls_lint.model import Finding

_HEAVY = ("cpu", "subprocess")


def heavy_background_task(context: CheckContext) -> list[Finding]:
    findings = []
    for site in context.function.calls:
        name = context.callee_name(site)
        offload = context.analysis.kb.offloads.get(name) if name else None
        if offload is None or offload.runs_in != "background":
            continue
        task = site.arg(offload.position)
        heavy = _heavy_work(context, task)
        if heavy:
            findings.append(
                context.finding("APL302", site, callee=f"{ref_text(site.callee)}()", resolved=heavy)
            )
    return findings


def _heavy_work(context: CheckContext, ref: Ref | None) -> str:
    classified = context.classify_callable(ref)
    if classified is None:
        return ""
    if classified.kind == "coroutine" and classified.target is not None:
        return _blocking_coroutine(context, *classified.target)
    if classified.category in _HEAVY:
        if classified.chain is not None:
            return f"{ref_text(ref)} → {classified.chain.resolved}"
        return classified.resolved
    return ""


def _blocking_coroutine(context: CheckContext, path: str, qualname: str) -> str:
    classifier = context.analysis.classifier
    function = classifier.function(path, qualname)
    if function is None:
        return ""
    for site in function.calls:
        found = classifier.classify(path, site)
        if found.kind in ("blocking", "helper"):
            what = found.resolved or (found.chain.resolved if found.chain else "")
            return f"async {function.name}() blocks the event loop with {what}"
    return ""
