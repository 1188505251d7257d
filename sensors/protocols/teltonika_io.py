"""Names, units and scales of the common Teltonika FMB IO elements (AVL ids).

Sources: Teltonika wiki "FMBxxx Teltonika Data Sending Parameters ID" pages, e.g.
https://wiki.teltonika-gps.com/view/FMB020_Teltonika_Data_Sending_Parameters_ID and
https://wiki.teltonika-gps.com/view/FMB910_Teltonika_Data_Sending_Parameters_ID (permanent
I/O elements: 239 ignition, 240 movement, 80 data mode, 21 GSM signal, 200 sleep mode,
69 GNSS status, 181/182 PDOP/HDOP ×0.1, 66 external voltage ×0.001 V, 24 speed km/h,
205/206 cell id / area code, 67 battery voltage ×0.001 V, 68 battery current ×0.001 A,
241 GSM operator, 199 trip odometer m, 16 total odometer m); eventual elements
249 GSM jamming (FMB140 page), 318 GNSS jamming (wiki "GNSS Jamming" feature page:
0 none, 1 warning, 2 critical), 252 unplug (backup battery unplugged / power cut),
246 towing, 247 crash detection, 251 idling, 255 over speeding, 253 green driving type.
Model-specific ids (FMB130 BLE tags, OBD…) are left in the raw ``io`` map only.

Scaled values use the wiki multiplier; the raw value is always kept in ``attrs["io"]``.
"""

from __future__ import annotations

# id → (attribute name, multiplier or None for the raw integer)
IO_NAMES: dict[int, tuple[str, float | None]] = {
    1: ("din1", None),
    2: ("din2", None),
    3: ("din3", None),
    9: ("ain1_v", 0.001),
    16: ("total_odometer_m", None),
    21: ("gsm_signal", None),  # 1..5
    24: ("gnss_speed_kmh", None),
    66: ("external_voltage_v", 0.001),
    67: ("battery_voltage_v", 0.001),
    68: ("battery_current_a", 0.001),
    69: ("gnss_status", None),  # 0 off, 1 on with fix, 2 on without fix, 3 sleep
    80: ("data_mode", None),
    113: ("battery_level_pct", None),
    179: ("dout1", None),
    180: ("dout2", None),
    181: ("pdop", 0.1),
    182: ("hdop", 0.1),
    199: ("trip_odometer_m", None),
    200: ("sleep_mode", None),
    205: ("gsm_cell_id", None),
    206: ("gsm_area_code", None),
    239: ("ignition", None),
    240: ("movement", None),
    241: ("gsm_operator", None),
    246: ("towing", None),
    247: ("crash_detection", None),
    249: ("jamming", None),  # GSM jamming: 0 stop, 1 start
    250: ("trip", None),
    251: ("idling", None),
    252: ("unplug", None),  # 1 = backup battery unplugged (power cut)
    253: ("green_driving_type", None),
    255: ("over_speeding", None),
    318: ("gnss_jamming", None),  # 0 none, 1 warning, 2 critical
}

_BOOLEAN = frozenset({"ignition", "movement", "din1", "din2", "din3", "dout1", "dout2"})
# id → (name, scale): scale 0 = bool, None = raw integer (one lookup per element)
_SPECS: dict[int, tuple[str, float | None]] = {
    i: (name, 0.0 if name in _BOOLEAN else scale) for i, (name, scale) in IO_NAMES.items()
}


_Plan = tuple[tuple[str, ...], tuple[tuple[int, str, float | None], ...]]
_PLANS: dict[tuple[int, ...], _Plan] = {}


def io_plan(ids: tuple[int, ...]) -> _Plan:
    """For one set of IO ids in record order (a tracker sends the same few sets again and
    again): the ids as JSON keys, and (id, name, scale) of the known ones."""
    plan = _PLANS.get(ids)
    if plan is None:
        if len(_PLANS) > 4096:  # bounded: a device sending ever new sets cannot grow it
            _PLANS.clear()
        plan = _PLANS[ids] = (
            tuple(map(str, ids)),
            tuple((i, *_SPECS[i]) for i in ids if i in _SPECS),
        )
    return plan


def add_named(
    into: dict[str, object],
    io: dict[int, int | bytes],
    known: tuple[tuple[int, str, float | None], ...],
) -> None:
    """Add the known elements of ``io`` (``known`` from :func:`io_plan`) under their names."""
    for io_id, name, scale in known:
        value = io[io_id]
        if value.__class__ is bytes:
            continue
        if scale is None:
            into[name] = value
        elif scale:
            into[name] = round(value * scale, 6)  # type: ignore[operator]
        else:
            into[name] = bool(value)
