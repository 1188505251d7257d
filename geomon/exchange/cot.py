"""Cursor-on-Target (CoT) XML events for TAK (ATAK/WinTAK/TAK Server), version 2.0.

A device's latest fix becomes a friendly ground unit (``a-f-G-U-C``) with its callsign; a
case or critical event becomes a point of interest (``b-m-p-s-m``, a spot map marker) with
remarks. Times are UTC in the ISO form TAK expects (``...Z``, milliseconds); ``stale`` says
when a client should grey the marker out. Unknown accuracy is CoT's 9999999.0.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

UNKNOWN = "9999999.0"
FRIENDLY_GROUND_UNIT = "a-f-G-U-C"
SPOT_MARKER = "b-m-p-s-m"


def _t(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def event(
    *,
    uid: str,
    cot_type: str,
    lat: float,
    lon: float,
    when: datetime,
    stale_s: float = 300.0,
    callsign: str | None = None,
    remarks: str | None = None,
    ce_m: float | None = None,
    hae_m: float | None = None,
    how: str = "m-g",
    now: datetime | None = None,
) -> ET.Element:
    """One ``<event>`` element; ``how`` m-g = machine, GPS."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"({lat}, {lon}) is not a latitude/longitude")
    sent = now or datetime.now(UTC)
    ev = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": uid,
            "type": cot_type,
            "how": how,
            "time": _t(sent),
            "start": _t(when),
            "stale": _t(max(sent, when) + timedelta(seconds=stale_s)),
        },
    )
    ET.SubElement(
        ev,
        "point",
        {
            "lat": f"{lat:.7f}",
            "lon": f"{lon:.7f}",
            "hae": UNKNOWN if hae_m is None else f"{hae_m:.1f}",
            "ce": UNKNOWN if ce_m is None else f"{ce_m:.1f}",
            "le": UNKNOWN,
        },
    )
    detail = ET.SubElement(ev, "detail")
    if callsign:
        ET.SubElement(detail, "contact", {"callsign": callsign})
    if remarks:
        ET.SubElement(detail, "remarks").text = remarks
    return ev


def device_event(
    uid: str, name: str, lat: float, lon: float, fix_time: datetime, hdop: float | None = None
) -> ET.Element:
    """A team's device as a friendly ground unit; ``hdop`` × 5 m as circular error."""
    return event(
        uid=f"geomon-device-{uid}",
        cot_type=FRIENDLY_GROUND_UNIT,
        lat=lat,
        lon=lon,
        when=fix_time,
        callsign=name or uid,
        ce_m=None if hdop is None else hdop * 5.0,
    )


def case_event(case_id: int, lat: float, lon: float, when: datetime, remarks: str) -> ET.Element:
    """A case or critical event as a spot marker that stays for a day."""
    return event(
        uid=f"geomon-case-{case_id}",
        cot_type=SPOT_MARKER,
        lat=lat,
        lon=lon,
        when=when,
        stale_s=86400.0,
        remarks=remarks,
        how="h-e",
    )


def to_bytes(ev: ET.Element) -> bytes:
    return b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n" + ET.tostring(ev)


def alert_event(event_id: int, lat: float, lon: float, when: datetime, remarks: str) -> ET.Element:
    """A critical geomon event as a spot marker (``geomon-event-N``) that stays for an hour."""
    return event(
        uid=f"geomon-event-{event_id}",
        cot_type=SPOT_MARKER,
        lat=lat,
        lon=lon,
        when=when,
        stale_s=3600.0,
        remarks=remarks,
        how="m-g",
    )
