"""Bytes on disk to a libcst module, or one clear problem. Never raises.

The native libcst parser recurses in Rust; on pathological nesting it can overflow the C stack
and kill the process, which would take a whole flake8 run down with it. Parsing therefore runs
on a dedicated thread with a large stack, and recursion errors become a file problem.
"""

from __future__ import annotations

import ast
import codecs
import io
import os
import sys
import threading
import tokenize
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    import libcst as cst

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_BIG_STACK = 512 * 1024 * 1024
# Python frames allowed on the parser thread. Walking a libcst tree recurses a few frames per
# level of nesting, and valid Python nests up to the interpreter's own limit (a few thousand
# `elif`s or `+` terms), far past the default of 1000; the large C stack has room for this.
_DEEP_RECURSION = 20_000
# The limit the interpreter compiles files with: the syntax check runs under it, so a file is
# refused as too deep exactly when Python itself would refuse it.
_NORMAL_RECURSION = sys.getrecursionlimit()
_T = TypeVar("_T")


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str


class SourceProblem(Exception):
    """Why a file cannot be analysed, in words for the user."""


def decode_source(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceText:
    """Decode Python source bytes as the interpreter would (BOM, PEP 263 coding cookie)."""
    if len(data) > max_bytes:
        raise SourceProblem(
            f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit (max-file-size)"
        )
    if b"\x00" in data:
        raise SourceProblem("file contains NUL bytes; it is not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if str(error.msg).startswith("invalid or missing encoding declaration"):
            # No coding comment, and the first lines are not UTF-8.
            raise SourceProblem(_not_utf8(data)) from None
        raise SourceProblem(f"bad encoding declaration: {error.msg}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        if codecs.lookup(encoding).name == "utf-8":
            raise SourceProblem(_not_utf8(data)) from None
        line = data[: error.start].count(b"\n") + 1
        raise SourceProblem(
            f"line {line} cannot be decoded as {encoding}, the encoding the file declares: "
            f"{error.reason}"
        ) from None
    except LookupError as error:
        raise SourceProblem(f"cannot decode file as {encoding}: {error}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceText(text=text, encoding=encoding)


def _not_utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return (
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} on line {line}) and no coding "
            "comment (PEP 263) declares another encoding"
        )
    return "not valid UTF-8, and no coding comment (PEP 263) declares another encoding"


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _forget_parser_thread_after_fork() -> None:
    # A forked worker (flake8 --jobs, the CLI's process pool) inherits the executor object but
    # not its thread: submitting to it would wait forever. Start afresh in the child.
    global _executor, _executor_lock  # noqa: PLW0603 - reset of the per-process parser thread
    _executor = None
    _executor_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parser_thread_after_fork)


def _big_stack_executor() -> ThreadPoolExecutor:
    global _executor  # noqa: PLW0603 - one parser thread per process, created on first use
    with _executor_lock:
        if _executor is None:
            previous = threading.stack_size()
            try:
                threading.stack_size(_BIG_STACK)
                changed = True
            except (ValueError, RuntimeError):  # platforms that refuse: keep the default
                changed = False
            try:
                _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apl-parse")
                # Threads are created lazily: start ours while the large stack size is set.
                _executor.submit(lambda: None).result()
            finally:
                if changed:
                    threading.stack_size(previous)
        return _executor


def run_with_big_stack(function: Callable[[], _T]) -> _T:
    """Run `function` on the parser thread (which has a large C stack, and there a recursion
    limit to match) and return its result."""
    if threading.current_thread().name.startswith("apl-parse"):
        return function()
    return _big_stack_executor().submit(_deep, function).result()


def _deep(function: Callable[[], _T]) -> _T:
    # The recursion limit is per interpreter, not per thread; the caller waits on our result.
    with _recursion_limit(max(sys.getrecursionlimit(), _DEEP_RECURSION)):
        return function()


@contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


@dataclass(frozen=True)
class ParsedSource:
    module: cst.Module
    # The interpreter's tree of the same text, which the syntax check built anyway: it gives
    # source positions (positions.py). None when only libcst's newer grammar accepts the text.
    tree: ast.Module | None


def parse_module(text: str) -> cst.Module:
    """Parse text with libcst; problems become SourceProblem. Call via run_with_big_stack."""
    return parse_source(text).module


def parse_source(text: str) -> ParsedSource:
    """Parse text with libcst, keeping the interpreter's tree too; problems become
    SourceProblem. Call via run_with_big_stack.

    The interpreter's own parser runs first: it is a twentieth of libcst's cost, its verdict on
    syntax is the one that matters, and it refuses the extreme nesting (chains of thousands of
    `+`, `.attr` or `()`) on which libcst's parser takes minutes while holding the GIL.
    """
    import libcst as cst  # noqa: PLC0415 - a run served from the cache never needs it

    verdict = _interpreter_verdict(text)
    problem = verdict.problem
    if problem is not None and verdict.final:
        raise SourceProblem(problem)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        # The interpreter's message is the one users know; libcst's when only it objects.
        position = f"line {error.raw_line}, column {error.raw_column + 1}"
        raise SourceProblem(problem or f"syntax error at {position}: {error.message}") from None
    except RecursionError:
        raise SourceProblem("nesting too deep for the parser") from None
    except MemoryError:
        raise SourceProblem("file too large for the parser (out of memory)") from None
    except Exception as error:  # libcst raises a few undocumented errors on odd input
        raise SourceProblem(f"parser failed: {type(error).__name__}: {error}") from None
    if problem is not None and not uses_newer_syntax(module):
        # libcst accepts some invalid code (b"é"); only newer syntax excuses the interpreter's
        # objection.
        raise SourceProblem(problem)
    return ParsedSource(module, verdict.tree)


def uses_newer_syntax(module: cst.Module) -> bool:
    """Whether the module uses syntax the running interpreter's grammar lacks."""
    from async_pitfalls_lint.newer_syntax import uses_newer_syntax as check  # noqa: PLC0415

    return check(module)


def syntax_problem(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """A cheap validity check (decoding and the interpreter's own parser) for files that need no
    analysis: the problem in words, or None when the file is fine."""
    try:
        source = decode_source(data, max_bytes)
        verdict = _interpreter_verdict(source.text)
        problem = verdict.problem
        if problem is not None and not verdict.final:
            run_with_big_stack(lambda: parse_module(source.text))  # syntax newer than ours?
            return None
    except SourceProblem as error:
        return str(error)
    return problem


# The interpreter's parser refuses these outright; libcst would take minutes on them.
_NESTING_MESSAGES = ("too many nested", "too complex", "too many statically nested")


@dataclass(frozen=True)
class _Verdict:
    tree: ast.Module | None
    problem: str | None = None
    # A problem is final unless the file may use syntax newer than the running interpreter,
    # which libcst (with its own grammar) then decides on.
    final: bool = False


def _interpreter_verdict(text: str) -> _Verdict:
    """The interpreter's tree of the text, or its problem with it."""
    try:
        with _recursion_limit(min(sys.getrecursionlimit(), _NORMAL_RECURSION)):
            tree = compile(text, "<file>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        message = f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
        return _Verdict(None, message, any(part in str(error.msg) for part in _NESTING_MESSAGES))
    except (RecursionError, MemoryError):
        return _Verdict(None, "nesting too deep for the parser", True)
    except ValueError as error:
        return _Verdict(None, f"invalid source: {error}", True)
    return _Verdict(cast("ast.Module", tree))  # PyCF_ONLY_AST in "exec" mode: a Module
