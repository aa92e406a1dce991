"""Run a coroutine to completion from synchronous code, wherever that code is called from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_fresh_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` in a new event loop on a private thread and return its result.

    Plain ``asyncio.run`` fails inside a running loop, and even outside one it resets the
    thread's current event loop when it finishes, which would pull the rug from under
    pytest-asyncio's session loop. A private thread has its own current-loop slot, so the
    caller's loop (if any) is never touched. The caller blocks until the result is in.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="devstack-aio") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
