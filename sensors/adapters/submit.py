"""Submitting to the batch writer from a TCP session: wait out back-pressure, never drop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from geomon.errors import Overloaded


async def submit_with_backpressure(
    submit: Callable[..., Awaitable[int]], records: list[Any], **kwargs: Any
) -> int:
    """Retry while the writer's queue is full (the session stops reading meanwhile)."""
    while True:
        try:
            return await submit(records, **kwargs)
        except Overloaded as exc:
            await asyncio.sleep(exc.retry_after_s)
