"""From sampled stacks to what a reader needs: the deepest project frame and the call under it.

"Project" frames are in files under the session's rootdir, outside site-packages and the
standard library. A stalled stack ends either in a library frame (the project called into
Python library code: that frame is the library call) or in the project frame itself, when the
call in progress is native code (`time.sleep`, a compiled extension): the call is then read
from the source span of the frame's current instruction.
"""

from __future__ import annotations

import dis
import linecache
import os
import sys
import sysconfig
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from async_pitfalls_lint.runtime.monitor import RawFrame, RawStack
from async_pitfalls_lint.runtime.stall_report import Location, StackFrame

_ASYNCIO_DIR = os.path.dirname(os.path.realpath(sys.modules["asyncio"].__file__ or ""))
_RUNTIME_DIR = os.path.dirname(os.path.realpath(__file__))
_LIBRARY_MARKERS = ("site-packages", "dist-packages")
# Instructions during which a frame waits for something it called: a call, a context manager's
# __enter__ (`with lock:`), an import.
_WAITING_OPS = ("CALL", "PRECALL", "BEFORE_WITH", "SETUP_WITH", "IMPORT_NAME")


@dataclass(frozen=True)
class CollapsedStack:
    frame: StackFrame | None
    library_call: str | None
    stack: tuple[StackFrame, ...]
    project_lines: tuple[Location, ...]


class FrameClassifier:
    """Which files are the project's, and how their paths are shown (relative to the rootdir)."""

    def __init__(self, rootdir: str) -> None:
        self.rootdir = os.path.realpath(rootdir)
        paths = sysconfig.get_paths()
        self._library_dirs = tuple(
            os.path.realpath(paths[key]) + os.sep
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if key in paths
        )
        self._project = lru_cache(maxsize=None)(self._is_project)
        self._display = lru_cache(maxsize=None)(self._display_path)

    def is_project(self, filename: str) -> bool:
        return self._project(filename)

    def display(self, filename: str) -> str:
        return self._display(filename)

    def _is_project(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        real = os.path.realpath(filename)
        if not real.startswith(self.rootdir + os.sep) or real.startswith(_RUNTIME_DIR + os.sep):
            return False
        if any(part in _LIBRARY_MARKERS for part in Path(real).parts):
            return False
        return not real.startswith(self._library_dirs)

    def _display_path(self, filename: str) -> str:
        if filename.startswith("<"):
            return filename
        real = os.path.realpath(filename)
        if real.startswith(self.rootdir + os.sep):
            return Path(os.path.relpath(real, self.rootdir)).as_posix()
        return real


def loop_frames(raw: RawStack) -> RawStack:
    """The frames the loop was running: everything under the handle it dispatched last."""
    for index in range(len(raw) - 1, -1, -1):
        code = raw[index].code
        if code.co_name == "_run" and _in_asyncio(code.co_filename):
            return raw[index + 1 :]
    return raw


def _in_asyncio(filename: str) -> bool:
    return os.path.dirname(os.path.realpath(filename)) == _ASYNCIO_DIR


def resolve(raw: RawStack, classifier: FrameClassifier) -> tuple[StackFrame, ...]:
    return tuple(
        StackFrame(
            path=classifier.display(frame.code.co_filename),
            line=frame.line,
            function=_qualname(frame),
            module=frame.module,
            project=classifier.is_project(frame.code.co_filename),
            column=_call_column(frame),
        )
        for frame in loop_frames(raw)
    )


def _qualname(frame: RawFrame) -> str:
    return getattr(frame.code, "co_qualname", frame.code.co_name)


def _positions(frame: RawFrame) -> tuple[int | None, int | None, int | None, int | None] | None:
    """The source span of the frame's current instruction (Python 3.11+)."""
    positions = getattr(frame.code, "co_positions", None)
    if positions is None or frame.lasti < 0:
        return None
    wanted = frame.lasti // 2
    for index, span in enumerate(positions()):
        if index == wanted:
            start_line, end_line, start_col, end_col = span
            return start_line, end_line, start_col, end_col
    return None


def _is_waiting(frame: RawFrame) -> bool:
    code = frame.code.co_code
    if not 0 <= frame.lasti < len(code):
        return False
    return dis.opname[code[frame.lasti]].startswith(_WAITING_OPS)


def _call_column(frame: RawFrame) -> int | None:
    span = _positions(frame)
    if span is None or span[0] != frame.line or span[2] is None:
        return None
    text = linecache.getline(frame.code.co_filename, frame.line)
    # co_positions columns count UTF-8 bytes; findings count characters
    return len(text.encode("utf-8")[: span[2]].decode("utf-8", "replace")) + 1


def native_call(frame: RawFrame) -> str | None:
    """The callee of the native call a frame is in, from its source: `time.sleep`."""
    if not _is_waiting(frame):
        return None
    span = _positions(frame)
    if span is None or None in span:
        line = linecache.getline(frame.code.co_filename, frame.line).strip()
        return line or None
    start_line, end_line, start_col, end_col = span
    assert start_line is not None
    assert end_line is not None
    assert start_col is not None
    assert end_col is not None
    lines = [
        linecache.getline(frame.code.co_filename, number).encode("utf-8")
        for number in range(start_line, end_line + 1)
    ]
    if not any(lines):
        return None
    if len(lines) == 1:
        segment = lines[0][start_col:end_col]
    else:
        segment = lines[0][start_col:] + b"".join(lines[1:-1]) + lines[-1][:end_col]
    text = " ".join(segment.decode("utf-8", "replace").split())
    callee = text.split("(", 1)[0].strip()
    return callee or text or None


def _key_frames(
    raw: RawStack, frames: tuple[StackFrame, ...]
) -> tuple[StackFrame | None, str | None]:
    kept = loop_frames(raw)
    deepest = max((index for index, frame in enumerate(frames) if frame.project), default=None)
    if deepest is None:
        return None, None
    if deepest + 1 < len(frames):
        below = kept[deepest + 1]
        name = _qualname(below)
        return frames[deepest], f"{below.module}.{name}" if below.module else name
    return frames[deepest], native_call(kept[deepest])


def collapse(samples: Sequence[RawStack], classifier: FrameClassifier) -> CollapsedStack:
    """One stall's samples as its most frequent (project frame, library call) and that stack."""
    if not samples:
        return CollapsedStack(None, None, (), ())
    resolved = [resolve(raw, classifier) for raw in samples]
    keys = [_key_frames(raw, frames) for raw, frames in zip(samples, resolved, strict=True)]
    counts = Counter(
        (frame.path, frame.line, frame.function, call) if frame else None for frame, call in keys
    )
    best_index = 0
    best = -1
    for index, (frame, call) in enumerate(keys):
        count = counts[(frame.path, frame.line, frame.function, call) if frame else None]
        if count > best:
            best, best_index = count, index
    frame, call = keys[best_index]
    stack = resolved[best_index]
    ordered = [stack, *(other for index, other in enumerate(resolved) if index != best_index)]
    lines: dict[Location, None] = {}
    for frames in ordered:
        for item in reversed(frames):
            if item.project:
                lines.setdefault(Location(item.path, item.line, item.column), None)
    return CollapsedStack(frame, call, stack, tuple(lines))
