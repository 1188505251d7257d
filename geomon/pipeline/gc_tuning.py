"""Garbage-collector settings for the long-running ingest processes (listener workers and
their event processes).

Every record makes a few short-lived containers (attrs dicts, a Position, a row tuple), so
the cyclic collector runs often, and each older-generation pass walks every tracked object,
including the ~130,000 that importing psycopg, pydantic, numpy, shapely and typer leaves
behind and that live as long as the process. Decoding a Teltonika record cost ~10% less with
that start-up heap frozen (moved out of the collector's reach; ``gc.freeze``). Cycles made
later are still collected; the first generation is collected less often (every 10,000
allocations instead of 700), which costs at most a few MB of garbage waiting longer.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000


def freeze_startup_heap() -> None:
    """Call once the process has imported and set up what it keeps for its lifetime."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
