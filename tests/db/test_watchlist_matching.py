"""Plate reads matched at ingest, through the real batch writer: exact and pattern hits with
severity by priority, possible matches only for low-confidence one-character misses, country
and validity rules, resends raising nothing, and who is alarmed under the sharing scopes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon import watchlists as domain
from geomon.model import Observation
from geomon.pipeline.writer import BatchWriter
from geomon.settings import IngestSettings
from geomon.store import watchlists as store
from geomon.store.devices import add_device, bind_device, ensure_agency
from geomon.store.users import share

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _tag() -> str:
    return uuid.uuid4().hex[:5].upper()


def _sensor(db_url: str, agency: str) -> str:
    uid = "ANPR-" + uuid.uuid4().hex[:10]
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind="sensor", agency=agency)
        bind_device(c, uid, lat=41.3, lon=69.2)
    return uid


def _entries(db_url: str, agency: str, *fields: dict[str, str]) -> list[int]:
    async def go() -> list[int]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            cur = await conn.execute("SELECT id FROM agencies WHERE code = %s", (agency,))
            row = await cur.fetchone()
            assert row is not None
            entries = [domain.make_entry(f) for f in fields]
            ids = await store.add_entries(conn, entries, agency_id=row[0], added_by="t")
            await conn.commit()
            return ids

    with psycopg.connect(db_url) as c:
        ensure_agency(c, agency)
    return asyncio.run(go())


def _write(db_url: str, tmp: Path, obs: list[Observation], matching: bool = True) -> None:
    settings = IngestSettings(
        spool_dir=tmp / f"spool-{uuid.uuid4().hex[:6]}", batch_max_ms=5,
        watchlist_matching=matching,
    )  # fmt: skip
    w = BatchWriter(db_url, settings)

    async def go() -> None:
        await w.start()
        try:
            await w.submit_observations(obs)
        finally:
            await w.stop()

    asyncio.run(go())


def _read(uid: str, i: int, text: str, conf: float | None = 0.97, **attrs: str) -> Observation:
    return Observation(uid, T0 + timedelta(seconds=i), "plate_read", value=conf, text=text,
                       attrs=dict(attrs))  # fmt: skip


def _events(db_url: str, uid: str) -> list[tuple]:
    with psycopg.connect(db_url) as c:
        return c.execute(
            "SELECT a.code, e.kind, e.severity, e.attrs->>'plate_norm', e.attrs->>'match', "
            "(e.attrs->>'entry_id')::bigint FROM events e JOIN devices d ON d.id = e.device_id "
            "JOIN agencies a ON a.id = e.agency_id WHERE d.uid = %s ORDER BY e.id",
            (uid,),
        ).fetchall()


def test_exact_and_pattern_hits_by_priority_and_resends(db_url: str, tmp_path: Path) -> None:
    ag, t = "KGZ-WLM1", _tag()
    exact, pattern, medium = _entries(
        db_url, ag, {"plate": f"01KG{t}"}, {"plate": f"99{t}*", "priority": "low"},
        {"plate": f"77{t}", "priority": "medium", "country": "KZ"},
    )  # fmt: skip
    uid = _sensor(db_url, ag)
    reads = [
        _read(uid, 0, f"01 kg {t.lower()}"),  # exact (normalised)
        _read(uid, 1, f"99{t}KZ"),  # pattern
        _read(uid, 2, f"KG:77{t}"),  # country differs: nothing
        _read(uid, 3, f"77{t}"),  # no country on the read: matches
        _read(uid, 4, "nothing"),
    ]
    _write(db_url, tmp_path, reads)
    _write(db_url, tmp_path, reads)  # a resend: absorbed, no second event
    assert sorted(_events(db_url, uid)) == sorted([
        (ag, "watchlist_hit", "critical", f"01KG{t}", "exact", exact),
        (ag, "watchlist_hit", "info", f"99{t}KZ", "pattern", pattern),
        (ag, "watchlist_hit", "warning", f"77{t}", "exact", medium),
    ])  # fmt: skip


def test_possible_matches_only_for_low_confidence_one_offs(db_url: str, tmp_path: Path) -> None:
    ag, t = "KGZ-WLM2", _tag()
    (target,) = _entries(db_url, ag, {"plate": f"12{t}AB"})
    (other,) = _entries(db_url, ag, {"plate": f"12{t}AC", "priority": "low"})
    uid = _sensor(db_url, ag)
    _write(db_url, tmp_path, [
        _read(uid, 0, f"12{t}A8", 0.5),  # one off both entries, low confidence: two possibles
        _read(uid, 1, f"12{t}A8", 0.95, lane="2"),  # confident read: trusted, nothing
        _read(uid, 2, f"2{t}AB9", None),  # shifted (two edits, shares a deletion): nothing
        _read(uid, 3, f"12{t}AC", 0.4),  # exact on one: a hit, no possible of the other
        _read(uid, 4, f"1{t}AB", None),  # one deletion, no confidence given: possible
    ])  # fmt: skip
    got = sorted(_events(db_url, uid))
    assert got == sorted([
        (ag, "watchlist_possible", "warning", f"12{t}A8", "near", target),
        (ag, "watchlist_possible", "info", f"12{t}A8", "near", other),
        (ag, "watchlist_hit", "info", f"12{t}AC", "exact", other),
        (ag, "watchlist_possible", "warning", f"1{t}AB", "near", target),
    ])  # fmt: skip


def test_validity_removal_and_matching_off(db_url: str, tmp_path: Path) -> None:
    ag, t = "KGZ-WLM3", _tag()
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    _entries(db_url, ag, {"plate": f"55{t}"}, {"plate": f"66{t}", "valid_from": later})
    (gone,) = _entries(db_url, ag, {"plate": f"88{t}"})
    with psycopg.connect(db_url) as c:
        c.execute("UPDATE watchlist_entries SET removed_at = now(), removed_by = 't' "
                  "WHERE id = %s", (gone,))  # fmt: skip
    uid = _sensor(db_url, ag)
    _write(db_url, tmp_path, [_read(uid, 0, f"55{t}")], matching=False)
    _write(db_url, tmp_path, [_read(uid, 1, f"66{t}"), _read(uid, 2, f"88{t}")])
    assert _events(db_url, uid) == []


@pytest.mark.parametrize("scope", ["observations", "watchlists", "all"])
def test_who_is_alarmed_follows_the_sharing_scopes(db_url: str, tmp_path: Path, scope: str):
    t = _tag()
    owner, post = f"KGZ-WL{t}", f"KAZ-WL{t}"  # the list's agency, the camera's agency
    (entry,) = _entries(db_url, owner, {"plate": f"01{t}"})
    with psycopg.connect(db_url) as c:
        ensure_agency(c, post)
    uid = _sensor(db_url, post)
    _write(db_url, tmp_path, [_read(uid, 0, f"01{t}")])
    assert _events(db_url, uid) == []  # nothing shared: nobody may see both
    with psycopg.connect(db_url) as c:
        if scope in ("observations", "all"):
            share(c, from_agency=post, to_agency=owner, scope=scope)
        if scope in ("watchlists", "all"):
            share(c, from_agency=owner, to_agency=post, scope=scope)
    _write(db_url, tmp_path, [_read(uid, 1, f"01{t}")])
    expected = {"observations": [owner], "watchlists": [post], "all": [owner, post]}[scope]
    got = _events(db_url, uid)
    assert sorted(e[0] for e in got) == sorted(expected)
    assert {e[1:] for e in got} == {("watchlist_hit", "critical", f"01{t}", "exact", entry)}
