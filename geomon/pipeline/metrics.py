"""Process-wide counters for ingest (exposed on /metrics in Prometheus text format)."""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """Thread-safe named counters with optional labels, e.g. ``inc("dropped", reason="x")``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def inc(self, name: str, n: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] += n

    def get(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._values[(name, tuple(sorted(labels.items())))]

    def snapshot(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
        with self._lock:
            return dict(self._values)

    def prometheus(self, prefix: str = "geomon_") -> str:
        lines = []
        for (name, labels), value in sorted(self.snapshot().items()):
            lab = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(
                f"{prefix}{name}_total{{{lab}}} {value}" if lab else f"{prefix}{name}_total {value}"
            )
        return "\n".join(lines) + "\n"


COUNTERS = Counters()
