"""The ingest processes' GC settings (geomon.pipeline.gc_tuning), checked in a fresh
interpreter so this test process keeps its own."""

from __future__ import annotations

import subprocess
import sys


def test_freeze_startup_heap_freezes_and_raises_the_first_threshold() -> None:
    code = (
        "import gc, psycopg\n"
        "from geomon.pipeline.gc_tuning import GEN0_THRESHOLD, freeze_startup_heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "freeze_startup_heap()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "assert gc.get_threshold()[0] == GEN0_THRESHOLD > 700\n"
        "a = []; a.append(a); del a\n"  # a cycle made later is still collected
        "assert gc.collect() >= 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
