"""The live hub's fan-out: coalescing, bounded queues and resync for slow consumers."""

from __future__ import annotations

import asyncio

from api.live import LiveHub, Subscriber


def test_backlog_is_coalesced() -> None:
    async def go() -> tuple[bool, set[int], set[int]]:
        sub = Subscriber()
        sub.offer("devices", [1, 2])
        sub.offer("devices", [2, 3])
        sub.offer("events", [7])
        return await sub.next_batch()

    assert asyncio.run(go()) == (False, {1, 2, 3}, {7})


def test_slow_consumer_gets_a_resync_instead_of_a_backlog() -> None:
    async def go() -> tuple[bool, set[int], set[int]]:
        sub = Subscriber(queue=asyncio.Queue(maxsize=3))
        for i in range(10):
            sub.offer("devices", [i])
        return await sub.next_batch()

    resync, devices, events = asyncio.run(go())
    assert resync and devices == set() | devices and len(devices) <= 3 and not events


def test_dispatch_fans_out_and_ignores_garbage() -> None:
    async def go() -> list[tuple[bool, set[int], set[int]]]:
        hub = LiveHub("postgresql://unused")
        a, b = Subscriber(), Subscriber()
        hub.subscribers |= {a, b}
        hub.dispatch("geomon_live", '{"devices": [5, "x"]}')
        hub.dispatch("geomon_live", "not json")
        hub.dispatch("geomon_events", '{"events": [9]}')
        return [await a.next_batch(), await b.next_batch()]

    assert asyncio.run(go()) == [(False, {5}, {9})] * 2
