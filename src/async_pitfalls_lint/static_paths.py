"""Folders a module puts on `sys.path`, and app targets it hands to a server, read statically.

Only what can be computed from the file's own text is believed: string literals, `__file__`,
`os.path` calls, `pathlib.Path` attributes and operators, `str()`/`os.fspath()`, `%`/`format`/
f-string/`+` formatting, and names bound once to such an expression. Anything else (an
environment variable, a setting, a function's result, a loop variable, a parameter) makes the
whole expression unknown, and the edit is ignored. Relative paths and `os.getcwd()` name the
folder the application is started from, taken to be the project root.
"""

from __future__ import annotations

import ast
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

_MAX_DEPTH = 24
_DYNAMIC = object()  # a binding whose value cannot be known (a parameter, a loop variable)


@dataclass(frozen=True)
class PathEdit:
    """One `sys.path` edit: the folder (absolute, normalised) and where the file made it."""

    folder: str
    line: int
    how: str  # "sys.path.insert", "sys.path.append", "sys.path.extend", "site.addsitedir"

    @property
    def first(self) -> bool:
        """Whether the folder goes before the entries already there (an insert)."""
        return self.how == "sys.path.insert"


@dataclass(frozen=True)
class ServerCall:
    """`uvicorn.run("pkg.main:app", app_dir=...)` and similar: the target string and options."""

    target: str
    app_dir: str | None  # absolute, when given and known
    line: int
    how: str


_SERVER_CALLS = {
    "uvicorn.run": "uvicorn.run",
    "uvicorn.Config": "uvicorn.Config",
    "uvicorn.main.run": "uvicorn.run",
    "uvicorn.config.Config": "uvicorn.Config",
    "granian.Granian": "Granian",
    "granian.server.Granian": "Granian",
}
_PATH_EDITS = {
    "sys.path.insert": 1,  # the index of the folder argument
    "sys.path.append": 0,
    "sys.path.extend": 0,
    "site.addsitedir": 0,
}
_PATH_TYPES = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"}


def read_module(
    source: str | bytes, path: str, root: str
) -> tuple[list[PathEdit], list[ServerCall]]:
    """The `sys.path` edits and server calls of one module (nothing when it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], []
    reader = _ModuleReader(tree, path, root)
    try:
        return reader.read()
    except RecursionError:
        return [], []


class _ModuleReader:
    def __init__(self, tree: ast.Module, path: str, root: str) -> None:
        self.tree = tree
        self.path = os.path.abspath(path)
        self.root = os.path.abspath(root)
        self.imports: dict[str, str] = {}  # local name -> qualified name
        self.scopes: dict[ast.AST, dict[str, list[object]]] = {}
        self.parents: dict[ast.AST, ast.AST] = {}

    def read(self) -> tuple[list[PathEdit], list[ServerCall]]:
        self._index()
        edits: list[PathEdit] = []
        servers: list[ServerCall] = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            callee = self.qualified(node.func)
            if callee in _PATH_EDITS:
                edits.extend(self._edits(node, callee))
            elif callee in _SERVER_CALLS:
                server = self._server(node, _SERVER_CALLS[callee])
                if server is not None:
                    servers.append(server)
        return edits, servers

    # -- bindings -------------------------------------------------------------------------------
    def _index(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.scopes[self.tree] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                scope = self.scopes.setdefault(node, {})
                arguments = node.args
                for argument in (
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    *(item for item in (arguments.vararg, arguments.kwarg) if item is not None),
                ):
                    scope.setdefault(argument.arg, []).append(_DYNAMIC)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".", 1)[0]
                        self.imports[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value, node)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                self._bind(node.target, node.value, node)
            elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
                self._bind(node.target, None, node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, None, node)
            elif isinstance(node, ast.comprehension):
                self._bind(node.target, None, node)

    def _bind(self, target: ast.AST, value: ast.expr | None, where: ast.AST) -> None:
        scope = self.scopes[self._scope_of(where)]
        if isinstance(target, ast.Name):
            scope.setdefault(target.id, []).append(value if value is not None else _DYNAMIC)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, None, where)  # unpacking: not followed

    def _scope_of(self, node: ast.AST) -> ast.AST:
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return current
            current = self.parents.get(current)
        return self.tree

    def _lookup(self, name: str, where: ast.AST) -> list[object] | None:
        scope: ast.AST | None = self._scope_of(where)
        while scope is not None:
            bound = self.scopes.get(scope, {}).get(name)
            if bound is not None:
                return bound
            scope = None if scope is self.tree else self._scope_of(scope)
        return None

    def qualified(self, node: ast.AST) -> str | None:
        """`os.path.join` for `os.path.join`, `osp.join` (import os.path as osp) or `join`
        (from os.path import join); None for anything that is not a dotted import name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.imports.get(node.id)
        if head is None:
            return None
        return ".".join([head, *reversed(parts)])

    # -- calls ----------------------------------------------------------------------------------
    def _edits(self, call: ast.Call, callee: str) -> Iterator[PathEdit]:
        index = _PATH_EDITS[callee]
        if len(call.args) <= index:
            return
        argument = call.args[index]
        how = callee
        values = (
            list(argument.elts)
            if callee == "sys.path.extend" and isinstance(argument, (ast.List, ast.Tuple))
            else [argument]
        )
        for value in values:
            folder = self.folder(value)
            if folder is not None:
                yield PathEdit(folder, call.lineno, how)

    def _server(self, call: ast.Call, how: str) -> ServerCall | None:
        target = call.args[0] if call.args else _keyword(call, "app", "target")
        if not isinstance(target, ast.Constant) or not isinstance(target.value, str):
            return None  # an app object, not an import string: nothing to learn
        app_dir = _keyword(call, "app_dir", "working_dir")
        folder = self.folder(app_dir) if app_dir is not None else None
        if app_dir is not None and folder is None:
            return None  # an app folder we cannot compute: the target cannot be placed
        return ServerCall(target.value, folder, call.lineno, how)

    # -- static evaluation ----------------------------------------------------------------------
    def folder(self, node: ast.expr) -> str | None:
        value = self.evaluate(node, 0)
        if value is None:
            return None
        if not posixpath.isabs(value):
            value = posixpath.join(self.root.replace(os.sep, "/"), value)
        return os.path.normpath(value)

    def evaluate(self, node: ast.AST, depth: int) -> str | None:
        """The path (or string) an expression always has, or None."""
        if depth > _MAX_DEPTH:
            return None
        depth += 1
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self._name(node, depth)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, depth)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, depth)
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        return None

    def _name(self, node: ast.Name, depth: int) -> str | None:
        if node.id == "__file__":
            return self.path.replace(os.sep, "/")
        bound = self._lookup(node.id, node)
        if not bound:
            return None
        values = set()
        for value in bound:
            if value is _DYNAMIC or not isinstance(value, ast.AST):
                return None
            result = self.evaluate(value, depth)
            if result is None:
                return None
            values.add(result)
        return values.pop() if len(values) == 1 else None  # rebound to different folders

    def _attribute(self, node: ast.Attribute, depth: int) -> str | None:
        if node.attr == "parent":
            base = self.evaluate(node.value, depth)
            return _parent(base) if base is not None else None
        if node.attr == "sep" and self.qualified(node) == "os.sep":
            return "/"
        return None

    def _subscript(self, node: ast.Subscript, depth: int) -> str | None:
        index = node.slice
        if not isinstance(index, ast.Constant) or not isinstance(index.value, int):
            return None
        if isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            base = self.evaluate(node.value.value, depth)
            if base is None or index.value < 0:
                return None
            for _ in range(index.value + 1):
                base = _parent(base)
            return base
        if (
            isinstance(node.value, ast.Call)
            and self.qualified(node.value.func) == "os.path.split"
            and index.value == 0
            and len(node.value.args) == 1
        ):
            base = self.evaluate(node.value.args[0], depth)
            return _parent(base) if base is not None else None
        return None

    def _binary(self, node: ast.BinOp, depth: int) -> str | None:
        left = self.evaluate(node.left, depth)
        if left is None:
            return None
        if isinstance(node.op, ast.Div):  # Path / "part"
            right = self.evaluate(node.right, depth)
            return posixpath.join(left, right) if right is not None else None
        if isinstance(node.op, ast.Add):
            right = self.evaluate(node.right, depth)
            return left + right if right is not None else None
        if isinstance(node.op, ast.Mod):  # "%s/GPT" % base
            items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            values = [self.evaluate(item, depth) for item in items]
            if any(value is None for value in values) or left.count("%s") != len(values):
                return None
            if left.replace("%s", "").count("%"):
                return None
            escaped = left.replace("{", "{{").replace("}", "}}")
            return escaped.replace("%s", "{}").format(*values)
        return None

    def _fstring(self, node: ast.JoinedStr, depth: int) -> str | None:
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif (
                isinstance(value, ast.FormattedValue)
                and value.format_spec is None
                and value.conversion in (-1, ord("s"))
            ):
                part = self.evaluate(value.value, depth)
                if part is None:
                    return None
                parts.append(part)
            else:
                return None
        return "".join(parts)

    def _call(self, node: ast.Call, depth: int) -> str | None:
        if node.keywords:
            return None
        if isinstance(node.func, ast.Attribute) and self.qualified(node.func) is None:
            return self._method(node, depth)
        callee = self.qualified(node.func)
        if callee is None and isinstance(node.func, ast.Name) and node.func.id in ("str",):
            callee = "str"
        args = [self.evaluate(argument, depth) for argument in node.args]
        if any(value is None for value in args):
            return None
        values = [value for value in args if value is not None]
        if callee in ("os.getcwd", "pathlib.Path.cwd") and not values:
            return "."  # the folder the application is started from
        if callee in ("str", "os.fspath") and len(values) == 1:
            return values[0]
        if callee in _PATH_TYPES:
            return posixpath.join(*values) if values else None
        if callee == "os.path.dirname" and len(values) == 1:
            return _parent(values[0])
        if (
            callee in ("os.path.abspath", "os.path.realpath", "os.path.normpath")
            and len(values) == 1
        ):
            return posixpath.normpath(values[0])
        if callee == "os.path.join" and values:
            return posixpath.join(*values)
        return None

    def _method(self, node: ast.Call, depth: int) -> str | None:
        assert isinstance(node.func, ast.Attribute)
        name = node.func.attr
        if name in ("resolve", "absolute", "expanduser") and not node.args:
            if name == "expanduser":
                return None
            base = self.evaluate(node.func.value, depth)
            return posixpath.normpath(base) if base is not None else None
        if name == "joinpath":
            base = self.evaluate(node.func.value, depth)
            parts = [self.evaluate(argument, depth) for argument in node.args]
            if base is None or any(part is None for part in parts):
                return None
            return posixpath.join(base, *(part for part in parts if part is not None))
        if name == "format" and isinstance(node.func.value, ast.Constant):
            template = node.func.value.value
            values = [self.evaluate(argument, depth) for argument in node.args]
            if not isinstance(template, str) or any(value is None for value in values):
                return None
            try:
                return template.format(*values)
            except (IndexError, KeyError, ValueError):
                return None
        return None


def _keyword(call: ast.Call, *names: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in names:
            return keyword.value
    return None


def _parent(path: str) -> str:
    normal = posixpath.normpath(path)
    if normal in (".", ""):
        return ".."
    if posixpath.basename(normal) == "..":
        return posixpath.join(normal, "..")
    return posixpath.dirname(normal) or "."
