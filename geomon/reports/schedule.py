"""When scheduled reports are due and which period each run covers (pure; croniter).

A schedule's cron expression (five fields) is read in the schedule's time zone, so
``0 7 * * 1`` is Monday 07:00 in Bishkek whatever the server's zone, across DST changes where
a zone has them. A run due at T reports on the last complete period before T in that zone:
the previous ISO week for ``blo-weekly`` (and for team reports with ``period: week``), the
previous day for team reports (``period: day``, their default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from geomon.errors import InvalidRequest
from geomon.i18n import available_locales
from geomon.i18n.zones import is_time_zone
from geomon.reports.service import FORMATS, KINDS

PERIODS = ("day", "week")


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC
    end: datetime
    week: str  # ISO week label of the start (blo-weekly's parameter)


def check_schedule(kind: str, cron: str, time_zone: str, formats: list[str],
                   params: dict[str, Any], locale: str = "ru") -> None:  # fmt: skip
    """Refuse what could never run, naming the field."""
    if locale not in available_locales():
        raise InvalidRequest(f"language {locale!r}: accepted {', '.join(available_locales())}")
    if kind not in KINDS:
        raise InvalidRequest(f"kind {kind!r}: accepted {', '.join(KINDS)}")
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidRequest(f"cron {cron!r}: five fields, e.g. '0 7 * * 1' (Monday 07:00)")
    if not is_time_zone(time_zone):
        raise InvalidRequest(f"time zone {time_zone!r}: an IANA name such as Asia/Bishkek")
    bad = [f for f in formats if f not in FORMATS]
    if not formats or bad:
        raise InvalidRequest(f"formats {bad or formats}: accepted {', '.join(FORMATS)}")
    if kind == "blo-weekly" and not params.get("place"):
        raise InvalidRequest("a blo-weekly schedule needs params.place")
    if params.get("period", "day") not in PERIODS:
        raise InvalidRequest(f"period {params['period']!r}: accepted day, week")


def next_due(cron: str, time_zone: str, after: datetime) -> datetime:
    """The first due time strictly after ``after`` (UTC)."""
    local = after.astimezone(ZoneInfo(time_zone))
    nxt = croniter(cron, local).get_next(datetime)
    assert isinstance(nxt, datetime)
    return nxt.astimezone(UTC)


def period_for(kind: str, params: dict[str, Any], due: datetime, time_zone: str) -> Period:
    """The last complete day or ISO week before ``due`` in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    today = due.astimezone(zone).date()
    weekly = kind == "blo-weekly" or params.get("period") == "week"
    if weekly:
        end_day = today - timedelta(days=today.weekday())
        start_day = end_day - timedelta(days=7)
    else:
        end_day, start_day = today, today - timedelta(days=1)
    start = datetime.combine(start_day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(end_day, time(), tzinfo=zone).astimezone(UTC)
    y, w, _d = start_day.isocalendar()
    return Period(start, end, f"{y}-W{w:02d}")
