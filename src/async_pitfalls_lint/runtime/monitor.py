"""Noticing event-loop stalls: instrumented loops and a watchdog thread that samples them.

Every asyncio loop that runs while the monitor is on is instrumented, however it was created
(pytest-asyncio, anyio's pytest plugin, `asyncio.run`, the loop Starlette's TestClient runs in
its portal thread): `BaseEventLoop.run_forever` is wrapped, and for as long as it runs, the
loop's selector's `select` is shadowed by an instance attribute that notes when the loop thread
goes idle (enters `select`) and when it comes back (leaves it). Between the two the thread is
busy with the loop's callbacks; a busy period longer than the threshold is a stall. The loop
thread measures its own busy periods, so durations are exact; the watchdog thread only looks at
busy periods that have run for half the threshold and samples the loop thread's stack with
`sys._current_frames()`, several times while the period lasts.

The fast path (every loop iteration) is two clock reads and three attribute writes; nothing is
locked there. A sample is kept only if the same busy period was still running after it was
taken, so a stack is never attributed to the wrong stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

MAX_DEPTH = 128  # frames kept per sample, the innermost ones
MAX_SAMPLES = 32  # per stall; longer stalls keep every other sample, then every fourth, ...
MIN_POLL = 0.002
MAX_POLL = 0.05

clock = time.perf_counter


@dataclass(frozen=True)
class RawFrame:
    """A frame as sampled: resolved into file, line and function only at the end."""

    code: CodeType
    line: int
    lasti: int
    module: str


RawStack = tuple[RawFrame, ...]  # outermost first


@dataclass(frozen=True)
class RawStall:
    duration: float  # seconds
    test: str | None
    phase: str | None
    thread: str
    route: str | None
    samples: tuple[RawStack, ...]


@dataclass
class LoopState:
    """What the loop thread and the watchdog share about one running loop."""

    thread_id: int
    busy_since: float | None = None  # None while the thread waits in select
    sample_token: float | None = None  # the busy period the samples below belong to
    samples: list[RawStack] = field(default_factory=list)
    seen: int = 0
    stride: int = 1
    route: str | None = None


class StallMonitor:
    def __init__(self, threshold_ms: float) -> None:
        self.threshold = threshold_ms / 1000.0
        self.sample_after = self.threshold / 2
        self.poll = min(max(self.threshold / 5, MIN_POLL), MAX_POLL)
        self.stalls: list[RawStall] = []
        self.loops = 0  # distinct loops instrumented
        self._seen_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self.errors = 0
        self.context: tuple[str | None, str | None] = (None, None)
        self._states: list[LoopState] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._original_run_forever: Callable[..., Any] | None = None
        self._wrapper: Callable[..., Any] | None = None
        self._select_code: object = None
        self._active = False

    # -- lifetime --------------------------------------------------------------------------------
    def start(self) -> None:
        original = asyncio.BaseEventLoop.run_forever
        self._original_run_forever = original
        self._wrapper = _monitored_run_forever(self, original)
        asyncio.BaseEventLoop.run_forever = self._wrapper  # type: ignore[method-assign]
        self._active = True
        self._stopping.clear()
        self._watchdog = threading.Thread(
            target=self._watch, name="async-pitfalls-lint watchdog", daemon=True
        )
        self._watchdog.start()

    def stop(self) -> None:
        """Stop watching; loops still running keep their selector until they stop, unrecorded."""
        self._active = False
        # Restore only our own wrapper: whatever patched run_forever after us stays.
        if asyncio.BaseEventLoop.run_forever is self._wrapper:
            asyncio.BaseEventLoop.run_forever = self._original_run_forever  # type: ignore[method-assign,assignment]
        self._original_run_forever = None
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
            self._watchdog = None

    def __enter__(self) -> StallMonitor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def set_context(self, test: str | None, phase: str | None) -> None:
        self.context = (test, phase)

    # -- the loop side ---------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, LoopState] | None:
        """Instrument a loop that starts running; None when it cannot be (or already is)."""
        if not self._active:
            return None
        selector = getattr(loop, "_selector", None)
        real_select = getattr(selector, "select", None)
        if selector is None or real_select is None or "select" in getattr(selector, "__dict__", {}):
            return None
        state = LoopState(thread_id=threading.get_ident(), busy_since=clock())
        try:
            selector.select = self._instrumented_select(state, real_select)
        except (AttributeError, TypeError):  # a selector with __slots__
            return None
        with self._lock:
            self._states.append(state)
            if loop not in self._seen_loops:
                self._seen_loops.add(loop)
                self.loops += 1
        return selector, state

    def detach(self, attached: tuple[Any, LoopState]) -> None:
        selector, state = attached
        self._end_busy(state)
        with contextlib.suppress(AttributeError):
            del selector.select
        with self._lock:
            if state in self._states:
                self._states.remove(state)

    def _instrumented_select(
        self, state: LoopState, real_select: Callable[..., Any]
    ) -> Callable[..., Any]:
        threshold = self.threshold

        def select(timeout: float | None = None) -> Any:
            started = state.busy_since
            state.busy_since = None
            if started is not None:
                elapsed = clock() - started
                if elapsed >= threshold:
                    self._record(state, started, elapsed)
            try:
                return real_select(timeout)
            finally:
                state.busy_since = clock()

        self._select_code = select.__code__
        return select

    def _end_busy(self, state: LoopState) -> None:
        started = state.busy_since
        state.busy_since = None
        if started is not None:
            elapsed = clock() - started
            if elapsed >= self.threshold:
                self._record(state, started, elapsed)

    def _record(self, state: LoopState, started: float, elapsed: float) -> None:
        if not self._active:
            return
        try:
            mine = state.sample_token == started
            samples = tuple(state.samples) if mine else ()
            route = state.route if mine else None
            state.sample_token = None
            state.samples = []
            test, phase = self.context
            stall = RawStall(elapsed, test, phase, threading.current_thread().name, route, samples)
            with self._lock:
                self.stalls.append(stall)
        except Exception:  # the application's loop must never fail because of the monitor
            self.errors += 1

    # -- the watchdog side -----------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stopping.wait(self.poll):
            try:
                self._check(clock())
            except Exception:
                self.errors += 1

    def _check(self, now: float) -> None:
        due = [
            (state, started)
            for state in tuple(self._states)
            if (started := state.busy_since) is not None and now - started >= self.sample_after
        ]
        if not due:
            return
        frames = sys._current_frames()
        for state, started in due:
            frame = frames.get(state.thread_id)
            if frame is not None:
                self._sample(state, started, frame)

    def _sample(self, state: LoopState, started: float, frame: FrameType) -> None:
        if frame.f_code is self._select_code:
            # A native call that held the GIL has just returned and the loop thread is back in
            # select: the stack no longer shows the stall.
            return
        first = state.sample_token != started
        if first:
            state.sample_token, state.samples, state.seen, state.stride = started, [], 0, 1
            state.route = None
        state.seen += 1
        if (state.seen - 1) % state.stride:
            return
        stack = capture_stack(frame)
        route = find_route(frame) if first else None
        if state.busy_since != started or state.sample_token != started:
            return  # the loop came back while we looked: this stack belongs to no stall
        if first:
            state.route = route
        state.samples.append(stack)
        if len(state.samples) >= MAX_SAMPLES:
            del state.samples[1::2]
            state.stride *= 2


def _monitored_run_forever(
    monitor: StallMonitor, original: Callable[..., Any]
) -> Callable[..., Any]:
    def run_forever(self: asyncio.BaseEventLoop) -> Any:
        attached = monitor.attach(self)
        try:
            return original(self)
        finally:
            if attached is not None:
                monitor.detach(attached)

    run_forever.__wrapped__ = original  # type: ignore[attr-defined]
    return run_forever


def capture_stack(frame: FrameType | None) -> RawStack:
    frames: list[RawFrame] = []
    while frame is not None and len(frames) < MAX_DEPTH:
        module = frame.f_globals.get("__name__")
        frames.append(
            RawFrame(
                frame.f_code,
                frame.f_lineno or 0,
                frame.f_lasti,
                module if isinstance(module, str) else "",
            )
        )
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)


def find_route(frame: FrameType | None) -> str | None:
    """The request the stalled stack is serving: the innermost ASGI `scope` on it."""
    while frame is not None:
        if "scope" in frame.f_code.co_varnames:
            try:
                scope = frame.f_locals.get("scope")
            except Exception:
                scope = None
            label = route_label(scope)
            if label is not None:
                return label
        frame = frame.f_back
    return None


def route_label(scope: object) -> str | None:
    if not isinstance(scope, dict) or scope.get("type") not in ("http", "websocket"):
        return None
    template = getattr(scope.get("route"), "path", None)
    path = template if isinstance(template, str) else scope.get("path")
    if not isinstance(path, str):
        return None
    method = scope.get("method") if scope["type"] == "http" else "WEBSOCKET"
    return f"{method} {path}" if isinstance(method, str) else path
