"""Positions read off the interpreter's syntax tree equal those of the code generation pass.

Every fixture and example file, and snippets chosen for the ways the two trees differ
(parentheses, byte columns, line endings, f-strings, decorators...), are extracted both ways;
every position field of every call site and function must match, and the files that should
take the tree path must take it.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from async_pitfalls_lint import source as source_module
from async_pitfalls_lint.extract import Extractor
from async_pitfalls_lint.facts import CallSite, ModuleFacts
from async_pitfalls_lint.positions import _CstAnchors, source_order_fields
from async_pitfalls_lint.project import analyse_text
from async_pitfalls_lint.source import decode_source, parse_source, run_with_big_stack

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    path
    for folder in (ROOT / "tests" / "fixtures", ROOT / "examples")
    for path in folder.rglob("*.py")
)
SITE_FIELDS = ("start", "end", "callee_end", "line", "column", "end_line", "end_column")

SNIPPETS = {
    "parenthesised callee": "async def f():\n    (foo)(1)\n    ((a.b))(2)\n    (a).b(3)\n",
    "parenthesised call": "async def f():\n    x = ((foo(1)))\n    y = ( foo (2) )\n",
    "black-style parentheses": (
        "async def f(node):\n"
        "    value = (\n        node.sponsor_entity\n    )\n"
        "    other = (  # why\n\n        make(node)\n    )\n"
        "    with (\n        open('x')\n    ) as handle:\n        pass\n"
    ),
    "multi-line call": (
        "async def f():\n    result = requests.get(\n        'http://x',\n"
        "        timeout=3,\n    )\n    return result.json()\n"
    ),
    "decorators": (
        "@app.get('/x', dependencies=[Depends(check())])\n@other\n"
        "async def handler(x=Depends(get_db)):\n    return x\n"
    ),
    "non-ascii before a call": (
        "async def f():\n    s = 'ünïcödé €'; time.sleep(1)\n    t = '日本' + open('ü').read()\n"
    ),
    "non-ascii identifiers": "async def ƒ():\n    café = compute()\n    return café.bar\n",
    "wide characters and continuations": (
        "async def f():\n    s = '😀😀' + \\\n        x.y(  # é\n        '\U0001d518')\n"
        "    t = (  # ü\n        z.w\n    )\n"
    ),
    "tabs": "async def f():\n\tif x:\n\t\ttime.sleep(1)\n\treturn a.b\n",
    "crlf": "async def f():\r\n    time.sleep(1)\r\n    return (\r\n        a.b\r\n    )\r\n",
    "cr": "async def f():\r    time.sleep(1)\r    return a.b()\r",
    "await calls": "async def f(client):\n    r = await client.get('/')\n    await (sleep)(1)\n",
    "f-strings": (
        "async def f(self):\n"
        "    a = f'{self.name} {compute(1)!r:>{width()}}'\n"
        "    b = f'x{x}' 'y' f'{y.z}'\n"
        "    c = (\n        f'{one()}'\n        f'{two.three}'\n    )\n"
        "    d = f'''\n{multi(\n    line)}\n'''\n"
        "    e = f'{f\"{nested()}\"}'\n"
    ),
    "lambdas": (
        "async def f():\n    g = lambda x=default(): x.y()\n"
        "    return sorted(z, key=lambda v: v.k)\n"
    ),
    "comprehensions": (
        "async def f(items):\n"
        "    a = [x.y for x in items if x.ok()]\n"
        "    b = {k: v() for k, v in pairs.items()}\n"
        "    c = list(i.j for i in items)\n"
        "    d = [v async for v in stream()]\n"
        "    e = {s for s in rows}\n"
    ),
    "with items": (
        "async def f():\n    with open('a') as a, lock:\n        pass\n"
        "    async with client.stream() as s, (other):\n        pass\n"
        "    with (open('b') as b, open('c') as c):\n        pass\n"
    ),
    "iteration": (
        "async def f(rows, self):\n    for r in rows:\n        pass\n"
        "    async for r in self.stream:\n        pass\n"
        "    for q in (self.items):\n        pass\n    total = sum(rows)\n"
    ),
    "chained calls": "async def f():\n    return a().b().c()\n    x = a()()()\n",
    "defaults and decorators": (
        "def outer(a=make(), *, b=other.attr):\n    @wraps(fn)\n"
        "    def inner(c=build()):\n        return c.d\n    return inner\n"
    ),
    "async def in classes": (
        "class Service(Base, metaclass=Meta):\n    x = field()\n\n"
        "    async def run(self):\n        return self.client.get()\n\n"
        "    @property\n    def value(self):\n        return self._value\n\n"
        "    async    def spaced(self):\n        pass\n"
    ),
    "nested functions": (
        "async def top():\n    async def middle():\n        def inner():\n"
        "            return time.sleep(1)\n        return inner()\n    return await middle()\n"
    ),
    "def keyword spacing": "def\\\n    spaced(x):\n    return x.y\n",
    "calls after return": "async def f():\n    return 1\n    time.sleep(1)\n",
    "comments between parentheses": (
        "async def f():\n    x = (  # first\n        # more\n"
        "        (a.b  # inner\n        )\n    )\n"
    ),
    "tuples and generators": (
        "async def f():\n    for x in (a, b):\n        pass\n    with (a, b) as c:\n        pass\n"
        "    list((y for y in z))\n"
    ),
    "star and keyword arguments": (
        "async def f(x):\n    list(*x)\n    dict(**x)\n    g(key=x.y, *args)\n    h(a)(b)\n"
    ),
    "subscripts and slices": "async def f(d):\n    return d[k()].v[1:n():2]\n",
    "match": (
        "async def f(p):\n    match p.kind():\n        case Color.RED if p.ok():\n"
        "            run()\n        case Point(x=0):\n            pass\n"
    ),
    "module level": "app = FastAPI()\napp.include_router(router)\nx = (yield_())\n",
}


def _both_ways(text: str) -> tuple[Extractor, ModuleFacts, ModuleFacts]:
    def work() -> tuple[Extractor, ModuleFacts, ModuleFacts]:
        parsed = parse_source(text)
        from_tree = Extractor(parsed.module, text, parsed.tree)
        facts = from_tree.run()
        return from_tree, facts, Extractor(parsed.module, text).run()

    return run_with_big_stack(work)


def _sites(facts: ModuleFacts) -> list[CallSite]:
    sites = list(facts.calls)
    for function in facts.functions.values():
        sites += [*function.calls, *function.property_reads, *function.lambda_calls]
    return sites


def _positions(facts: ModuleFacts) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for qualname, function in facts.functions.items():
        rows.append((qualname, function.def_start, function.line, function.column))
    for site in _sites(facts):
        rows.append(tuple(getattr(site, name) for name in SITE_FIELDS))
    return rows


def _assert_same_positions(text: str) -> Extractor:
    extractor, from_tree, generated = _both_ways(text)
    assert _positions(from_tree) == _positions(generated)
    return extractor


def _has_positions(extractor: Extractor) -> bool:
    return bool(_sites(extractor.facts) or extractor.facts.functions)


@pytest.mark.slow  # every fixture and example file (the snippets below stay in the fast suite)
@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_files_same_positions_both_ways(path: Path) -> None:
    text = decode_source(path.read_bytes()).text
    extractor = _assert_same_positions(text)
    assert extractor.positions_from_tree or not _has_positions(extractor)


# Snippets whose positions the tree path leaves to code generation, and why.
FALLS_BACK = {
    "tuples and generators": "the interpreter's extent of `(a, b)` includes its parentheses",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippets_same_positions_both_ways(name: str) -> None:
    extractor = _assert_same_positions(SNIPPETS[name])
    assert _has_positions(extractor)
    assert extractor.positions_from_tree == (name not in FALLS_BACK)


def test_snippets_inside_indented_blocks() -> None:
    """The same snippets one class deeper: columns and indentation inside f-strings shift."""
    for text in SNIPPETS.values():
        newline = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
        body = textwrap.indent(text.replace(newline, "\n"), "    ").replace("\n", newline)
        _assert_same_positions(f"class Outer:{newline}{body}")


def test_analysis_compiles_each_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The syntax check's tree is the one positions come from: no second compile."""
    compiled: list[str] = []

    def counting_compile(source: str, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return compile(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(source_module, "compile", counting_compile, raising=False)
    text = "async def f():\n    time.sleep(1)\n"
    facts = analyse_text(text)
    assert compiled == [text]
    assert facts.functions["f"].calls[0].start == text.index("time")


def test_newer_syntax_without_a_tree_uses_code_generation() -> None:
    text = "async def f():\n    time.sleep(1)\n"
    module = cst.parse_module(text)
    extractor = Extractor(module, text, None)
    extractor.run()
    assert not extractor.positions_from_tree
    assert extractor.facts.functions["f"].calls[0].start == text.index("time")


def test_a_tree_of_other_text_is_not_trusted() -> None:
    """Pairing checks shapes: a tree that does not match the module falls back."""
    text = "async def f():\n    time.sleep(1)\n"
    other = ast.parse("async def g():\n    other.call(2)\n")
    extractor = Extractor(cst.parse_module(text), text, other)
    extractor.run()
    assert not extractor.positions_from_tree
    assert extractor.facts.functions["f"].calls[0].start == text.index("time")


def _visiting_order(node_type: type) -> list[str]:
    """The order in which libcst's own visitor reads a node type's fields."""
    source = textwrap.dedent(inspect.getsource(node_type._visit_and_replace_children))
    fields = {field.name for field in dataclasses.fields(node_type)}
    first_use: dict[str, tuple[int, int]] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and node.attr in fields
        ):
            place = (node.lineno, node.col_offset)
            first_use[node.attr] = min(first_use.get(node.attr, place), place)
    return sorted(first_use, key=first_use.__getitem__)


def _node_types() -> list[type]:
    found: list[type] = []
    pending = [cst.CSTNode]
    while pending:
        current = pending.pop()
        for subclass in current.__subclasses__():
            pending.append(subclass)
            # libcst replaces each class by a copy with slots; keep the one it exports.
            exported = getattr(sys.modules[subclass.__module__], subclass.__name__, None)
            concrete = dataclasses.is_dataclass(subclass) and not inspect.isabstract(subclass)
            if concrete and exported is subclass:
                found.append(subclass)
    return sorted(set(found), key=lambda kind: kind.__name__)


_VISITED_OUT_OF_ORDER = {"FormattedStringExpression", "TemplatedStringExpression"}


@pytest.mark.parametrize(
    "node_type",
    [kind for kind in _node_types() if kind.__name__ not in _VISITED_OUT_OF_ORDER],
    ids=lambda kind: kind.__name__,
)
def test_walk_follows_source_order(node_type: type) -> None:
    """The tree path lists libcst nodes in source order; a libcst release that reorders or
    adds fields must show up here rather than as a silent fallback."""
    walked = list(source_order_fields(node_type))
    visited = [name for name in _visiting_order(node_type) if name in walked]
    assert walked == visited


def test_the_walk_stops_at_f_strings_whose_parts_libcst_visits_out_of_order() -> None:
    """libcst visits an f-string expression's format spec before the expression itself, so the
    tree path never walks into an f-string: it lists the string as one anchor and notes the
    nodes inside, which are located by generating that string alone."""
    for name in _VISITED_OUT_OF_ORDER:
        node_type = getattr(cst, name, None)
        if node_type is not None:  # t-strings: newer libcst releases only
            order = _visiting_order(node_type)
            assert order.index("format_spec") < order.index("expression")
    module = cst.parse_module('x = f"{a():{b()}}"\n')
    anchors = _CstAnchors(module)
    assert anchors.by_kind["call"] == []
    assert [type(node) for node in anchors.by_kind["string"]] == [cst.FormattedString]
    inner_calls = [node for node in _all_nodes(module) if type(node) is cst.Call]
    assert len(inner_calls) == 2
    assert all(id(call) in anchors.string_of for call in inner_calls)


def _all_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_all_nodes(child))
    return found
