"""Settings, read from the environment with the ``GEOMON_`` prefix and ``__`` nesting.

Example: ``GEOMON_DB__URL=postgresql://geomon@127.0.0.1:55432/geomon``. Nothing here is
instantiated at import time: ``create_app`` and the CLI build a :class:`Settings` and pass it
down. There are no default passwords: the database URL has no default at all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DbSettings(BaseModel):
    """How to reach PostGIS."""

    url: str = Field(
        default="",
        description="libpq URL of the PostGIS database, e.g. postgresql://user@host:port/db. "
        "Required for anything that touches the database; no default.",
    )
    app_url: str = Field(
        default="",
        description="libpq URL the API uses for agency data: a LOGIN role in the geomon_app "
        "group (neither owner nor superuser, so row-level security always applies; make one "
        "with `geomon db create-app-role NAME`). Empty = the API uses `url`, still under the "
        "forced row-level security. Ingest and migrations always use `url`.",
    )
    pool_min: int = Field(default=1, ge=0, le=64, description="Connections kept open.")
    pool_max: int = Field(default=10, ge=1, le=256, description="Upper bound on connections.")
    statement_timeout_ms: int = Field(
        default=30_000, ge=100, le=3_600_000, description="Per-statement timeout for API reads."
    )
    partition_months_ahead: int = Field(
        default=3, ge=0, le=36, description="Monthly positions partitions created ahead of now."
    )


class IngestSettings(BaseModel):
    """Ingest listeners and the batch writer. An empty address disables that listener."""

    nmea_tcp: str = Field(default="", description="HOST:PORT of the NMEA 0183 TCP listener.")
    teltonika_tcp: str = Field(default="", description="HOST:PORT of the Teltonika listener.")
    osmand_http: str = Field(default="", description="HOST:PORT of the OsmAnd HTTP listener.")
    sensor_tcp: str = Field(default="", description="HOST:PORT of the BCP sensor line feed.")
    cot_tcp: str = Field(
        default="",
        description="HOST:PORT of the Cursor-on-Target XML listener (TAK clients, e.g. :8087).",
    )
    nmea_udp: str = Field(default="", description="HOST:PORT of the NMEA 0183 UDP listener.")
    mqtt_url: str = Field(default="", description="mqtt://host:port of the broker to follow.")
    mqtt_client_id: str = Field(
        default="geomon-ingest",
        min_length=1,
        max_length=64,
        description="MQTT client id; the broker keeps this persistent session's QoS 1 queue.",
    )
    http_body_max_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Largest request body the listener's HTTP port reads (413 past it, "
        "refused while reading).",
    )
    http_read_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A request body must arrive within this many seconds (else 408, closed).",
    )
    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="A request line and headers must arrive within this many seconds of "
        "their first byte or the connection's start (slowloris; else 408, closed).",
    )
    mqtt_broker_auth: bool = Field(
        default=False,
        description="The broker authenticates every device and its ACL limits each to its "
        "own topics (docs/ingest.md), so MQTT payloads need not carry the device's token.",
    )
    metrics_http: str = Field(
        default="",
        description="HOST:PORT where the listener process serves /metrics when no "
        "OsmAnd listener is configured (the OsmAnd port serves /metrics too).",
    )
    accept_unknown: bool = Field(
        default=False,
        description="Register unknown devices on first contact (demos only; production refuses).",
    )
    watchlist_matching: bool = Field(
        default=True,
        description="Match plate reads against the watch-lists as they are stored "
        "(watchlist_hit events); off only to measure its cost (bench/plates.py).",
    )
    batch_max_rows: int = Field(default=2000, ge=1, le=100_000, description="Rows per COPY.")
    batch_max_ms: int = Field(
        default=50, ge=1, le=10_000, description="Longest a row waits for its batch to fill."
    )
    batch_idle_ms: float = Field(
        default=3,
        ge=0,
        le=10_000,
        description="Close a batch early when no record has arrived for this long (0: off): "
        "when the devices wait for their acks, waiting out batch_max_ms leaves the cores idle.",
    )
    queue_max_rows: int = Field(
        default=50_000, ge=100, le=10_000_000, description="Bounded queue before back-pressure."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Listener processes sharing the TCP/HTTP ports (SO_REUSEPORT; each with "
        "its own writer and spool sub-folder). MQTT, UDP, /metrics and the periodic checks "
        "run in the first process only. Needs fixed ports (not :0).",
    )
    writer_connections: int = Field(
        default=1,
        ge=1,
        le=8,
        description="Batch writers per listener process, each with its own database "
        "connection and spool sub-folder; a device always goes to the same one (order kept).",
    )
    spool_after_ms: int = Field(
        default=2000,
        ge=0,
        le=600_000,
        description="How long a batch retries an unreachable database before it is spooled "
        "to disk (its devices are acked after the spool's fsync).",
    )
    db_probe_ms: int = Field(
        default=1000,
        ge=50,
        le=60_000,
        description="While spooling, how often the writer tries the database again.",
    )
    spool_dir: Path = Field(
        default=Path("var/spool"),
        description="fsynced on-disk spool used while the database is unreachable.",
    )


class ApiSettings(BaseModel):
    """The HTTP API and the situation map."""

    host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API binds to.")
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="A request line and headers must arrive within this many seconds of "
        "their first byte or the connection's start (slowloris; else 408, closed).",
    )
    assets_dir: Path = Field(
        default=Path("node_modules"),
        description="Folder of the npm packages (Leaflet and plugins) the map serves itself.",
    )
    tile_url: str = Field(
        default="",
        description="Optional base-map tile URL template of an agency tile server "
        "({z}/{x}/{y}); empty = our own vector layers only (works offline).",
    )
    live_poll_ms: int = Field(
        default=1000, ge=100, le=60_000, description="How often the map refreshes live teams."
    )
    silent_after_s: int = Field(
        default=300, ge=10, le=86_400, description="A team with no fix for this long is silent."
    )


class AuthSettings(BaseModel):
    """Logins, tokens and sessions (docs/security.md). There are no default credentials."""

    token_ttl_days: int = Field(
        default=30, ge=1, le=365, description="Default lifetime of API tokens, in days."
    )
    session_ttl_hours: int = Field(
        default=12, ge=1, le=168, description="Lifetime of a browser login session, in hours."
    )
    max_failed_logins: int = Field(
        default=5, ge=3, le=10, description="Failed logins in a row that lock an account."
    )
    lockout_minutes: int = Field(
        default=15, ge=10, le=1440, description="How long a locked account stays locked."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Always mark the session cookie Secure (it is whenever the request came "
        "over https); set true behind a TLS-terminating proxy without forwarded headers.",
    )


class LimitsSettings(BaseModel):
    """Resource limits of the API (shared validation in api/limits.py)."""

    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body accepted (413 above).",
    )
    body_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="A request body must arrive within this many seconds of the route's "
        "first read of it (else 408, connection closed): 10 MiB at 1 Mbit/s takes 84 s.",
    )
    max_page_size: int = Field(
        default=10_000, ge=1, le=100_000, description="Largest page of items a client may ask for."
    )
    max_bbox_area_deg2: float = Field(
        default=400.0, gt=0, le=64_800, description="Largest bbox (square degrees) for raw rows."
    )
    max_time_window_days: int = Field(
        default=93, ge=1, le=3660, description="Longest time window for tracks and positions."
    )


class PlateSettings(BaseModel):
    """Journeys of plates across posts and what they raise (docs/plates.md)."""

    max_speed_kmh: float = Field(
        default=130.0,
        gt=0,
        le=1000,
        description="Stated maximum road speed: two posts read faster than the straight-line "
        "distance allows at this speed raise plate_cloned (no road network is loaded).",
    )
    clone_min_distance_km: float = Field(
        default=5.0,
        ge=0,
        le=1000,
        description="Posts closer than this never raise plate_cloned (camera clock skew).",
    )
    overstay_days: float = Field(
        default=30.0,
        gt=0,
        le=3650,
        description="A plate read entering (direction in) with no exit read (direction out) "
        "anywhere after this many days raises plate_overstay.",
    )
    convoy_minutes: float = Field(
        default=5.0,
        gt=0,
        le=240,
        description="Two plates read at the same post within this many minutes cross together.",
    )
    convoy_times: int = Field(
        default=3,
        ge=2,
        le=1000,
        description="Crossings together (one post, within the lookback) that raise plate_convoy.",
    )
    convoy_lookback_days: float = Field(
        default=90.0, gt=0, le=3650, description="How far back crossings together are counted."
    )
    check_every_s: float = Field(
        default=5.0,
        ge=0.1,
        le=3600,
        description="How often the listener looks at new plate reads for cloned plates and "
        "convoys (overstays: once a minute).",
    )


class ReportSettings(BaseModel):
    """Scheduled reports: where files go and how they are sent (docs/reports.md)."""

    out_dir: Path = Field(
        default=Path("var/reports"),
        description="Folder for scheduled report files (a folder per agency and schedule).",
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mailed reports; empty: off.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port (587: submission).")
    smtp_from: str = Field(
        default="", max_length=320, description="Sender address of e-mailed reports."
    )
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS before login.")
    smtp_user: str = Field(default="", description="SMTP login; empty: no authentication.")
    smtp_password: str = Field(default="", description="SMTP password (no default).")
    webhook_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Timeout of a report webhook POST."
    )
    max_attachment_bytes: int = Field(
        default=20_000_000, ge=1000, le=200_000_000, description="Largest e-mail, in bytes."
    )


class Settings(BaseSettings):
    """All of geomon's settings."""

    model_config = SettingsConfigDict(
        env_prefix="GEOMON_", env_nested_delimiter="__", extra="ignore"
    )

    db: DbSettings = Field(default_factory=DbSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    plates: PlateSettings = Field(default_factory=PlateSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    data_dir: Path = Field(
        default=Path("var/data"), description="Where surfaces (GeoTIFF) and other files live."
    )
    reference_dir: Path = Field(
        default=Path("data/reference"),
        description="Folder with the reference geodata (borders, countries, places).",
    )
