"""Sans-I/O framers: chunking invariance, resync on garbage, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.framing import LineFramer, TeltonikaFramer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOOD = b"$GPRMC,202640.000,A,4404.1306,N,12118.8515,W,0.03,225.97,130415,,,D*73"
GGA = b"$GPGGA,202640.000,4404.1306,N,12118.8515,W,2,10,0.98,1127.7,M,-19.6,M,0000,0000*6C"


def frames_of(framer_factory, chunks: list[bytes]) -> list[bytes]:
    framer = framer_factory()
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out + framer.flush()


# --- LineFramer ---------------------------------------------------------------------


def test_line_endings_crlf_lf_cr_and_empty_lines() -> None:
    data = b"a1\r\nb2\nc3\rd4\r\n\r\n\n e5 \n"
    assert frames_of(LineFramer, [data]) == [b"a1", b"b2", b"c3", b"d4", b" e5 "]


def test_unterminated_last_line_only_on_flush() -> None:
    f = LineFramer()
    assert f.feed(b"one\ntwo") == [b"one"]
    assert f.flush() == [b"two"]
    assert f.flush() == []


def test_nul_bytes_end_a_line_and_are_counted() -> None:
    f = LineFramer()
    out = f.feed(b"\x00\x00" + GOOD + b"\x00\r\n\x00" + GGA + b"\r\n")
    assert out == [GOOD, GGA]
    assert f.stats.nul_bytes == 4


def test_glued_sentences_are_split_at_dollar() -> None:
    assert frames_of(LineFramer, [GOOD + GGA + b"\r\n"]) == [GOOD, GGA]
    # no line breaks at all: each sentence is complete when the next '$' arrives
    f = LineFramer()
    assert f.feed(GOOD + GGA) == [GOOD]
    assert f.flush() == [GGA]


def test_truncated_sentence_does_not_swallow_the_next() -> None:
    assert frames_of(LineFramer, [b"$GPRMC,2026" + GGA + b"\n"]) == [b"$GPRMC,2026", GGA]


def test_device_prefix_stays_on_the_frame() -> None:
    line = b"123456789$GPRMC,155708.252,V,4610.1676,N,00606.4586,E,000.0,000.0,060214,,,N*76"
    assert frames_of(LineFramer, [line + b"\r\n"]) == [line]


def test_overlong_line_dropped_counted_next_line_kept() -> None:
    f = LineFramer(max_line_bytes=100)
    out = f.feed(b"x" * 500 + b"\r\n" + GOOD + b"\r\n")
    assert out == [GOOD]
    assert f.stats.overlong_dropped == 1


def test_overlong_line_followed_by_glued_sentence_keeps_it() -> None:
    f = LineFramer(max_line_bytes=100)
    out = f.feed(b"$GPGSV," + b"9" * 300 + GOOD + b"\n" + GGA + b"\n")
    assert out == [GOOD, GGA]
    assert f.stats.overlong_dropped == 1


def test_overlong_counted_once_per_line_whatever_the_chunking() -> None:
    f = LineFramer(max_line_bytes=50)
    for _ in range(100):
        f.feed(b"z" * 7)
    f.feed(b"\n" + GOOD[:40] + b"\n")
    assert f.stats.overlong_dropped == 1


def test_split_on_dollar_off_for_json_lines() -> None:
    line = b'{"kind":"plate_read","text":"US$ 5 $AB"}'
    f = LineFramer(split_on_dollar=False)
    assert f.feed(line + b"\n") == [line]


def test_every_split_point_gives_identical_frames() -> None:
    data = (
        b"\x00junk\r\n"
        + GOOD
        + GGA
        + b"\r\n"
        + b"y" * 150
        + b"\n"
        + b"ID7 "
        + GOOD
        + b"\r"
        + b"\x00\x00"
        + GGA
        + b"\n$GPRMC,1$"
        + GGA
    )
    expected = frames_of(lambda: LineFramer(max_line_bytes=120), [data])
    assert GGA in expected and GOOD in expected and b"ID7 " + GOOD in expected
    for i in range(len(data) + 1):
        got = frames_of(lambda: LineFramer(max_line_bytes=120), [data[:i], data[i:]])
        assert got == expected, i
    one_by_one = [data[i : i + 1] for i in range(len(data))]
    assert frames_of(lambda: LineFramer(max_line_bytes=120), one_by_one) == expected


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8))
def test_line_framer_any_bytes_any_chunking(data: bytes, cuts: list[int]) -> None:
    bounds = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]
    whole = frames_of(lambda: LineFramer(max_line_bytes=64), [data])
    assert frames_of(lambda: LineFramer(max_line_bytes=64), chunks) == whole
    for frame in whole:
        assert frame and len(frame) <= 64
        assert not set(frame) & {0x0D, 0x0A, 0x00}
        assert frame.count(b"$") <= 1


# --- TeltonikaFramer ----------------------------------------------------------------


def teltonika_entries() -> list[dict]:
    return json.loads((FIXTURES / "trackers" / "teltonika.json").read_text())


def good_packets() -> list[bytes]:
    return [
        bytes.fromhex(e["raw"])
        for e in teltonika_entries()
        if e["expected"]["kind"] == "avl" and e["expected"].get("length_consistent")
    ]


IMEI_FRAME = bytes.fromhex("000f313233343536373839303132333435")


def test_teltonika_imei_then_packets() -> None:
    packets = good_packets()
    stream = IMEI_FRAME + b"".join(packets)
    assert frames_of(TeltonikaFramer, [stream]) == [IMEI_FRAME, *packets]


def test_teltonika_every_split_point_and_byte_by_byte() -> None:
    packets = good_packets()[:3]
    stream = IMEI_FRAME + b"".join(packets)
    expected = [IMEI_FRAME, *packets]
    for i in range(len(stream) + 1):
        assert frames_of(TeltonikaFramer, [stream[:i], stream[i:]]) == expected, i
    assert frames_of(TeltonikaFramer, [stream[i : i + 1] for i in range(len(stream))]) == expected


def test_teltonika_garbage_between_packets_is_skipped_and_counted() -> None:
    packets = good_packets()
    garbage = [b"\xff\x01GARBAGE", b"\x00\x00\x01\x02", b"\x00", b"\x17" * 30]
    stream = IMEI_FRAME
    for i, packet in enumerate(packets):
        stream += garbage[i % len(garbage)] + packet
    f = TeltonikaFramer()
    assert f.feed(stream) == [IMEI_FRAME, *packets]
    assert f.stats.garbage_bytes == sum(len(garbage[i % 4]) for i in range(len(packets)))


def test_teltonika_leading_zero_run_before_preamble() -> None:
    packet = good_packets()[0]
    f = TeltonikaFramer(expect_imei=False)
    assert f.feed(b"\x00\x00\x00" + packet) == [packet]
    assert f.stats.garbage_bytes == 3


def test_teltonika_oversize_length_counted_then_resync() -> None:
    packet = good_packets()[0]
    f = TeltonikaFramer(expect_imei=False, max_data_length=4096)
    assert f.feed(b"\x00\x00\x00\x00\x7f\xff\xff\xff" + b"\x01" * 20 + packet) == [packet]
    assert f.stats.oversize_frames == 1


def test_teltonika_without_handshake_switches_to_packets() -> None:
    packet = good_packets()[0]
    assert frames_of(TeltonikaFramer, [packet]) == [packet]


def test_teltonika_truncated_tail_dropped_on_flush() -> None:
    packet = good_packets()[0]
    f = TeltonikaFramer(expect_imei=False)
    assert f.feed(packet[:-3]) == []
    assert f.pending == len(packet) - 3
    assert f.flush() == []
    assert f.stats.garbage_bytes == len(packet) - 3


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 400), imei=st.booleans())
def test_teltonika_framer_any_bytes_any_chunking(data: bytes, cut: int, imei: bool) -> None:
    whole = frames_of(lambda: TeltonikaFramer(expect_imei=imei), [data])
    split = frames_of(lambda: TeltonikaFramer(expect_imei=imei), [data[:cut], data[cut:]])
    assert split == whole
    for frame in whole:
        assert frame[:4] == b"\x00\x00\x00\x00" or 3 <= len(frame) <= 66


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
