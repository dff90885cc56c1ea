"""After the fixes of a round are applied: drop the imports they left unused.

`time.sleep(1)` -> `await asyncio.sleep(1)` removes a use of `time`; when it was the last one,
`import time` goes too (and `from asyncio import get_event_loop` after APL304's fix). Only the
names a fix's edits replaced are candidates, only module-level imports are touched, and a name
still referenced anywhere (libcst's scope analysis: nested functions, string annotations) or
exported through `__all__` stays. An import statement that binds several names keeps the others
(`import os, time` -> `import os`); comments above a removed statement stay, moved to the next
one, and the blank lines around it are merged so the layout of the import block is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, ScopeProvider

from async_pitfalls_lint.fixes.imports import module_statements
from async_pitfalls_lint.model import Edit

_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def replaced_names(text: str, edits: Iterable[Edit]) -> set[str]:
    """Identifiers in the original text that the edits replace (the uses fixes take away)."""
    names: set[str] = set()
    for edit in edits:
        if edit.end > edit.start:
            names.update(_IDENTIFIER.findall(text[edit.start : edit.end]))
    return names


def drop_unused_imports(before: str, after: str, edits: Sequence[Edit]) -> str:
    """`after` without the module-level imports of names the edits replaced in `before` and
    that nothing references any more."""
    candidates = replaced_names(before, edits)
    if not candidates:
        return after
    if "\r" in after and "\n" not in after:
        # Old Mac line ends: libcst does not give such text back as it was; the same text with
        # `\n` (one character for one) is analysed and the result turned back.
        tidied = drop_unused_imports(before, after.replace("\r", "\n"), edits)
        return tidied.replace("\n", "\r")
    try:
        module = cst.parse_module(after)
        if module.code != after:  # libcst would not give this text back as it is (`\r` lines)
            return after
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
    except Exception:  # a text libcst cannot analyse: leave it as it is
        return after
    scope = scopes.get(module)
    if not isinstance(scope, GlobalScope):
        return after
    exported = _exported(module)
    unused: set[int] = set()  # ids of ImportAlias nodes to drop
    for statement in module.body:
        for small, alias in _aliases(statement):
            name = _bound_name(alias)
            if name is None or name not in candidates or name in exported:
                continue
            if _unreferenced(scope, name, small):
                unused.add(id(alias))
    if not unused:
        return after
    return _rewrite(module, unused).code


def _aliases(
    statement: cst.BaseStatement,
) -> list[tuple[cst.Import | cst.ImportFrom, cst.ImportAlias]]:
    """The names a module-level import statement binds, each with its import."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    found: list[tuple[cst.Import | cst.ImportFrom, cst.ImportAlias]] = []
    for small in statement.body:
        if isinstance(small, cst.Import) or (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and not isinstance(small.names, cst.ImportStar)
        ):
            assert not isinstance(small.names, cst.ImportStar)
            found.extend((small, alias) for alias in small.names)
    return found


def _bound_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None:
        target = alias.asname.name
        return target.value if isinstance(target, cst.Name) else None
    name = alias.name
    while isinstance(name, cst.Attribute):  # `import os.path` binds `os`
        name = name.value  # type: ignore[assignment]
    return name.value if isinstance(name, cst.Name) else None


def _unreferenced(scope: GlobalScope, name: str, statement: cst.Import | cst.ImportFrom) -> bool:
    assignments = [a for a in scope.assignments[name] if getattr(a, "node", None) is statement]
    if not assignments:
        return False
    if any(assignment.references for assignment in assignments):
        return False
    # Any access of the name that resolved to no assignment at all keeps the import too.
    return not any(not access.referents for access in scope.accesses[name])


def _exported(module: cst.Module) -> set[str]:
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            targets: list[cst.BaseExpression] = []
            value: cst.BaseExpression | None = None
            if isinstance(small, cst.Assign):
                targets = [target.target for target in small.targets]
                value = small.value
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets = [small.target]
                value = small.value
            if value is None or not any(
                isinstance(target, cst.Name) and target.value == "__all__" for target in targets
            ):
                continue
            for node in _strings(value):
                names.add(node)
    return names


def _strings(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        found: list[str] = []
        for element in node.elements:
            found.extend(_strings(element.value))
        return found
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return [value] if isinstance(value, str) else []
    return []


def _rewrite(module: cst.Module, unused: set[int]) -> cst.Module:
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] | None = None  # leading lines of a removed statement
    for statement in module.body:
        kept = _without(statement, unused)
        if kept is None:
            assert isinstance(statement, cst.SimpleStatementLine)
            own = list(statement.leading_lines)
            carried = own if carried is None else [*carried, *own]
            continue
        if carried is not None and isinstance(
            kept, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            kept = kept.with_changes(leading_lines=_merge(carried, list(kept.leading_lines)))
            carried = None
        body.append(kept)
    footer = list(module.footer)
    if carried is not None and any(line.comment is not None for line in carried):
        footer = [*carried, *footer]
    return module.with_changes(body=body, footer=footer)


def _merge(removed: list[cst.EmptyLine], following: list[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """The lines above a removed statement and those above the next one, without doubling the
    blank lines that separated them."""
    if any(line.comment is not None for line in removed):
        return [*removed, *following]
    if any(line.comment is None for line in following):
        return following  # the next statement already has its own separation
    return [*removed, *following]


def _without(
    statement: cst.BaseStatement, unused: set[int]
) -> cst.SimpleStatementLine | cst.BaseStatement | None:
    """The statement without the unused aliases; None when nothing of it is left."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return statement
    if not any(id(alias) in unused for _, alias in _aliases(statement)):
        return statement
    smalls: list[cst.BaseSmallStatement] = []
    for small in statement.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
            small.names, cst.ImportStar
        ):
            names = [alias for alias in small.names if id(alias) not in unused]
            if not names:
                continue
            if names[-1] is not small.names[-1]:
                # The old last name went: its comma (a trailing one, or none) ends the list now.
                names[-1] = names[-1].with_changes(comma=small.names[-1].comma)
            smalls.append(small.with_changes(names=names))
            continue
        smalls.append(small)
    if not smalls:
        return None
    last_small = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(body=[*smalls[:-1], last_small])


def removal_edits(text: str, edits: Sequence[Edit]) -> tuple[Edit, ...]:
    """Edits of the original text that remove the imports a single fix leaves unused, so the
    fix a finding reports is complete on its own. Cheap, as it runs for every finding: a name
    qualifies when the whole text holds it exactly twice (so in no string or comment either),
    once in a module-level import statement of its own that binds only that name and once in
    the use the fix replaces. Anything else is left to `fix`, which removes the imports the
    applied fixes left unused with libcst's scope analysis (drop_unused_imports)."""
    inserted = {name for edit in edits for name in _IDENTIFIER.findall(edit.text)}
    candidates = replaced_names(text, edits) - inserted  # a rewritten line keeps its names
    if not candidates:
        return ()
    statements = module_statements(text)
    if statements is None:
        return ()
    starts = [0, *(match.end() for match in _NEWLINE.finditer(text))]
    removals = []
    for name in sorted(candidates):
        occurrences = [match.start() for match in re.finditer(rf"\b{re.escape(name)}\b", text)]
        if len(occurrences) != 2:
            continue
        for statement in statements:
            if statement.binds != (name,) or statement.kind not in ("import", "from"):
                continue
            start = starts[statement.first_line - 1]
            end = starts[statement.last_line] if statement.last_line < len(starts) else len(text)
            inside = [offset for offset in occurrences if start <= offset < end]
            used = [
                offset for offset in occurrences if any(e.start <= offset < e.end for e in edits)
            ]
            alone = (
                ";" not in text[start:end].split("#", 1)[0]
                and not text[start : start + 1].isspace()
            )
            crossed = any(edit.start < end and start < edit.end for edit in edits)
            if len(inside) == len(used) == 1 and alone and not statement.relative and not crossed:
                removals.append(_removal(text, start, end))
            break
    return tuple(removals)


def _removal(text: str, start: int, end: int) -> Edit:
    """Delete the lines [start, end); when blank lines both precede and follow them, the ones
    before go too, so the import block keeps one separation, not two."""
    starts = [0, *(match.end() for match in _NEWLINE.finditer(text))]
    following = text[end : next((s for s in starts if s > end), len(text))]
    begin = start
    if end < len(text) and not following.strip():
        index = starts.index(start) if start in starts else 0
        while index > 0 and not text[starts[index - 1] : starts[index]].strip():
            index -= 1
        begin = starts[index]
    return Edit(begin, end, "")
