"""Checks beyond "a blocking call in event-loop code": each one bound to a catalog code.

The tuple below is the complete list; there is no registration by import side effect.
"""

from __future__ import annotations

from async_pitfalls_lint.checks.background_tasks import heavy_background_task
from async_pitfalls_lint.checks.base import CheckContext
from async_pitfalls_lint.checks.event_loop_api import executor_per_request, get_event_loop
from async_pitfalls_lint.checks.never_awaits import async_route_never_awaits
from async_pitfalls_lint.checks.thread_offload import cpu_work_in_thread_pool

OFFLOADING_CHECKS = (
    cpu_work_in_thread_pool,  # APL301
    heavy_background_task,  # APL302
    async_route_never_awaits,  # APL303
    get_event_loop,  # APL304
    executor_per_request,  # APL305
)

__all__ = ["OFFLOADING_CHECKS", "CheckContext"]
