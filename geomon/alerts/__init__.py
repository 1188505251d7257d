"""The event engine (pure): zone index, enter/exit/cross, border crossings, device-state rules.

No SQL here: :mod:`geomon.store.events` and :mod:`geomon.store.zones` load inputs and store
the :class:`~geomon.alerts.track.EventDraft` results. See docs/events.md.
"""

from geomon.alerts.borders import BorderIndex, BorderLine, BorderLines
from geomon.alerts.engine import evaluate
from geomon.alerts.rules import AgencyRules, load_rules_file
from geomon.alerts.track import EventDraft, Track
from geomon.alerts.transitions import zone_transitions
from geomon.alerts.zoneindex import Zone, ZoneIndex

__all__ = [
    "AgencyRules",
    "BorderIndex",
    "BorderLine",
    "BorderLines",
    "EventDraft",
    "Track",
    "Zone",
    "ZoneIndex",
    "evaluate",
    "load_rules_file",
    "zone_transitions",
]
