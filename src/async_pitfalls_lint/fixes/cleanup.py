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

from async_pitfalls_lint.model import Edit

_IDENTIFIER = re.compile(r"[^\W\d]\w*")


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
    fix a finding reports is complete on its own. Only tried when a replaced name occurs
    exactly twice in the text (its import and the replaced use): a cheap filter before libcst's
    scope analysis. Empty when nothing goes, or when the removal cannot be expressed apart
    from the fix's own edits (`fix` still removes such imports after applying the fixes)."""
    candidates = replaced_names(text, edits)
    if not any(len(re.findall(rf"\b{re.escape(name)}\b", text)) == 2 for name in candidates):
        return ()
    ordered = sorted(set(edits), key=lambda edit: (edit.start, edit.end))
    fixed = _splice(text, ordered)
    tidied = drop_unused_imports(text, fixed, ordered)
    if tidied == fixed:
        return ()
    prefix = 0
    limit = min(len(fixed), len(tidied))
    while prefix < limit and fixed[prefix] == tidied[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and fixed[len(fixed) - 1 - suffix] == tidied[len(tidied) - 1 - suffix]
    ):
        suffix += 1
    start, end = prefix, len(fixed) - suffix
    replacement = tidied[prefix : len(tidied) - suffix]
    original_start = _original_offset(ordered, start)
    original_end = _original_offset(ordered, end)
    if original_start is None or original_end is None:
        return ()
    if any(edit.start < original_end and original_start < edit.end for edit in ordered) or any(
        original_start < edit.start < original_end for edit in ordered
    ):
        return ()  # the removal would cross the fix's own edits
    return (Edit(original_start, original_end, replacement),)


def _splice(text: str, ordered: Sequence[Edit]) -> str:
    pieces = []
    position = 0
    for edit in ordered:
        pieces.append(text[position : edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


def _original_offset(ordered: Sequence[Edit], position: int) -> int | None:
    """Where a position of the fixed text was in the original, or None when it falls inside
    text an edit inserted."""
    delta = 0
    for edit in ordered:
        new_start = edit.start + delta
        new_end = new_start + len(edit.text)
        if position <= new_start:
            break
        if position < new_end:
            return None
        delta += len(edit.text) - (edit.end - edit.start)
    return position - delta
