"""Source positions for chosen nodes, at the cost of one code generation pass.

libcst's PositionProvider records a range for every node and costs about 1.5x the parse. We
need positions only for calls and function definitions, so we run the module's own code
generation with a state that remembers the token index where each wanted node starts and ends,
then turn token indices into character offsets and those into (line, column) pairs.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
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
    """Character offset to (1-based line, 0-based column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self._starts, offset) - 1
        return row + 1, offset - self._starts[row]


def node_offsets(
    module: cst.Module, start_nodes: Sequence[cst.CSTNode], end_nodes: Sequence[cst.CSTNode]
) -> tuple[list[int], list[int]]:
    """Character offsets where start_nodes[i] begins and end_nodes[i] ends."""
    wanted_start: dict[int, list[int]] = {}
    for slot, node in enumerate(start_nodes):
        wanted_start.setdefault(id(node), []).append(slot)
    wanted_end: dict[int, list[int]] = {}
    for slot, node in enumerate(end_nodes):
        wanted_end.setdefault(id(node), []).append(slot)
    state = _MarkingState(module, wanted_start, wanted_end)
    module._codegen(state)
    offsets = list(itertools.accumulate(map(len, state.tokens), initial=0))
    starts = [offsets[state.starts.get(slot, 0)] for slot in range(len(start_nodes))]
    ends = [offsets[state.ends.get(slot, 0)] for slot in range(len(end_nodes))]
    return starts, ends
