"""The event engine: one call turns a track window into every event it implies.

Pure (arrays and shapely in, :class:`EventDraft` out). The store loads the window — new fixes
plus their stored neighbours — and writes the drafts idempotently; see docs/events.md.
"""

from __future__ import annotations

from geomon.alerts.borders import BorderIndex
from geomon.alerts.device_state import io_flag_events, overspeed_events, stop_events
from geomon.alerts.rules import OFF, AgencyRules
from geomon.alerts.track import EventDraft, Track, event_key, from_us
from geomon.alerts.transitions import TRANSITION_NAMES, zone_transitions
from geomon.alerts.zoneindex import ZoneIndex

ZONE_KINDS = {"enter": "zone_enter", "exit": "zone_exit", "cross": "zone_cross"}


def evaluate(
    track: Track, zones: ZoneIndex, rules: AgencyRules, borders: BorderIndex | None = None
) -> list[EventDraft]:
    """All events of ``track`` (fixes with ``emit``), sorted by fix time then key."""
    events = zone_events(track, zones, rules)
    if borders is not None:
        events += border_events(track, borders, rules)
    events += io_flag_events(track, rules)
    events += overspeed_events(track, rules)
    if len(zones):
        events += stop_events(track, zones, rules, zones.points_in_zones(track.lon, track.lat))
    for e in events:
        e.attrs["source"] = "track"  # recomputed (and superseded) when late data arrives
    events.sort(key=lambda e: (e.occurred_at, e.key))
    return events


def zone_events(track: Track, zones: ZoneIndex, rules: AgencyRules) -> list[EventDraft]:
    out: list[EventDraft] = []
    tr = zone_transitions(track, zones)
    for code, i, z in zip(tr.code.tolist(), tr.point.tolist(), tr.zone.tolist(), strict=True):
        zone = zones.zones[z]
        transition = TRANSITION_NAMES[code]
        sev = rules.zone_severity(transition, zone.kind, zone.rules)
        if sev == OFF:
            continue
        kind = ZONE_KINDS[transition]
        dev = int(track.device[i])
        out.append(
            EventDraft(
                kind=kind,
                severity=sev,
                device_id=dev,
                occurred_at=from_us(track.t_us[i]),
                lon=float(track.lon[i]),
                lat=float(track.lat[i]),
                zone_id=zone.id,
                key=event_key(kind, dev, f"z{zone.id}", track.t_us[i]),
                attrs={"zone": zone.name, "zone_kind": zone.kind},
            )
        )
    return out


def border_depths(borders: BorderIndex, rules: AgencyRules) -> list[float]:
    """Per border: the rules' ``border_cross_depth_m`` for its code, else the line's stated
    accuracy plus ``border_cross_margin_m`` (GPS error)."""
    own = rules["border_cross_depth_m"]
    margin = float(rules["border_cross_margin_m"])
    return [
        float(own[c]) if c in own else borders.lines.default_depth_m(c, margin)
        for c in borders.codes
    ]


def border_events(track: Track, borders: BorderIndex, rules: AgencyRules) -> list[EventDraft]:
    sev = rules["border_cross_severity"]
    if sev == OFF:
        return []
    depths = border_depths(borders, rules)
    bc = borders.crossings(track, depths)
    out: list[EventDraft] = []
    for i, b, lon, lat, deep in zip(
        bc.point.tolist(),
        bc.border.tolist(),
        bc.lon.tolist(),
        bc.lat.tolist(),
        bc.depth_m.tolist(),
        strict=True,
    ):
        dev = int(track.device[i])
        code = borders.codes[b]
        out.append(
            EventDraft(
                kind="border_cross",
                severity=sev,
                device_id=dev,
                occurred_at=from_us(track.t_us[i]),
                lon=lon,
                lat=lat,
                key=event_key("border_cross", dev, code, track.t_us[i]),
                attrs={
                    "border": code,
                    "from": [float(track.lon[i - 1]), float(track.lat[i - 1])],
                    "to": [float(track.lon[i]), float(track.lat[i])],
                    "depth_m": round(deep),
                    "tolerance_m": round(depths[b]),
                },
            )
        )
    return out
