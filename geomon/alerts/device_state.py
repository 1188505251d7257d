"""Device-state events: IO flags (jamming, power cut, antenna cut, SOS, tamper), overspeed,
a long stop inside a border strip, and silent devices.

Flag and overspeed events fire at the *onset* fix (condition true now, false at the previous
fix of the same device), so replaying a buffer produces the same events as live reporting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from geomon.alerts.rules import OFF, AgencyRules
from geomon.alerts.track import EventDraft, Track, event_key, from_us
from geomon.alerts.zoneindex import ZoneIndex


def flag_on(attrs: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether an IO flag rule matches one fix's attributes."""
    value = attrs.get(spec["attr"])
    if "equals" in spec:
        return value is not None and str(value).lower() == str(spec["equals"]).lower()
    if isinstance(value, str):
        return value.lower() not in ("", "0", "false", "off", "no")
    return bool(value)


def onsets(track: Track, on: np.ndarray) -> np.ndarray:
    """Indices where ``on`` starts (previous fix of the same device off or absent)."""
    before = np.zeros(len(track), dtype=bool)
    before[1:] = on[:-1]
    before &= track.has_prev
    return np.flatnonzero(on & ~before & track.emit)  # type: ignore[operator]


def _draft(track: Track, i: int, kind: str, severity: str, ref: object, **kw: Any) -> EventDraft:
    """A state event; ``dedupe_key`` keeps one open event per device/zone/kind."""
    dev = int(track.device[i])
    zone = kw.get("zone_id")
    return EventDraft(
        kind=kind,
        severity=severity,
        device_id=dev,
        occurred_at=from_us(track.t_us[i]),
        lon=float(track.lon[i]),
        lat=float(track.lat[i]),
        key=event_key(kind, dev, ref, track.t_us[i]),
        dedupe_key=f"{kind}:{dev}:{zone if zone is not None else '-'}",
        **kw,
    )


def io_flag_events(track: Track, rules: AgencyRules) -> list[EventDraft]:
    out: list[EventDraft] = []
    with_attrs = [i for i, a in enumerate(track.attrs) if a]  # most fixes carry no flag
    for name, spec in rules["io_flags"].items():
        if spec.get("severity", "warning") == OFF:
            continue
        on = np.zeros(len(track), dtype=bool)
        on[with_attrs] = [flag_on(track.attrs[i], spec) for i in with_attrs]
        for i in onsets(track, on):
            out.append(
                _draft(
                    track,
                    int(i),
                    spec["kind"],
                    spec.get("severity", "warning"),
                    name,
                    attrs={"attr": spec["attr"], "value": track.attrs[i].get(spec["attr"])},
                )
            )
    return out


def overspeed_events(track: Track, rules: AgencyRules) -> list[EventDraft]:
    sev = rules["overspeed_severity"]
    limit_mps = float(rules["overspeed_kmh"]) / 3.6
    if sev == OFF:
        return []
    on = np.nan_to_num(track.speed_mps, nan=0.0) > limit_mps
    return [
        _draft(
            track,
            int(i),
            "overspeed",
            sev,
            "-",
            attrs={
                "speed_kmh": round(float(track.speed_mps[i]) * 3.6, 1),
                "limit_kmh": rules["overspeed_kmh"],
            },
        )
        for i in onsets(track, on)
    ]


def stop_events(
    track: Track, index: ZoneIndex, rules: AgencyRules, membership: tuple[np.ndarray, np.ndarray]
) -> list[EventDraft]:
    """A stop (speed below ``stop_speed_mps``) lasting ``stop_minutes`` inside a zone of
    ``stop_zone_kinds``; one event per stop, at the fix where it reaches the limit."""
    pi, zi = membership
    kinds = set(rules["stop_zone_kinds"])
    slow = np.nan_to_num(track.speed_mps, nan=0.0) < float(rules["stop_speed_mps"])
    out: list[EventDraft] = []
    for z in np.unique(zi):
        zone = index.zones[int(z)]
        if zone.kind not in kinds or rules.zone_value("stop_severity", zone.rules) == OFF:
            continue
        inside = np.zeros(len(track), dtype=bool)
        inside[pi[zi == z]] = True
        limit_us = float(rules.zone_value("stop_minutes", zone.rules)) * 60e6
        for start, i in _long_runs(track, inside & slow, limit_us):
            if track.emit[i]:  # type: ignore[index]
                out.append(
                    _draft(
                        track,
                        i,
                        "stop_in_zone",
                        rules.zone_value("stop_severity", zone.rules),
                        f"z{zone.id}@{int(track.t_us[start])}",
                        zone_id=zone.id,
                        attrs={
                            "since": from_us(track.t_us[start]).isoformat(),
                            "minutes": (track.t_us[i] - track.t_us[start]) / 60e6,
                        },
                    )
                )
    return out


def _long_runs(track: Track, on: np.ndarray, limit_us: float) -> Iterable[tuple[int, int]]:
    """(run start, first index where the run has lasted ``limit_us``) for each long run."""
    for s in _run_starts(track, on):
        i = s
        while i + 1 < len(track) and on[i + 1] and track.device[i + 1] == track.device[s]:
            i += 1
            if track.t_us[i] - track.t_us[s] >= limit_us:
                yield int(s), int(i)
                break


def _run_starts(track: Track, on: np.ndarray) -> np.ndarray:
    before = np.zeros(len(track), dtype=bool)
    before[1:] = on[:-1]
    before &= track.has_prev
    return np.flatnonzero(on & ~before)


def silent_events(
    now: datetime,
    last_fix: Mapping[int, tuple[datetime, float, float]],
    on_duty: Iterable[int],
    rules_of: Mapping[int, AgencyRules],
) -> list[EventDraft]:
    """Devices on duty whose newest fix is older than their agency's ``silent_minutes``.

    ``last_fix`` maps device → (fix_time, lon, lat); one event per silence (keyed by the last
    fix time), so a repeated check while the device stays silent adds nothing."""
    out: list[EventDraft] = []
    for dev in sorted(set(on_duty)):
        if dev not in last_fix or dev not in rules_of:
            continue
        t, lon, lat = last_fix[dev]
        rules = rules_of[dev]
        silent_for = now - t
        if silent_for < timedelta(minutes=float(rules["silent_minutes"])):
            continue
        if silent_for > timedelta(hours=float(rules["silent_max_hours"])):
            continue
        out.append(
            EventDraft(
                kind="silent",
                severity="warning",
                device_id=dev,
                occurred_at=now,
                lon=lon,
                lat=lat,
                key=f"silent:{dev}:-:{t.isoformat()}",
                dedupe_key=f"silent:{dev}",
                attrs={
                    "last_fix": t.isoformat(),
                    "silent_minutes": silent_for.total_seconds() / 60,
                },
            )
        )
    return out
