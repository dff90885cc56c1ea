"""Hover on a function's name: whether FastAPI runs it on the event loop or in its
threadpool, and why (the facts the `routes` inventory shows)."""

from __future__ import annotations

from async_pitfalls_lint.analysis import Analysis
from async_pitfalls_lint.facts import FunctionFacts
from async_pitfalls_lint.inventory import EVENT_LOOP, _ProjectRoutes
from async_pitfalls_lint.model import Finding
from async_pitfalls_lint.routes import Handler

_ROUTES = ("route", "websocket")


def _short(qualname: str) -> str:
    return qualname.split("#", 1)[0].replace(".<locals>", "")


def functions_named(
    analysis: Analysis, path: str, word: str, line: int
) -> list[tuple[str, FunctionFacts]]:
    """The functions `word` names: defined in this file (the one defined nearest above the
    line first), else the handlers of the project with that name."""
    name = word.rsplit(".", 1)[-1]
    if not name:
        return []
    facts = analysis.project.facts_for(path)
    local = [
        (path, function)
        for qualname, function in (facts.functions.items() if facts is not None else ())
        if _short(qualname).rsplit(".", 1)[-1] == name
    ]
    if local:
        local.sort(key=lambda item: (item[1].line > line, abs(line - item[1].line)))
        return local[:1]
    found: dict[tuple[str, str], tuple[str, FunctionFacts]] = {}
    for handler in analysis.index.all_handlers():
        if handler.name.rsplit(".", 1)[-1] != name:
            continue
        other = analysis.project.facts_for(handler.path)
        function = other.functions.get(handler.qualname) if other is not None else None
        if function is not None:
            found[(handler.path, handler.qualname)] = (handler.path, function)
    return list(found.values()) if len(found) == 1 else []


def hover_text(
    analysis: Analysis, path: str, function: FunctionFacts, findings: list[Finding]
) -> str | None:
    """Markdown for one function, or None when the framework does not call it at all and it
    is not event-loop code."""
    key = (path, function.qualname)
    name = _short(function.qualname)
    handlers = [
        handler
        for handler in analysis.index.all_handlers()
        if (handler.path, handler.qualname) == key
    ]
    reason = analysis.index.reason_for(path, function.qualname)
    lines: list[str] = []
    for handler in handlers:
        lines.append(_handler_line(handler))
        if handler.kind in _ROUTES and not handler.wrapper:
            entry = _ProjectRoutes(analysis).entry(handler)
            for dependency in entry.dependencies:
                where = f" ({dependency.path}:{dependency.line})" if dependency.path else ""
                lines.append(f"- dependency `{dependency.name}`{where}: {dependency.runs_in}")
    if not handlers:
        if reason is not None:
            lines.append(f"runs on the **event loop**: {reason.describe(name)}")
        elif function.is_async:
            lines.append(
                "`async def` that no FastAPI or Starlette handler of this project reaches: "
                'not checked as event-loop code (`scope = "fastapi"`)'
            )
        else:
            return None
    own = [finding for finding in findings if finding.function == function.qualname]
    if own:
        codes = ", ".join(sorted({finding.code for finding in own}))
        count = len(own)
        lines.append(f"{count} finding{'s' if count != 1 else ''} here: {codes}")
    return f"**{name}** (async-pitfalls-lint)\n\n" + "\n\n".join(lines)


def _handler_line(handler: Handler) -> str:
    described = handler.describe()
    if handler.is_async:
        return (
            f"runs on the **{EVENT_LOOP}**: {described}. FastAPI awaits `async def` handlers on "
            "the loop, so a blocking call in it stalls every request of the process."
        )
    if handler.can_be_plain_def:
        return (
            f"runs in the **threadpool**: {described}. FastAPI runs a plain `def` "
            f"{handler.kind} in its threadpool (`run_in_threadpool`), so blocking calls hold "
            "one worker thread (40 by default), not the event loop."
        )
    return f"plain `def` {described}: the framework calls it, it is not event-loop code."
