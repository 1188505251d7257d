"""What a person reads for each event kind: catalogue messages (geomon/i18n), keyed by the kind
as stored in ``events.kind``. The map and any other UI take the titles from here."""

from __future__ import annotations

from geomon.i18n import N_, translator

EVENT_TITLES = {
    "zone_enter": N_("zone entered"),
    "zone_exit": N_("zone left"),
    "zone_cross": N_("zone crossed"),
    "border_cross": N_("border crossed"),
    "silent": N_("team silent"),
    "overspeed": N_("overspeed"),
    "stop_in_zone": N_("team stopped in zone"),
    "gsm_jamming": N_("GSM jamming"),
    "gnss_jamming": N_("GNSS jamming"),
    "power_cut": N_("power cut"),
    "antenna_cut": N_("antenna cut"),
    "sos": N_("SOS"),
    "tamper": N_("tamper alarm"),
    "watchlist_hit": N_("watch-list plate read"),
    "watchlist_possible": N_("possible watch-list plate"),
    "plate_cloned": N_("cloned plate suspected"),
    "plate_overstay": N_("vehicle overstay"),
    "plate_convoy": N_("vehicles in convoy"),
}
SEVERITIES = {"info": N_("info"), "warning": N_("warning"), "critical": N_("critical")}


def event_titles(locale: str) -> dict[str, str]:
    """Every event kind's title in ``locale`` (the page's JS gets this mapping)."""
    _ = translator(locale)
    return {kind: _(msgid) for kind, msgid in EVENT_TITLES.items()}


def severity_names(locale: str) -> dict[str, str]:
    _ = translator(locale)
    return {k: _(msgid) for k, msgid in SEVERITIES.items()}
