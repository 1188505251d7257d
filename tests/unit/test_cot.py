"""Our Cursor-on-Target events against the TAK client library pytak: the same elements and
attributes pytak's own ``gen_cot_xml`` produces, and times/points a TAK client can read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytak
import pytest

from geomon.exchange import cot

FIX = datetime(2026, 11, 20, 8, 30, 15, 250000, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 8, 30, 20, tzinfo=UTC)


def _shape(el: ET.Element) -> dict[str, set[str]]:
    return {e.tag: set(e.attrib) for e in el.iter()}


def test_device_event_has_pytaks_shape_and_our_values() -> None:
    ours = cot.event(
        uid="geomon-device-kg-1",
        cot_type=cot.FRIENDLY_GROUND_UNIT,
        lat=40.5,
        lon=72.8,
        when=FIX,
        callsign="Team 1",
        now=NOW,
    )
    theirs = pytak.gen_cot_xml(
        lat=40.5, lon=72.8, uid="geomon-device-kg-1", cot_type="a-f-G-U-C", callsign="Team 1"
    )
    assert theirs is not None
    mine = _shape(ours)
    for tag, attrs in _shape(theirs).items():
        if tag in ("event", "point", "contact"):
            assert attrs <= mine[tag], (tag, attrs - mine[tag])
    parsed = ET.fromstring(cot.to_bytes(ours))
    assert parsed.get("start") == "2026-11-20T08:30:15.250Z"
    assert parsed.get("stale") == "2026-11-20T08:35:20.000Z"
    point = parsed.find("point")
    assert point is not None and float(point.get("lat", "nan")) == pytest.approx(40.5)
    contact = parsed.find("detail/contact")
    assert contact is not None and contact.get("callsign") == "Team 1"


def test_case_event_is_a_marker_with_remarks_and_rejects_bad_points() -> None:
    ev = cot.case_event(7, 40.5, 72.8, FIX, "Героин 1.25 kg")
    assert ev.get("type") == "b-m-p-s-m" and ev.get("uid") == "geomon-case-7"
    remarks = ET.fromstring(cot.to_bytes(ev)).find("detail/remarks")
    assert remarks is not None and remarks.text == "Героин 1.25 kg"
    with pytest.raises(ValueError, match="latitude"):
        cot.event(uid="x", cot_type="a-f-G", lat=140, lon=10, when=FIX)
