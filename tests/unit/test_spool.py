"""The on-disk spool: batches survive a round trip exactly, a torn tail (crash mid-append)
is ignored, segments are sealed and removed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from geomon.model import Observation, Position
from geomon.pipeline.spool import Spool, SpooledBatch, decode_records, encode_batch

T = datetime(2026, 11, 1, 8, 0, 0, 123_000, tzinfo=UTC)


def _batch(i: int) -> SpooledBatch:
    return SpooledBatch(
        "tracker",
        T,
        [
            Position(
                f"D{i}",
                T,
                42.5,
                74.25,
                speed_mps=1.5,
                satellites=7,
                raw=b"\x00\xff",
                attrs={"io": {"239": 1}, "note": "ü"},
                protocol="teltonika",
            )
        ],
        [
            Observation(
                f"S{i}", T, "radiation_alarm", value=3.5, lat=None, lon=None, attrs={"lane": 2}
            )
        ],
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_batch(1), _batch(2)])
    spool.append([_batch(3)])
    segments = spool.segments()
    assert len(segments) == 1
    assert Spool.read(segments[0]) == [_batch(1), _batch(2), _batch(3)]
    spool.append([_batch(4)])  # after sealing: a new segment
    assert len(spool.segments()) == 2


def test_torn_tail_is_ignored() -> None:
    data = encode_batch(_batch(1)) + encode_batch(_batch(2))
    for cut in range(len(encode_batch(_batch(1))), len(data)):
        assert list(decode_records(data[:cut])) == [_batch(1)]
    corrupt = bytearray(data)
    corrupt[-3] ^= 0xFF
    assert list(decode_records(bytes(corrupt))) == [_batch(1)]


def test_remove_and_pending_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    assert spool.segments() == [] and spool.pending_bytes() == 0
    spool.append([_batch(1)])
    assert spool.pending_bytes() > 0
    for seg in spool.segments():
        spool.remove(seg)
    assert spool.pending_bytes() == 0
