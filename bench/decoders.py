"""Decoder throughput on the real captures, against a floor measured in the same run.

Floor: building the same Position objects from already-decoded values — the least any
decoder must do. The ratio says how much the decoding itself costs on top of that.

    .venv/bin/python bench/decoders.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from geomon.model import Position
from sensors.protocols.nmea import NmeaStreamDecoder
from sensors.protocols.teltonika import AvlPacket, TeltonikaStreamDecoder, decode_packet

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def best_rate(fn: Callable[[], int], repeat: int = 5) -> float:
    """Items per second of the fastest of ``repeat`` runs (the least disturbed one)."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


def floor(positions: list[Position], rounds: int) -> Callable[[], int]:
    fields = [(p.device_uid, p.fix_time, p.lat, p.lon, p.speed_mps, p.attrs) for p in positions]

    def run() -> int:
        for _ in range(rounds):
            for uid, t, lat, lon, speed, attrs in fields:
                Position(uid, t, lat, lon, speed_mps=speed, attrs=dict(attrs))
        return rounds * len(fields)

    return run


def teltonika() -> None:
    entries = json.loads((FIXTURES / "trackers" / "teltonika.json").read_text())
    packets = [
        bytes.fromhex(e["raw"])
        for e in entries
        if e["expected"]["kind"] == "avl" and e["expected"].get("crc_valid")
    ]
    stream = bytes.fromhex("000f313233343536373839303132333435") + b"".join(packets)
    rounds = 100

    def decode() -> int:
        n = 0
        for _ in range(rounds):
            for item in TeltonikaStreamDecoder().feed(stream):
                if isinstance(item, AvlPacket):
                    n += len(item.positions("123456789012345"))
        return n

    sample = [p for f in packets for p in decode_packet(f).positions("x")]  # type: ignore[union-attr]
    rate, base = best_rate(decode), best_rate(floor(sample, rounds))
    print(f"teltonika: {rate:,.0f} records/s (framer+CRC+decode+Position), "
          f"floor {base:,.0f}/s, ratio {rate / base:.3f}")  # fmt: skip


def nmea() -> None:
    logs = [(FIXTURES / "nmea" / "gpsd" / f"{n}.log").read_bytes() for n in ("mt3339", "neo-m8n")]
    data = b"".join(logs)
    rounds = 20

    def decode() -> int:
        n = 0
        for _ in range(rounds):
            dec = NmeaStreamDecoder("x")
            n += len(dec.feed(data) + dec.flush())
        return n

    dec = NmeaStreamDecoder("x")
    sample = dec.feed(data) + dec.flush()
    sentences = dec.stats.accepted + dec.stats.rejected
    rate, base = best_rate(decode), best_rate(floor(sample, rounds))
    print(f"nmea: {rate:,.0f} fixes/s ({rate * sentences / len(sample):,.0f} sentences/s), "
          f"floor {base:,.0f}/s, ratio {rate / base:.3f}")  # fmt: skip


if __name__ == "__main__":
    teltonika()
    nmea()
