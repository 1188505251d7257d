"""Plate watch-lists: what an entry is, how it is validated and how a read matches it.

An entry is an exact plate (normalised like a read, geomon.plates) or a pattern with ``*``
(any run of characters) and ``?`` (one character). An exact entry also stores its
one-character deletions (``near``): a read that shares a deletion with it, or is one, is one
edit (substitution, insertion, deletion, adjacent swap) away — a *possible* match offered for
low-confidence reads, never an alarm (docs/plates.md). The store (geomon/store/watchlists.py)
does the SQL; this module validates and shapes rows, so the API and the CLI refuse the same
things with the same words.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from geomon.errors import InvalidRequest
from geomon.plates import MAX_PLATE_LEN, normalise_plate

PRIORITIES = ("high", "medium", "low")
# An exact or pattern match: the alarm's severity by the entry's priority.
HIT_SEVERITY = {"high": "critical", "medium": "warning", "low": "info"}
# A possible match (one character off, low-confidence read) is never critical.
POSSIBLE_SEVERITY = {"high": "warning", "medium": "info", "low": "info"}
HIT_KIND = "watchlist_hit"
POSSIBLE_KIND = "watchlist_possible"
# Reads at or above this confidence are trusted as read: no possible matches for them.
NEAR_MISS_BELOW_CONFIDENCE = 0.9
MIN_PATTERN_LITERALS = 3
MAX_IMPORT_ROWS = 200_000
MAX_REASON_LEN = 500
CSV_COLUMNS = ("plate", "reason", "priority", "valid_from", "valid_until", "country", "list")
_REPORTED_ERRORS = 50


@dataclass(frozen=True, slots=True)
class Entry:
    """A validated entry, ready for the store."""

    plate: str
    raw: str
    like_pattern: str | None
    near: tuple[str, ...]
    country: str | None
    reason: str
    priority: str
    valid_from: datetime | None
    valid_until: datetime | None
    list_name: str

    @property
    def is_pattern(self) -> bool:
        return self.like_pattern is not None


def deletions(plate: str) -> tuple[str, ...]:
    """The distinct one-character deletions of ``plate`` (the near-miss index)."""
    if len(plate) < 2:
        return ()
    return tuple(sorted({plate[:i] + plate[i + 1 :] for i in range(len(plate))}))


def _time(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"{what} must be an RFC 3339 time, got {value!r}") from None
    if t.tzinfo is None:
        raise InvalidRequest(f"{what} needs a UTC offset (e.g. 2026-12-01T00:00:00Z)")
    try:
        return t.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(f"{what} has no UTC form in the years 1-9999") from None


def _plate(raw: str, country: str | None) -> tuple[str, str | None, str | None]:
    """(normalised plate, LIKE pattern or None, country) of what an analyst typed."""
    if "\x00" in raw:
        raise InvalidRequest("plate contains a NUL character")
    norm = normalise_plate(raw, country)
    if norm is None:
        raise InvalidRequest(
            f"plate must be 1-{MAX_PLATE_LEN} characters without control characters, got {raw!r}"
        )
    plate = norm.plate
    bad = sorted({ch for ch in plate if not (ch.isalnum() or ch in "*?")})
    if bad:
        raise InvalidRequest(
            f"plate {raw!r} has characters a plate cannot have: {''.join(bad)!r} "
            "(letters, digits, and * or ? for a pattern)"
        )
    if "*" not in plate and "?" not in plate:
        return plate, None, norm.country
    if sum(ch not in "*?" for ch in plate) < MIN_PATTERN_LITERALS:
        raise InvalidRequest(
            f"pattern {raw!r} needs at least {MIN_PATTERN_LITERALS} letters or digits "
            "(it would match too many plates)"
        )
    return plate, plate.replace("*", "%").replace("?", "_"), norm.country


def make_entry(fields: dict[str, Any]) -> Entry:
    """Validate one entry (API body, CLI options or a CSV row); InvalidRequest says what."""
    raw = fields.get("plate")
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("plate is required")
    country_in = fields.get("country") or None
    if country_in is not None and (
        not isinstance(country_in, str) or not country_in.strip().isalpha() or len(country_in) > 3
    ):
        raise InvalidRequest(f"country must be a 2-3 letter code, got {country_in!r}")
    plate, like, country = _plate(raw, country_in)
    priority = (fields.get("priority") or "high").strip().lower()
    if priority not in PRIORITIES:
        raise InvalidRequest(f"priority must be high, medium or low, got {priority!r}")
    reason = str(fields.get("reason") or "").strip()
    if len(reason) > MAX_REASON_LEN or "\x00" in reason:
        raise InvalidRequest(f"reason must be at most {MAX_REASON_LEN} characters, without NUL")
    list_name = str(fields.get("list") or fields.get("list_name") or "default").strip()
    if not (0 < len(list_name) <= 64) or not list_name.replace("-", "").replace("_", "").isalnum():
        raise InvalidRequest(f"list must be 1-64 letters, digits, - or _, got {list_name!r}")
    valid_from = _time(fields.get("valid_from"), "valid_from")
    valid_until = _time(fields.get("valid_until"), "valid_until")
    if valid_until is not None and valid_until <= (valid_from or datetime.now(UTC)):
        raise InvalidRequest("valid_until must be after valid_from (or after now)")
    return Entry(
        plate=plate,
        raw=raw.strip(),
        like_pattern=like,
        near=() if like else deletions(plate),
        country=(country or "").upper() or None,
        reason=reason,
        priority=priority,
        valid_from=valid_from,
        valid_until=valid_until,
        list_name=list_name,
    )


def parse_csv(text: str) -> list[Entry]:
    """Every row of a CSV watch-list file, or InvalidRequest naming each bad row (row 1 is
    the header): a file with any bad row is refused whole."""
    if "\x00" in text:
        raise InvalidRequest("the file contains NUL characters: not a CSV text file")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _parse_rows(reader)
    except csv.Error as exc:  # a field past the csv module's size limit, a stray quote…
        raise InvalidRequest(f"row {reader.line_num}: not readable as CSV: {exc}") from None


def _parse_rows(reader: csv.DictReader[str]) -> list[Entry]:
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    if "plate" not in header:
        raise InvalidRequest("row 1: the header needs a 'plate' column")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise InvalidRequest(
            f"row 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}"
        )
    reader.fieldnames = header
    entries: list[Entry] = []
    errors: list[str] = []
    for row in reader:
        row_no = reader.line_num  # the file's line: DictReader skips blank lines silently
        if None in row:
            errors.append(f"row {row_no}: more values than columns")
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # a line of empty fields
        try:
            entries.append(make_entry(row))
        except InvalidRequest as exc:
            errors.append(f"row {row_no}: {exc}")
        if len(entries) > MAX_IMPORT_ROWS:
            raise InvalidRequest(f"at most {MAX_IMPORT_ROWS} entries per file")
    if errors:
        more = len(errors) - _REPORTED_ERRORS
        shown = "; ".join(errors[:_REPORTED_ERRORS]) + (f"; and {more} more" if more > 0 else "")
        raise InvalidRequest(f"{len(errors)} bad row(s), nothing imported: {shown}")
    if not entries:
        raise InvalidRequest("the file has no entries")
    return entries


def one_edit_apart(plate: str, read: str) -> bool:
    """True when ``read`` is one substitution, insertion, deletion or adjacent swap away from
    ``plate``. Sharing a deletion (the index) also admits shifted reads two edits away; this
    keeps only the one-character misses."""
    if plate == read:
        return False
    if len(plate) == len(read):
        diff = [i for i, (a, b) in enumerate(zip(plate, read, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and plate[diff[0]] == read[diff[1]]
            and plate[diff[1]] == read[diff[0]]
        )
    short, long_ = sorted((plate, read), key=len)
    if len(long_) - len(short) != 1:
        return False
    i = next((k for k, (a, b) in enumerate(zip(short, long_, strict=False)) if a != b), len(short))
    return long_[:i] + long_[i + 1 :] == short
