"""Source positions for chosen nodes, read off the interpreter's syntax tree.

libcst nodes carry no positions, and its PositionProvider costs about 1.5x the parse. We need
positions only for calls, a few other expressions and function definitions, and the syntax
check in source.py has already built the interpreter's own tree for the text, whose nodes do
carry them. So we pair libcst nodes with their `ast` counterparts and read positions off those:

- Pairing. Both trees are walked and the nodes of each anchor kind (calls, attributes, function
  definitions, `with` and `for` statements, comprehensions, f-strings) are listed in source
  order: libcst's children in the order its code generation emits them, `ast` nodes sorted by
  position. The two lists of a kind are zipped, and every pair must agree on its shape (callee
  name, argument count, attribute name, `async`...). Other nodes are found through an anchor:
  a `with` item, a `for` or comprehension iterable, a call's first argument or callee.
- Extents. An `ast` expression excludes the parentheses around it and libcst's includes its own
  `lpar`/`rpar`, so we add them: the closing ones by scanning the text (only whitespace,
  comments and line continuations can sit between them), the opening ones from their
  whitespace (its width, or for a line break its line count and the first line's comment). A
  call's start is its callee's start, parentheses included, which is where the interpreter
  starts the call. `ast` columns count UTF-8 bytes within a line; we convert to characters.
- F-strings. Before Python 3.12 the interpreter's positions inside f-strings are unreliable, so
  neither walk enters them: a wanted node inside one is located by generating code for that
  f-string alone (at the indentation the whole module's generation would reach it with), which
  must equal the text where the interpreter says the string starts.

Whenever anything is uncertain (no `ast` tree because the text uses syntax newer than the
running interpreter, a count or shape that differs, a node kind whose extents differ between
the trees such as parenthesised tuples and generator expressions) `tree_offsets` returns None,
and the caller uses `node_offsets`: the module's own code generation with a state that
remembers the token index where each wanted node starts and ends, token indices then turned
into character offsets. Both give identical offsets; tests/test_positions.py checks that.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINE = re.compile(r"\r\n|\r|\n")


class _MarkingState(CodegenState):
    """Codegen state that notes token indices at the start and end of wanted nodes."""

    __slots__ = ("ends", "starts", "wanted_end", "wanted_start")

    def __init__(
        self,
        module: cst.Module,
        wanted_start: dict[int, list[int]],
        wanted_end: dict[int, list[int]],
    ) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.wanted_start = wanted_start
        self.wanted_end = wanted_end
        self.starts: dict[int, int] = {}
        self.ends: dict[int, int] = {}

    def before_codegen(self, node: Any) -> None:
        slots = self.wanted_start.get(id(node))
        if slots is not None:
            for slot in slots:
                self.starts[slot] = len(self.tokens)

    def after_codegen(self, node: Any) -> None:
        slots = self.wanted_end.get(id(node))
        if slots is not None:
            for slot in slots:
                self.ends[slot] = len(self.tokens)


class LineIndex:
    """Character offset to (1-based line, 0-based column), and back from `ast` positions."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]
        self._ascii = text.isascii()

    def position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self._starts, offset) - 1
        return row + 1, offset - self._starts[row]

    def content_end(self, line: int) -> int:
        """The offset where a line's line break starts (or the text ends)."""
        if line >= len(self._starts):
            return len(self._text)
        end = self._starts[line]
        return end - 2 if self._text.startswith("\r\n", end - 2) else end - 1

    def offset(self, line: int, byte_column: int) -> int:
        """The character offset of an `ast` position (1-based line, UTF-8 byte column)."""
        start = self._starts[line - 1]
        if self._ascii:
            return start + byte_column
        end = self._starts[line] if line < len(self._starts) else len(self._text)
        text = self._text[start:end]
        if text.isascii():
            return start + byte_column
        return start + len(text.encode("utf-8")[:byte_column].decode("utf-8"))


def node_offsets(
    module: cst.Module, start_nodes: Sequence[cst.CSTNode], end_nodes: Sequence[cst.CSTNode]
) -> tuple[list[int], list[int]]:
    """Character offsets where start_nodes[i] begins and end_nodes[i] ends."""
    state = _MarkingState(module, _slots_by_node(start_nodes), _slots_by_node(end_nodes))
    module._codegen(state)
    offsets = list(itertools.accumulate(map(len, state.tokens), initial=0))
    starts = [offsets[state.starts.get(slot, 0)] for slot in range(len(start_nodes))]
    ends = [offsets[state.ends.get(slot, 0)] for slot in range(len(end_nodes))]
    return starts, ends


def _slots_by_node(nodes: Sequence[cst.CSTNode]) -> dict[int, list[int]]:
    slots: dict[int, list[int]] = {}
    for slot, node in enumerate(nodes):
        slots.setdefault(id(node), []).append(slot)
    return slots


class Uncertain(Exception):
    """The interpreter's tree cannot give this file's positions for certain."""


def tree_offsets(
    module: cst.Module,
    tree: ast.Module,
    index: LineIndex,
    text: str,
    start_nodes: Sequence[cst.CSTNode],
    end_nodes: Sequence[cst.CSTNode],
    definitions: Sequence[cst.FunctionDef],
) -> tuple[list[int], list[int], list[int]] | None:
    """Offsets where start_nodes[i] begins, end_nodes[i] ends and definitions[i]'s `def` (or
    `async`) keyword begins, as node_offsets would give them; None when not certain."""
    try:
        return _TreeLocator(module, tree, index, text).locate(start_nodes, end_nodes, definitions)
    except Uncertain:
        return None


# -- pairing ------------------------------------------------------------------------------------

# Kinds listed in source order on both sides and zipped. Comprehensions share one list (their
# kinds are checked pair by pair); so do the two sides of `async`.
_CST_ANCHORS: dict[type, str] = {
    cst.Call: "call",
    cst.Attribute: "attribute",
    cst.FunctionDef: "def",
    cst.With: "with",
    cst.For: "for",
    cst.ListComp: "comprehension",
    cst.SetComp: "comprehension",
    cst.DictComp: "comprehension",
    cst.GeneratorExp: "comprehension",
}
_AST_ANCHORS: dict[type, str] = {
    ast.Call: "call",
    ast.Attribute: "attribute",
    ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "def",
    ast.With: "with",
    ast.AsyncWith: "with",
    ast.For: "for",
    ast.AsyncFor: "for",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
}
_COMPREHENSION_KINDS: dict[type, type] = {
    cst.ListComp: ast.ListComp,
    cst.SetComp: ast.SetComp,
    cst.DictComp: ast.DictComp,
    cst.GeneratorExp: ast.GeneratorExp,
}
# F-strings (and t-strings) are walked by neither side: see the module docstring.
_AST_STRINGS = tuple(
    kind for kind in (ast.JoinedStr, getattr(ast, "TemplateStr", None)) if kind is not None
)
_CST_STRINGS = tuple(
    kind
    for kind in (cst.FormattedString, getattr(cst, "TemplatedString", None))
    if kind is not None
)
_CST_STRING_KINDS = frozenset({*_CST_STRINGS, cst.ConcatenatedString})
# Children with nothing to pair inside. Imports hold libcst Attributes (`import a.b`) that the
# interpreter's tree spells as plain strings.
_CST_LEAVES = frozenset(
    {
        cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis,
        cst.Pass, cst.Break, cst.Continue, cst.Import, cst.ImportFrom, cst.Global,
        cst.Nonlocal, cst.SimpleWhitespace, cst.Newline, cst.Comment, cst.EmptyLine,
        cst.TrailingWhitespace, cst.ParenthesizedWhitespace,
    }
    | {getattr(cst, name) for name in ("LazyImport", "LazyImportFrom") if hasattr(cst, name)}
)  # fmt: skip
# Fields that never hold an expression (tokens, whitespace, comments).
_NON_EXPRESSION_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "leading_lines", "header", "footer",
        "lines_after_decorators", "trailing_whitespace", "colon", "dot", "star", "equal",
        "operator", "lbracket", "rbracket", "lbrace", "rbrace", "newline", "indent",
        "asynchronous", "first_line", "empty_lines", "prefix", "quote", "raw_value",
        "relative", "posonly_ind", "default_indent", "default_newline", "encoding",
        "has_trailing_newline", "leading_whitespace", "first_colon", "second_colon",
    }
)  # fmt: skip
# libcst declares these fields in an order other than the source order (which its visitors
# and code generation follow); tests/test_positions.py checks the table against libcst.
_SOURCE_ORDER: dict[str, tuple[str, ...]] = {
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "IfExp": ("body", "test", "orelse"),
    "MatchCase": ("pattern", "guard", "body"),
    "TypeAlias": ("name", "type_parameters", "value"),
    "Parameters": ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "Arg": ("keyword", "value"),
    "FormattedString": ("parts",),
    "TemplatedString": ("parts",),
}


@cache
def source_order_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a libcst node type that may hold expressions, in source order (none for
    the leaves the walk does not enter)."""
    if node_type in _CST_LEAVES:
        return ()
    declared = [field.name for field in dataclasses.fields(node_type)]
    override = _SOURCE_ORDER.get(node_type.__name__)
    if override is not None:
        return tuple(name for name in override if name in declared)
    return tuple(
        name
        for name in declared
        if name not in _NON_EXPRESSION_FIELDS and not name.startswith("whitespace")
    )


@cache
def _ast_fields(node_type: type) -> tuple[str, ...]:
    if not issubclass(node_type, ast.AST):
        return ()
    return tuple(name for name in node_type._fields if name != "ctx")  # ctx: Load, Store, Del


def _ast_order(node: Any) -> tuple[int, int, int, int]:
    # An enclosing node of the same kind starts no later and ends later: it comes first, as in
    # libcst's walk, which visits a node before its children.
    return node.lineno, node.col_offset, -node.end_lineno, -node.end_col_offset


class _CstAnchors:
    """libcst's anchor nodes by kind in source order, and each f-string's contained nodes."""

    def __init__(self, module: cst.Module) -> None:
        self.by_kind: dict[str, list[Any]] = {kind: [] for kind in _ANCHOR_KINDS}
        self.string_of: dict[int, cst.CSTNode] = {}
        # The indentation code generation would have reached each f-string with: a line break
        # inside the string's braces is followed by it.
        self.indent_of: dict[int, tuple[str, ...]] = {}
        self._default_indent = module.default_indent
        self._indent: tuple[str, ...] = ()
        self._visit(module)

    # Type tests by exact type and cached tables: libcst's node classes are abstract base
    # classes, whose isinstance checks would cost more than the rest of the walk.
    def _visit(self, node: Any) -> None:
        kind: type = type(node)
        fields = _walked_fields(kind)
        if not fields:
            return
        anchor = _CST_ANCHORS.get(kind)
        if anchor is not None:
            self.by_kind[anchor].append(node)
        elif kind is cst.IndentedBlock:
            self._visit_block(node)
            return
        elif kind in _CST_STRING_KINDS and _is_formatted_string(node):
            self.by_kind["string"].append(node)
            self.indent_of[id(node)] = self._indent
            for inner in _descendants(node):
                self.string_of[id(inner)] = node
            return
        self._visit_fields(node, fields)

    def _visit_block(self, node: Any) -> None:
        saved = self._indent
        self._indent = (*saved, self._default_indent if node.indent is None else node.indent)
        try:
            self._visit_fields(node, _walked_fields(cst.IndentedBlock))
        finally:
            self._indent = saved

    def _visit_fields(self, node: Any, fields: tuple[str, ...]) -> None:
        visit = self._visit
        for name in fields:
            value = getattr(node, name)
            if type(value) is tuple or type(value) is list:
                for child in value:
                    visit(child)
            else:
                visit(value)


@cache
def _walked_fields(kind: type) -> tuple[str, ...]:
    """source_order_fields for libcst nodes, nothing for anything else (None, str...)."""
    if not issubclass(kind, cst.CSTNode):
        return ()
    return source_order_fields(kind)


_ANCHOR_KINDS = ("call", "attribute", "def", "with", "for", "comprehension", "string")


def _is_formatted_string(node: cst.CSTNode) -> bool:
    if type(node) in _CST_STRINGS:
        return True
    if type(node) is cst.ConcatenatedString:
        return _is_formatted_string(node.left) or _is_formatted_string(node.right)
    return False


def _descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for name in source_order_fields(type(node)):
        value = getattr(node, name)
        children = value if type(value) is tuple or type(value) is list else (value,)
        for child in children:
            if isinstance(child, cst.CSTNode):
                yield child
                yield from _descendants(child)


def _ast_anchors(tree: ast.Module) -> dict[str, list[Any]]:
    """The interpreter's anchor nodes by kind, in source order."""
    by_kind: dict[str, list[Any]] = {kind: [] for kind in _ANCHOR_KINDS}
    stack: list[Any] = [tree]
    push, extend = stack.append, stack.extend
    while stack:
        node = stack.pop()
        kind: type = type(node)
        anchor = _AST_ANCHORS.get(kind)
        if anchor is not None:
            by_kind[anchor].append(node)
        elif kind in _AST_STRINGS:
            by_kind["string"].append(node)
            continue
        for name in _ast_fields(kind):  # nothing for the str, int and None values in lists
            value = getattr(node, name, None)
            if type(value) is list:
                extend(value)
            else:
                push(value)
    for nodes in by_kind.values():
        nodes.sort(key=_ast_order)
    return by_kind


def _same_expression_kind(node: cst.CSTNode, tree_node: ast.AST) -> bool:
    if isinstance(node, cst.Name):
        return isinstance(tree_node, ast.Name) and tree_node.id == node.value
    if isinstance(node, cst.Attribute):
        return isinstance(tree_node, ast.Attribute) and tree_node.attr == node.attr.value
    if isinstance(node, cst.Call):
        return isinstance(tree_node, ast.Call)
    if isinstance(node, cst.Subscript):
        return isinstance(tree_node, ast.Subscript)
    return not isinstance(tree_node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))


def _call_agrees(node: cst.Call, tree_node: ast.Call) -> bool:
    return len(node.args) == len(tree_node.args) + len(tree_node.keywords) and (
        _same_expression_kind(node.func, tree_node.func)
    )


def _def_agrees(node: cst.FunctionDef, tree_node: Any) -> bool:
    is_async = isinstance(tree_node, ast.AsyncFunctionDef)
    return tree_node.name == node.name.value and is_async == (node.asynchronous is not None)


def _with_agrees(node: cst.With, tree_node: Any) -> bool:
    is_async = isinstance(tree_node, ast.AsyncWith)
    return len(tree_node.items) == len(node.items) and is_async == (node.asynchronous is not None)


def _for_agrees(node: cst.For, tree_node: Any) -> bool:
    return isinstance(tree_node, ast.AsyncFor) == (node.asynchronous is not None)


def _comprehension_agrees(node: Any, tree_node: Any) -> bool:
    generators: list[ast.comprehension] = getattr(tree_node, "generators", [])
    same_kind = type(tree_node) is _COMPREHENSION_KINDS[type(node)]
    return same_kind and len(generators) == len(list(_comp_fors(node)))


def _string_agrees(_node: cst.CSTNode, _tree_node: ast.AST) -> bool:
    return True  # both are the outermost f-string (or t-string) of an expression


def _comp_fors(node: Any) -> Iterator[cst.CompFor]:
    comp: cst.CompFor | None = node.for_in
    while comp is not None:
        yield comp
        comp = comp.inner_for_in


_AGREES: dict[str, Callable[[Any, Any], bool]] = {
    "call": _call_agrees,
    "attribute": lambda node, tree_node: node.attr.value == tree_node.attr,
    "def": _def_agrees,
    "with": _with_agrees,
    "for": _for_agrees,
    "comprehension": _comprehension_agrees,
    "string": _string_agrees,
}

# `ast` extents that include the node's own parentheses, unlike libcst's without its `lpar`.
_PARENTHESISED_IN_AST = (ast.Tuple, ast.GeneratorExp)


class _TreeLocator:
    """Offsets of libcst nodes from the positions of their counterparts in the `ast` tree."""

    def __init__(self, module: cst.Module, tree: ast.Module, index: LineIndex, text: str) -> None:
        if text.startswith("\ufeff"):
            raise Uncertain  # the interpreter drops a byte order mark from its columns
        self.module = module
        self.index = index
        self.text = text
        self.counterpart: dict[int, Any] = {}  # id(libcst node) -> its ast node
        self.call_of_callee: dict[int, ast.Call] = {}  # id(call.func) -> the ast call
        self.string_of: dict[int, cst.CSTNode] = {}
        self.string_counterpart: dict[int, Any] = {}
        self.indent_of: dict[int, tuple[str, ...]] = {}
        self._pair(module, tree)

    # -- pairing --------------------------------------------------------------------------------
    def _pair(self, module: cst.Module, tree: ast.Module) -> None:
        ours = _CstAnchors(module)
        theirs = _ast_anchors(tree)
        self.string_of = ours.string_of
        self.indent_of = ours.indent_of
        for kind in _ANCHOR_KINDS:
            nodes, tree_nodes = ours.by_kind[kind], theirs[kind]
            if len(nodes) != len(tree_nodes):
                raise Uncertain
            agrees = _AGREES[kind]
            for node, tree_node in zip(nodes, tree_nodes, strict=True):
                if not agrees(node, tree_node):
                    raise Uncertain
                self._link(kind, node, tree_node)

    def _link(self, kind: str, node: Any, tree_node: Any) -> None:
        if kind == "call":
            self._set(node, tree_node)
            self._set(node.func, tree_node.func)
            self.call_of_callee[id(node.func)] = tree_node
            first = node.args[0] if node.args else None
            if first is not None and first.keyword is None and not first.star:
                if not tree_node.args:
                    raise Uncertain
                self._set(first.value, tree_node.args[0])
        elif kind in ("attribute", "def"):
            self._set(node, tree_node)
        elif kind == "with":
            for item, tree_item in zip(node.items, tree_node.items, strict=True):
                self._set(item.item, tree_item.context_expr)
        elif kind == "for":
            self._set(node.iter, tree_node.iter)
        elif kind == "comprehension":
            for comp, generator in zip(_comp_fors(node), tree_node.generators, strict=True):
                self._set(comp.iter, generator.iter)
        else:
            self.string_counterpart[id(node)] = tree_node

    def _set(self, node: cst.CSTNode, tree_node: ast.AST) -> None:
        known = self.counterpart.setdefault(id(node), tree_node)
        if known is not tree_node:
            raise Uncertain  # two anchors disagree on the same node

    # -- offsets --------------------------------------------------------------------------------
    def locate(
        self,
        start_nodes: Sequence[cst.CSTNode],
        end_nodes: Sequence[cst.CSTNode],
        definitions: Sequence[cst.FunctionDef],
    ) -> tuple[list[int], list[int], list[int]]:
        starts_in_strings, ends_in_strings = self._offsets_in_strings(start_nodes, end_nodes)
        starts = [
            _slot_offset(starts_in_strings, slot)
            if id(node) in self.string_of
            else self._start(node)
            for slot, node in enumerate(start_nodes)
        ]
        ends = [
            _slot_offset(ends_in_strings, slot) if id(node) in self.string_of else self._end(node)
            for slot, node in enumerate(end_nodes)
        ]
        return starts, ends, [self._def_start(node) for node in definitions]

    def _tree_node(self, node: cst.CSTNode) -> Any:
        tree_node = self.counterpart.get(id(node))
        if tree_node is None or isinstance(tree_node, _PARENTHESISED_IN_AST):
            raise Uncertain
        return tree_node

    def _start(self, node: cst.CSTNode) -> int:
        call = self.call_of_callee.get(id(node))
        if call is not None:
            # The interpreter starts a call at its callee's first token, parentheses included.
            return self.index.offset(call.lineno, call.col_offset)
        tree_node = self._tree_node(node)
        start = self.index.offset(tree_node.lineno, tree_node.col_offset)
        for paren in reversed(getattr(node, "lpar", ())):
            start = self._before_opening_parenthesis(paren, start)
        return start

    def _before_opening_parenthesis(self, paren: cst.LeftParen, after: int) -> int:
        """Where `paren` starts, given where the whitespace after it ends."""
        whitespace = paren.whitespace_after
        if isinstance(whitespace, cst.SimpleWhitespace):
            return after - 1 - len(whitespace.value)
        if not isinstance(whitespace, cst.ParenthesizedWhitespace):
            raise Uncertain
        # `(  # comment` ends its line, then come empty lines and the node's line: count lines
        # back and find the parenthesis before the first line's whitespace and comment.
        first = whitespace.first_line
        tail = first.whitespace.value + (first.comment.value if first.comment else "")
        if "\\" in tail or "\\" in whitespace.last_line.value:
            raise Uncertain  # a line continuation: the line count would not hold
        line = self.index.position(after)[0] - 1 - len(whitespace.empty_lines)
        if line < 1:
            raise Uncertain
        paren_at = self.index.content_end(line) - len(tail) - 1
        if self.text[paren_at : paren_at + 1 + len(tail)] != "(" + tail:
            raise Uncertain
        return paren_at

    def _end(self, node: cst.CSTNode) -> int:
        tree_node = self._tree_node(node)
        end = self.index.offset(tree_node.end_lineno, tree_node.end_col_offset)
        return _after_closing_parentheses(self.text, end, len(getattr(node, "rpar", ())))

    def _def_start(self, node: cst.FunctionDef) -> int:
        # The interpreter's FunctionDef starts at `def` or `async`, after the decorators.
        tree_node = self.counterpart.get(id(node))
        if tree_node is None:
            raise Uncertain
        return self.index.offset(tree_node.lineno, tree_node.col_offset)

    def _offsets_in_strings(
        self, start_nodes: Sequence[cst.CSTNode], end_nodes: Sequence[cst.CSTNode]
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Offsets of the wanted nodes inside f-strings, by their slots."""
        strings: dict[int, cst.CSTNode] = {}
        for node in itertools.chain(start_nodes, end_nodes):
            string = self.string_of.get(id(node))
            if string is not None:
                strings[id(string)] = string
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        if strings:
            wanted = (_slots_by_node(start_nodes), _slots_by_node(end_nodes))
            for string in strings.values():
                self._generate_string(string, wanted, starts, ends)
        return starts, ends

    def _generate_string(
        self,
        string: cst.CSTNode,
        wanted: tuple[dict[int, list[int]], dict[int, list[int]]],
        starts: dict[int, int],
        ends: dict[int, int],
    ) -> None:
        tree_node = self.string_counterpart.get(id(string))
        if tree_node is None:
            raise Uncertain
        # The interpreter's tree starts the string at its first quote, inside any parentheses:
        # generate the string without them (the copy keeps the same children).
        bare = string.with_changes(lpar=(), rpar=()) if getattr(string, "lpar", ()) else string
        base = self.index.offset(tree_node.lineno, tree_node.col_offset)
        state = _MarkingState(self.module, *wanted)
        state.indent_tokens = list(self.indent_of[id(string)])
        bare._codegen(state)
        code = "".join(state.tokens)
        if self.text[base : base + len(code)] != code:
            raise Uncertain
        offsets = list(itertools.accumulate(map(len, state.tokens), initial=0))
        for slot, token in state.starts.items():
            starts[slot] = base + offsets[token]
        for slot, token in state.ends.items():
            ends[slot] = base + offsets[token]


def _slot_offset(offsets: dict[int, int], slot: int) -> int:
    offset = offsets.get(slot)
    if offset is None:
        raise Uncertain  # code generation of its f-string never reached the node
    return offset


def _after_closing_parentheses(text: str, offset: int, count: int) -> int:
    """The offset after the `count`-th `)` from offset; only whitespace, comments and line
    continuations can come between a node and its closing parentheses."""
    length = len(text)
    while count:
        if offset >= length:
            raise Uncertain
        char = text[offset]
        if char == ")":
            count -= 1
        elif char == "#":
            offset = _line_end(text, offset) - 1
        elif char not in " \t\f\r\n\\":
            raise Uncertain
        offset += 1
    return offset


def _line_end(text: str, offset: int) -> int:
    ends = [end for end in (text.find("\n", offset), text.find("\r", offset)) if end >= 0]
    return min(ends) if ends else len(text)
