"""The names a fix needs (`asyncio`, `run_in_threadpool`) and the import that binds them.

A fix reuses a module-level binding when there is one (`import asyncio`, `import asyncio as
aio`) and otherwise adds `import asyncio` once, where the file keeps its imports:

- when the leading imports are grouped like isort/ruff lays them out (standard library first,
  plain `import x` before `from x import y`), in its sorted place in the standard-library group,
  or as a group of its own before the third-party imports;
- otherwise after the last of the module's leading top-level imports;
- with no imports at all, after the docstring and `from __future__` imports.

The text inserted uses the file's own newline style. A name bound to something else (a module
variable, a parameter, a local) is never shadowed: the fix is then unavailable.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

from async_pitfalls_lint.facts import FunctionFacts, ModuleFacts, Ref
from async_pitfalls_lint.model import Edit

ASYNCIO: Ref = ("imp", 0, "asyncio")
RUN_IN_THREADPOOL = frozenset(
    {"starlette.concurrency.run_in_threadpool", "fastapi.concurrency.run_in_threadpool"}
)
_NEWLINE = re.compile(r"\r\n|\r|\n")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


class Unavailable(Exception):
    """Why a fix cannot be built, in words for the finding (`Finding.fix_unavailable`)."""


@dataclass(frozen=True)
class Name:
    """A name the fix text can use, and the import to add first (None when already bound)."""

    text: str
    edit: Edit | None = None


def newline_of(text: str) -> str:
    """The file's newline style (its first line break), `\\n` for a one-line file."""
    match = _NEWLINE.search(text)
    return match.group() if match else "\n"


def _shadowing(facts: ModuleFacts, function: FunctionFacts, name: str) -> str:
    """Where `name` is bound between the function body and the module, or ""."""
    current: FunctionFacts | None = function
    while current is not None:
        if name in current.locals or current.param(name) is not None:
            return f"in {_short(current.qualname)}()"
        current = facts.functions.get(current.parent_scope) if current.parent_scope else None
    return ""


def _short(qualname: str) -> str:
    return qualname.split("#", 1)[0].replace(".<locals>", "")


def _bound_only_to(facts: ModuleFacts, name: str, targets: frozenset[Ref]) -> bool:
    bindings = facts.bindings.get(name)
    return bool(bindings) and all(ref in targets for ref in bindings or ())


def asyncio_name(facts: ModuleFacts, function: FunctionFacts, text: str) -> Name:
    """How the function can refer to the asyncio module, adding `import asyncio` if needed."""
    module = frozenset({ASYNCIO})
    aliases = sorted(name for name in facts.bindings if _bound_only_to(facts, name, module))
    candidates = ["asyncio", *(name for name in aliases if name != "asyncio")]
    for name in candidates:
        if _bound_only_to(facts, name, module) and not _shadowing(facts, function, name):
            return Name(name)
    if "asyncio" in facts.bindings:
        raise Unavailable("the name `asyncio` is bound to something else in this module")
    shadowed = _shadowing(facts, function, "asyncio")
    if shadowed:
        raise Unavailable(f"the name `asyncio` is bound to something else {shadowed}")
    return Name("asyncio", import_edit(text, "asyncio"))


def threadpool_name(facts: ModuleFacts, function: FunctionFacts) -> str | None:
    """The module's own binding of Starlette's/FastAPI's run_in_threadpool, if it has one."""
    targets = frozenset(("imp", 0, dotted) for dotted in RUN_IN_THREADPOOL)
    for name in sorted(facts.bindings):
        if _bound_only_to(facts, name, targets) and not _shadowing(facts, function, name):
            return name
    return None


# -- where the import goes -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Statement:
    first_line: int  # 1-based, decorators included
    last_line: int
    kind: str  # "import", "from", "future", "other"
    module: str  # the imported module for imports, "" otherwise
    relative: bool = False
    binds: tuple[str, ...] = ()  # the names an import statement binds

    @property
    def is_import(self) -> bool:
        return self.kind in ("import", "from")

    @property
    def stdlib(self) -> bool:
        return not self.relative and self.module.split(".", 1)[0] in _STDLIB


def import_edit(text: str, module: str) -> Edit:
    """The edit adding `import <module>` to the file (raises Unavailable when it cannot)."""
    placement = _placement(text, module)
    if placement is None:
        raise Unavailable(f"cannot find where to add `import {module}` in this file")
    line, before, after = placement
    newline = newline_of(text)
    starts = _line_starts(text)
    statement = f"import {module}"
    if line > len(starts):  # after the last line
        offset = len(text)
        prefix = "" if text == "" or text.endswith(("\n", "\r")) else newline
        return Edit(offset, offset, prefix + newline * before + statement + newline)
    offset = starts[line - 1]
    return Edit(offset, offset, newline * before + statement + newline * (1 + after))


def _line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in _NEWLINE.finditer(text)]


def module_statements(text: str) -> tuple[_Statement, ...] | None:
    """The module's top-level statements (imports with what they bind), parsed once per text."""
    return _statements(text)


@lru_cache(maxsize=16)
def _statements(text: str) -> tuple[_Statement, ...] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    statements = []
    for position, node in enumerate(tree.body):
        first = node.lineno
        for decorator in getattr(node, "decorator_list", ()):
            first = min(first, decorator.lineno)
        last = node.end_lineno or node.lineno
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            binds = tuple(alias.asname or alias.name.split(".", 1)[0] for alias in node.names)
            statements.append(
                _Statement(first, last, "import", modules[0] if modules else "", binds=binds)
            )
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            kind = "future" if module == "__future__" else "from"
            binds = tuple(alias.asname or alias.name for alias in node.names if alias.name != "*")
            statements.append(
                _Statement(first, last, kind, module, relative=node.level > 0, binds=binds)
            )
        elif (
            position == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            statements.append(_Statement(first, last, "docstring", ""))
        else:
            kind = "def" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else "other"
            kind = "class" if isinstance(node, ast.ClassDef) else kind
            statements.append(_Statement(first, last, kind, ""))
    return tuple(statements)


def _placement(text: str, module: str) -> tuple[int, int, int] | None:
    """(line to insert before, blank lines before, blank lines after) for `import module`."""
    statements = _statements(text)
    if statements is None:
        return None
    index = 0
    while index < len(statements) and statements[index].kind in ("docstring", "future"):
        index += 1
    end = index
    while end < len(statements) and statements[end].is_import:
        end += 1
    block = statements[index:end]
    if block:
        sorted_place = _sorted_place(block, module)
        if sorted_place is not None:
            return sorted_place
        return (block[-1].last_line + 1, 0, 0)
    if index > 0:  # after the docstring / __future__ imports, as a section of its own
        return (statements[index - 1].last_line + 1, 1, 0)
    if statements:
        first = statements[0]
        return (first.first_line, 0, 2 if first.kind in ("def", "class") else 1)
    return None


def _sorted_place(block: tuple[_Statement, ...], module: str) -> tuple[int, int, int] | None:
    """Where isort/ruff would put `import module` (a standard-library module), when the block
    is laid out their way; None for a block in some other order."""
    stdlib = [statement for statement in block if statement.stdlib]
    count = len(stdlib)
    if block[:count] != tuple(stdlib):
        return None  # standard-library imports mixed into other sections
    plain = [statement for statement in stdlib if statement.kind == "import"]
    froms = [statement for statement in stdlib if statement.kind == "from"]
    if stdlib and stdlib != plain + froms:
        return None  # `from x import y` before `import z`: not isort's default layout
    names = [statement.module.lower() for statement in plain]
    if names != sorted(names):
        return None
    if not stdlib:  # no standard-library section yet: a new one, before the others
        return (block[0].first_line, 0, 1)
    for statement in plain:
        if statement.module.lower() > module:
            return (statement.first_line, 0, 0)
    if froms:
        return (froms[0].first_line, 0, 0)
    return (plain[-1].last_line + 1, 0, 0)
