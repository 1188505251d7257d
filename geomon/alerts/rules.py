"""The alert rule model: defaults, per-agency overrides and per-zone overrides (docs/events.md).

Rules are plain mappings (TOML or JSON) merged in this order, later wins:
built-in :data:`DEFAULT_RULES` → the agency's rules → ``zone_kinds.<kind>`` → a zone's own
``attrs["rules"]``. A severity of ``"off"`` disables that event.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geomon.errors import InvalidRequest

SEVERITIES = ("info", "warning", "critical")
OFF = "off"

DEFAULT_RULES: dict[str, Any] = {
    "silent_minutes": 15,
    "silent_requires_duty": False,
    "silent_max_hours": 24,
    "overspeed_kmh": 130.0,
    "overspeed_severity": "warning",
    "stop_minutes": 20,
    "stop_speed_mps": 0.5,
    "stop_zone_kinds": ["border_strip"],
    "stop_severity": "warning",
    "border_cross_severity": "critical",
    # metres past a border line before a fix counts as across it: per border code, else the
    # line's stated accuracy (borders.accuracy_m) plus this margin for GPS error
    "border_cross_depth_m": {},
    "border_cross_margin_m": 50.0,
    "enter": "info",
    "exit": "info",
    "cross": "info",
    "io_flags": {
        "jamming": {"attr": "jamming", "kind": "gsm_jamming", "severity": "critical"},
        "gnss_jamming": {"attr": "gnss_jamming", "kind": "gnss_jamming", "severity": "critical"},
        "power_cut": {"attr": "unplug", "kind": "power_cut", "severity": "warning"},
        "power_cut_flag": {"attr": "power_cut", "kind": "power_cut", "severity": "warning"},
        "antenna_cut": {"attr": "antenna_cut", "kind": "antenna_cut", "severity": "warning"},
        "sos": {"attr": "sos", "kind": "sos", "severity": "critical"},
        "sos_alarm": {"attr": "alarm", "equals": "sos", "kind": "sos", "severity": "critical"},
        "tamper": {"attr": "tamper", "kind": "tamper", "severity": "warning"},
    },
    "zone_kinds": {
        "restricted": {"enter": "critical", "exit": "info", "cross": "critical"},
        "border_strip": {"enter": "info", "exit": "info", "cross": "info"},
        "crossing_point": {"enter": "info", "exit": "info", "cross": OFF},
        "patrol_area": {"enter": "info", "exit": "warning", "cross": OFF},
    },
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two rule mappings (dicts merge, everything else is replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_rules_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or JSON rules file: ``{"default": {...}, "agency": {"CODE": {...}}}``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequest(f"{path}: not valid rules ({exc})") from exc
    unknown = set(data) - {"default", "agency"}
    if unknown:
        raise InvalidRequest(f"{path}: unknown top-level keys {sorted(unknown)}")
    validate(data.get("default", {}))
    for rules in data.get("agency", {}).values():
        validate(rules)
    return data


def validate(rules: Mapping[str, Any]) -> None:
    """Reject unknown keys and bad severities early, with a message that says where."""
    unknown = set(rules) - set(DEFAULT_RULES)
    if unknown:
        raise InvalidRequest(f"unknown rule keys {sorted(unknown)}")
    for key in (
        "enter",
        "exit",
        "cross",
        "overspeed_severity",
        "stop_severity",
        "border_cross_severity",
    ):
        if key in rules:
            _check_severity(rules[key], key)
    for key in ("border_cross_margin_m",):
        if key in rules:
            _check_metres(rules[key], key)
    for code, metres in rules.get("border_cross_depth_m", {}).items():
        _check_metres(metres, f"border_cross_depth_m.{code}")
    for kind, sev in rules.get("zone_kinds", {}).items():
        for key, value in sev.items():
            _check_severity(value, f"zone_kinds.{kind}.{key}")


def _check_metres(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100_000:
        raise InvalidRequest(f"{where}: metres must be a number from 0 to 100000")


def _check_severity(value: Any, where: str) -> None:
    if value not in (*SEVERITIES, OFF):
        raise InvalidRequest(f"{where}: severity must be one of {SEVERITIES + (OFF,)}")


@dataclass(frozen=True)
class AgencyRules:
    """The merged rules of one agency, with per-zone lookups."""

    values: dict[str, Any]

    @classmethod
    def build(cls, *overrides: Mapping[str, Any] | None) -> AgencyRules:
        merged: dict[str, Any] = DEFAULT_RULES
        for o in overrides:
            if o:
                merged = merge(merged, o)
        return cls(merged)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def zone_severity(
        self, transition: str, zone_kind: str, zone_rules: Mapping[str, Any] | None = None
    ) -> str:
        """Severity of ``transition`` (enter/exit/cross) for a zone, or "off"."""
        sev = (
            self.values.get("zone_kinds", {})
            .get(zone_kind, {})
            .get(transition, self.values[transition])
        )
        if zone_rules and transition in zone_rules:
            sev = zone_rules[transition]
        return str(sev)

    def zone_value(self, key: str, zone_rules: Mapping[str, Any] | None = None) -> Any:
        """A scalar rule (e.g. ``stop_minutes``) with the zone's own override applied."""
        if zone_rules and key in zone_rules:
            return zone_rules[key]
        return self.values[key]
