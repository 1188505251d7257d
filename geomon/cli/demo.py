"""``geomon demo-data``: agencies, the simulated teams' devices and synthetic incidents."""

from __future__ import annotations

import dataclasses

import typer

from geomon.cli.common import db_url, reported_errors, settings
from geomon.demo import (
    AGENCIES,
    DEMO_CASE_ID,
    DEMO_COURIER,
    DEMO_PHONE,
    PLATE_AGENCY,
    PLATE_CAMERAS,
    WATCHED_PLATE,
    WATCHED_REASON,
    demo_incidents,
    demo_teams,
)
from geomon.reference import read_places
from geomon.store.db import connect
from geomon.store.devices import add_device, ensure_agency
from geomon.store.incidents import copy_incidents, delete_incidents_from

DEMO_SOURCE = "demo (synthetic)"


def demo_data(
    teams: int = typer.Option(24, "--teams", min=0, max=5000, help="Simulated teams to register."),
    incidents: int = typer.Option(12000, "--incidents", min=0, help="Synthetic incidents."),
    seed: int = typer.Option(11, "--seed", help="Random seed."),
    months: int = typer.Option(
        72,
        "--months",
        min=1,
        max=240,
        help="Months of incident history (the seasonal forecast needs at least 48).",
    ),
    forecast: bool = typer.Option(
        True,
        "--forecast/--no-forecast",
        help="Also store a seasonal forecast of the Afghan-Tajik border sectors (TJK-BS).",
    ),
    login: str = typer.Option(
        None,
        "--login",
        help="Also (re)create this demo user: an analyst of a regional "
        "situation centre that every demo agency shares its data with; a new random password "
        "is printed each time (there are no default credentials).",
    ),
) -> None:
    """Register the demo agencies and teams and (re)generate synthetic incidents (idempotent)."""
    places = read_places(settings().reference_dir / "places_central_asia.csv")
    with reported_errors(), connect(db_url()) as conn:
        for iso, (code, name) in AGENCIES.items():
            ensure_agency(conn, code, name, iso)
        for uid, agency in demo_teams(places, teams):
            add_device(
                conn,
                uid=uid,
                kind="serial-gps",
                agency=agency,
                name=f"Mobile team {uid[-2:]} ({agency})",
            )
        n_zones = _demo_zones(conn)
        _demo_plate_cameras(conn)
    with reported_errors():
        entry = _demo_watchlist(db_url())
        vehicle = _demo_entities(db_url(), places)
    with reported_errors(), connect(db_url()) as conn:  # zones stay even if incidents fail
        delete_incidents_from(conn, DEMO_SOURCE)
        stretches = _afghan_tajik_stretches(conn)
        rows = [
            dict(dataclasses.asdict(i), agency=i.agency_code)
            for i in demo_incidents(
                places, incidents, seed=seed, months=months, border_stretches=stretches
            )
        ]
        copy_incidents(conn, rows, source=DEMO_SOURCE)
    typer.echo(
        f"demo data: {len(AGENCIES)} agencies, {teams} teams, {incidents} incidents, "
        f"{n_zones} zones, watch-listed plate {WATCHED_PLATE!r} (entry {entry}, "
        f"entity {vehicle}: /map#entity={vehicle})"
    )
    if forecast:
        with reported_errors(), connect(db_url()) as conn:
            typer.echo(_demo_forecast(conn, months))
    if login:
        with reported_errors(), connect(db_url()) as conn:
            password = _demo_login(conn, login)
        typer.echo(f"demo login: user {login!r}, password {password!r} (new on every run)")


def _demo_plate_cameras(conn) -> None:
    """The simulator's plate cameras (sensors.simulate_plates), bound to their posts."""
    from geomon.store.devices import bind_device

    for uid, place, lane in PLATE_CAMERAS:
        add_device(conn, uid=uid, kind="sensor", agency=PLATE_AGENCY, name=f"ANPR lane {lane}")
        bind_device(conn, uid, place=place)


def _demo_watchlist(url: str) -> int:
    """The demo plate on the Kazakh border service's watch-list (once; its id)."""
    import asyncio

    from geomon.store import watchlists as wl_store
    from geomon.store.db import async_connect
    from geomon.store.devices import agency_id_for
    from geomon.watchlists import make_entry

    entry = make_entry({"plate": WATCHED_PLATE, "reason": WATCHED_REASON, "priority": "high"})

    async def go() -> int:
        async with async_connect(url) as conn, conn.transaction():
            agency = await agency_id_for(conn, PLATE_AGENCY)
            assert agency is not None
            found = await wl_store.list_entries(conn, plate=entry.plate, agency_id=agency)
            if found:
                return int(found[0]["id"])
            ids = await wl_store.add_entries(conn, [entry], agency_id=agency, added_by="demo")
            return ids[0]

    return asyncio.run(go())


def _demo_entities(url: str, places: list) -> int:
    """The watch-listed vehicle, its driver and his phone, linked to last year's seizure at
    Khorgos (once; the vehicle's entity id)."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from geomon import cases
    from geomon.entities import normalise_entity, normalise_link
    from geomon.store import cases as case_store
    from geomon.store import entities as entity_store
    from geomon.store import links as link_store
    from geomon.store.db import async_connect

    post = next(p for p in places if p.name == PLATE_CAMERAS[0][1])
    seized_at = (datetime.now(UTC) - timedelta(days=365)).replace(microsecond=0)
    raw_case: dict[str, object] = {"external_id": DEMO_CASE_ID, "category": "drug_seizure"}
    raw_case["substance"] = "heroin"
    raw_case.update(quantity=12, unit="kg", occurred_at=seized_at.isoformat(), lon=post.lon)
    raw_case.update(lat=post.lat, transport_mode="car", concealment="vehicle_cache")
    kind, identity, name = DEMO_COURIER
    people = [
        {"kind": "vehicle", "plate": WATCHED_PLATE, "plate_country": "KZ"},
        {"kind": kind, "identity": identity, "name": name},
        {"kind": "phone", "msisdn": DEMO_PHONE},
    ]

    async def go() -> int:
        async with async_connect(url) as conn, conn.transaction():
            agency = await entity_store.agency_id(conn, PLATE_AGENCY)
            ids = []
            for raw in people:
                e = {**normalise_entity(raw), "source": "demo (synthetic)"}
                found = await entity_store.find_same(conn, agency, e["kind"], e["identity"])
                ids.append(
                    found or await entity_store.create_entity(conn, e, agency_id=agency, by="demo")
                )
            if await link_store.list_links(conn, entity=ids[0], limit=1):
                return ids[0]
            case = cases.normalise(raw_case, await case_store.vocab(conn))
            case_id, _ = await case_store.upsert_case(
                conn, case, agency_id=agency, source="demo (synthetic)", by="demo"
            )
            for src, link_kind, to_kind, to_id, since in (
                (1, "drives", "entity", ids[0], seized_at - timedelta(days=90)),
                (1, "uses", "entity", ids[2], None),
                (0, "seized_in", "case", case_id, seized_at),
                (1, "involved_in", "case", case_id, seized_at),
            ):
                link = normalise_link({"kind": link_kind, "to_kind": to_kind, "valid_from": since})
                link["source"] = "demo (synthetic)"
                await link_store.create_link(
                    conn, link, entity_id=ids[src], to_id=to_id, agency_id=agency, by="demo"
                )
            return ids[0]

    return asyncio.run(go())


SITUATION_CENTRE = ("RSC-DEMO", "Regional situation centre (demo)")


def _demo_login(conn, name: str) -> str:
    """An analyst of the demo situation centre, which every demo agency (and the agency of
    devices not yet assigned) shares all its data with."""
    from geomon.credentials import generate_password, hash_password
    from geomon.errors import NotFound
    from geomon.store.devices import UNASSIGNED_AGENCY
    from geomon.store.users import create_user, get_user, set_password, share

    centre, centre_name = SITUATION_CENTRE
    ensure_agency(conn, centre, centre_name)
    ensure_agency(conn, UNASSIGNED_AGENCY, "Devices not yet assigned")
    for code in [c for c, _ in AGENCIES.values()] + [UNASSIGNED_AGENCY]:
        share(conn, from_agency=code, to_agency=centre, scope="all")
    password = generate_password()
    try:
        get_user(conn, name)
        set_password(conn, name, hash_password(password))
    except NotFound:
        create_user(
            conn, name=name, password_hash=hash_password(password), role="analyst", agency=centre
        )
    return password


def _afghan_tajik_stretches(conn) -> list[tuple[float, float]] | None:
    """Where on the Afghan–Tajik border the planted seasonal stretches lie (None without
    the reference borders)."""
    import shapely

    from geomon.demo import stretch_points
    from geomon.errors import NotFound
    from geomon.store.forecasts import border_lines

    try:
        lines = border_lines(conn, "AFG-TJK")
    except NotFound:
        return None
    return stretch_points(shapely.union_all([g for _, g in lines]))


def _demo_forecast(conn, months: int) -> str:
    """A forecast run of the Afghan-Tajik border in 25 km sectors over the whole months of
    the demo's history, owned by the Tajik border troops (so the console shows one)."""
    from datetime import UTC, datetime

    from geomon.analysis import forecasts as service
    from geomon.errors import GeomonError
    from geomon.store.hotspot_inputs import agency_id

    now = datetime.now(UTC)
    until = datetime(now.year, now.month, 1, tzinfo=UTC)
    k = until.year * 12 + until.month - 1 - (months - 1)
    since = datetime(k // 12, k % 12 + 1, 1, tzinfo=UTC)  # the first whole month of it
    params = service.ForecastRunParams(
        units="border_sectors", border="AFG-TJK", sector_km=25, since=since, until=until
    )
    try:
        out = service.run(conn, params, created_by="demo", agency_id=agency_id(conn, "TJK-BS"))
    except GeomonError as exc:
        conn.rollback()
        return f"demo forecast skipped: {exc}"
    conn.commit()
    return (
        f"demo forecast: run {out.run_id}, {out.n_locations} sectors of AFG-TJK x "
        f"{out.n_steps} months"
    )


def _demo_zones(conn) -> int:
    """Each agency: 5 km strips along its borders, and shared crossing-point zones of 10 km
    (or the place's accuracy) round its BCPs, wide enough for the demo teams' loops."""
    from geomon.store.event_inputs import put_rules
    from geomon.store.zones import border_strip, borders_of, crossing_point_zones

    put_rules(conn, "default", {"silent_minutes": 3})  # demo: flag a silent team quickly
    n = 0
    for iso, (code, _) in AGENCIES.items():
        for border in borders_of(conn, iso):
            border_strip(conn, border, 5.0, agency=code)
            n += 1
        n += crossing_point_zones(conn, 10_000, agency=code, use_accuracy=True, country=iso)
    return n
