"""The time zone a person's page shows times in: their own setting, else their agency's state's
zone (IANA names; the offsets come from the tz database through zoneinfo / Intl)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIME_ZONE = "UTC"
# ISO 3166-1 alpha-3 of the agency's state (agencies.country) -> the zone its staff live in.
COUNTRY_TIME_ZONES = {
    "KGZ": "Asia/Bishkek",
    "TJK": "Asia/Dushanbe",
    "UZB": "Asia/Tashkent",
    "KAZ": "Asia/Almaty",
    "TKM": "Asia/Ashgabat",
    "AFG": "Asia/Kabul",
}


def is_time_zone(name: str | None) -> bool:
    if not name or name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone_for(user_setting: str | None, agency_country: str | None) -> str:
    """The user's own valid zone, else their agency's country's zone, else UTC."""
    if is_time_zone(user_setting):
        return str(user_setting)
    return COUNTRY_TIME_ZONES.get((agency_country or "").upper(), DEFAULT_TIME_ZONE)
