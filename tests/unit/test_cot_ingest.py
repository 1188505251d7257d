"""Cursor-on-Target ingest, sans I/O: the ``</event>`` framer under any chunking, and the pure
decoder on events written by the TAK client library pytak (what ATAK-like clients send)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytak
import pytest

from sensors.framing import CotFramer
from sensors.protocols import cot


def _ev(uid: str = "ANDROID-1", lat: float = 40.5, lon: float = 72.8, **kw: object) -> bytes:
    out = pytak.gen_cot(lat=lat, lon=lon, uid=uid, cot_type="a-f-G-U-C", stale=120, **kw)
    assert out is not None
    return out


def test_framer_is_chunking_invariant_and_skips_garbage() -> None:
    stream = b"\r\n junk " + _ev("A") + b"\n" + _ev("B") + _ev("C") + b"\n\n"
    whole = CotFramer().feed(stream)
    assert len(whole) == 3 and all(f.startswith(b"<") and f.endswith(b"</event>") for f in whole)
    for step in (1, 2, 7, 61):
        fr = CotFramer()
        frames = [f for i in range(0, len(stream), step) for f in fr.feed(stream[i : i + step])]
        assert frames == whole, step
    assert [cot.decode(f).device_uid for f in whole] == ["A", "B", "C"]  # type: ignore[union-attr]


def test_framer_drops_an_oversize_event_and_resyncs() -> None:
    fr = CotFramer(max_frame_bytes=1024)
    huge = b"<event uid='x'>" + b"<a/>" * 1000 + b"</event>"
    frames = fr.feed(huge[:700]) + fr.feed(huge[700:]) + fr.feed(_ev("after"))
    assert [cot.decode(f).device_uid for f in frames] == ["after"]  # type: ignore[union-attr]
    assert fr.stats.oversize_frames == 1
    assert fr.flush() == [] and CotFramer().feed(b"<event uid='x'>") == []


def test_decoder_reads_a_pytak_position_report() -> None:
    frame = _ev("ANDROID-77", 39.1234, 71.5, callsign="Alpha-2", ce=12.5)
    pos = cot.decode(frame)
    assert pos is not None and pos.protocol == "cot"
    assert (pos.device_uid, pos.lat, pos.lon) == ("ANDROID-77", 39.1234, 71.5)
    assert pos.fix_time.tzinfo is not None
    assert abs((pos.fix_time - datetime.now(UTC)).total_seconds()) < 60
    assert pos.altitude_m is None  # 9999999.0 is CoT's "unknown"
    assert pos.attrs["cot_type"] == "a-f-G-U-C" and pos.attrs["ce_m"] == 12.5


def test_decoder_track_contact_and_ignored_types() -> None:
    frame = (
        b'<?xml version="1.0"?><event version="2.0" uid="WINTAK-9" type="a-f-G-U-C-I" '
        b'how="m-g" time="2026-11-20T08:30:00Z" start="2026-11-20T08:30:00.5Z" '
        b'stale="2026-11-20T08:35:00Z"><point lat="40.1" lon="72.9" hae="812.0" ce="5" '
        b'le="9999999.0"/><detail><track speed="12.5" course="370"/><contact callsign="B-1"/>'
        b'<__group name="Cyan" role="Team Member"/></detail></event>'
    )
    pos = cot.decode(frame)
    assert pos is not None
    assert pos.fix_time == datetime(2026, 11, 20, 8, 30, 0, 500000, tzinfo=UTC)
    assert (pos.speed_mps, pos.course_deg, pos.altitude_m) == (12.5, 10.0, 812.0)
    assert pos.attrs["callsign"] == "B-1" and pos.attrs["team"] == "Cyan"
    ping = pytak.gen_cot(uid="ANDROID-1", cot_type="t-x-c-t", lat=0, lon=0)
    assert ping is not None and cot.decode(ping) is None
    marker = _ev().replace(b'type="a-f-G-U-C"', b'type="b-m-p-s-m"')
    assert cot.decode(marker) is None


@pytest.mark.parametrize(
    "frame,message",
    [
        (b"hello", "no <event>"),
        (b"<event uid='a' type='a-f-G'><point lat='1' lon='2'/>", "well-formed"),
        (
            b'<!DOCTYPE e [<!ENTITY x "y">]><event type="a-f-G" uid="a">&x;</event>',
            "DOCTYPE",
        ),
        (b"<event type='a-f-G' uid='a' start='2026-11-20T08:30:00Z'/>", "no <point>"),
        (
            b"<event type='a-f-G' uid='a' start='2026-11-20T08:30:00Z'>"
            b"<point lat='95' lon='2'/></event>",
            "latitude",
        ),
        (
            b"<event type='a-f-G' uid='a' start='2026-11-20T08:30:00'>"
            b"<point lat='5' lon='2'/></event>",
            "time zone",
        ),
        (
            b"<event type='a-f-G' start='2026-11-20T08:30:00Z'><point lat='5' lon='2'/></event>",
            "uid",
        ),
        (
            b"<event type='a-f-G' uid='a' start='2026-11-20T08:30:00Z'>"
            b"<point lat='nan' lon='2'/></event>",
            "finite",
        ),
        (  # CoT's "unknown" value in lat/lon (found by tests/unit/test_fuzz_decoders.py)
            b"<event type='a-f-G' uid='a' start='2026-11-20T08:30:00Z'>"
            b"<point lat='5' lon='9999999'/></event>",
            "unknown",
        ),
    ],
)
def test_decoder_refuses_bad_frames(frame: bytes, message: str) -> None:
    with pytest.raises(cot.CotError, match=message):
        cot.decode(frame)
