"""``geomon decode``: decode captured device data offline, to debug a device or a capture.

Mount with ``main_app.add_typer(app, name="decode")`` (or call :func:`register`) to get
``geomon decode nmea FILE`` and ``geomon decode teltonika HEX``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import typer

from geomon.errors import DecodeError
from geomon.model import Position
from sensors.framing import LineFramer
from sensors.protocols.nmea import NmeaDecoder
from sensors.protocols.teltonika import (
    AvlPacket,
    CommandPacket,
    ImeiFrame,
    decode_frame,
    io_json,
)

app = typer.Typer(
    help="Decode captured device data (NMEA logs, Teltonika frames) and print JSON.",
    no_args_is_help=True,
    add_completion=False,
)

_COMMENT_LINE = re.compile(rb"(?m)^#[^\r\n]*")


def register(main_app: typer.Typer) -> None:
    """Entry-point hook: add the ``decode`` group to the ``geomon`` command."""
    main_app.add_typer(app, name="decode")


def _iso(t: Any) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def nmea_fix_json(p: Position) -> dict[str, Any]:
    """The documented per-epoch line of ``geomon decode nmea``."""
    return {
        "time": _iso(p.fix_time),
        "lat": round(p.lat, 9),
        "lon": round(p.lon, 9),
        "speed_mps": None if p.speed_mps is None else round(p.speed_mps, 4),
        "course_deg": p.course_deg,
        "altitude_m": p.altitude_m,
        "mode": p.attrs.get("mode"),
        "valid": p.valid,
        "satellites": p.satellites,
        "hdop": p.hdop,
    }


@app.command("nmea")
def nmea(
    file: str = typer.Argument(..., help="NMEA 0183 capture file, or - for standard input."),
    allow_missing_checksum: bool = typer.Option(
        False, "--allow-missing-checksum", help="Accept sentences without *hh (some trackers)."
    ),
    keep_comments: bool = typer.Option(
        False, "--keep-comments", help="Do not skip '#' metadata lines (gpsd logs have them)."
    ),
) -> None:
    """Print one JSON object per fix epoch; sentence counts go to standard error."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    comments = 0
    if not keep_comments:
        data, comments = _COMMENT_LINE.subn(b"", data)
    framer = LineFramer()
    decoder = NmeaDecoder(require_checksum=not allow_missing_checksum)
    for frame in framer.feed(data) + framer.flush():
        try:
            fixes = decoder.push(frame)
        except DecodeError:
            continue
        for p in fixes:
            typer.echo(json.dumps(nmea_fix_json(p)))
    for p in decoder.flush():
        typer.echo(json.dumps(nmea_fix_json(p)))
    s = decoder.stats
    errors = ", ".join(f"{k} {v}" for k, v in sorted(s.errors.items())) or "none"
    typer.echo(
        f"sentences: accepted {s.accepted} (ignored kinds {s.ignored}), rejected {s.rejected}"
        f" ({errors}); fixes {s.epochs}; epochs dropped: undated {s.epochs_undated},"
        f" no position {s.epochs_without_position}; over-long lines"
        f" {framer.stats.overlong_dropped}; comment lines skipped {comments}",
        err=True,
    )
    if s.accepted == 0:
        typer.echo("error: no valid NMEA sentence found", err=True)
        raise typer.Exit(1)


def teltonika_json(frame: ImeiFrame | AvlPacket | CommandPacket) -> dict[str, Any]:
    """The documented JSON object of ``geomon decode teltonika``."""
    if isinstance(frame, ImeiFrame):
        return {"imei": frame.imei}
    if isinstance(frame, CommandPacket):
        return {
            "codec": f"0x{frame.codec:02X}",
            "messages": [
                {
                    "type": m.type,
                    "text": m.text,
                    "payload_hex": m.payload.hex(),
                    "time": None if m.timestamp is None else _iso(m.timestamp),
                    "imei": m.imei,
                }
                for m in frame.messages
            ],
            "ack_hex": None,
        }
    return {
        "codec": f"0x{frame.codec:02X}",
        "records": [
            {
                "time": _iso(r.time),
                "lat": r.lat,
                "lon": r.lon,
                "altitude_m": r.altitude_m,
                "course_deg": r.course_deg,
                "satellites": r.satellites,
                "speed_mps": round(r.speed_mps, 6),
                "priority": r.priority,
                "event_io_id": r.event_io_id,
                "valid": r.valid,
                "io": io_json(r.io),
            }
            for r in frame.records
        ],
        "ack_hex": frame.ack.hex(),
    }


@app.command("teltonika")
def teltonika(
    hex_frame: str = typer.Argument(
        ..., metavar="HEX", help="One frame as hex (IMEI handshake or 00000000… packet)."
    ),
    no_crc_check: bool = typer.Option(
        False, "--no-crc-check", help="Decode even if the CRC-16 does not match (debugging)."
    ),
) -> None:
    """Print the frame as one JSON object; a bad frame is an error with exit status 1."""
    cleaned = re.sub(r"[\s:]", "", hex_frame)
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError as exc:
        typer.echo(f"error: not a hex string: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        frame = decode_frame(raw, check_crc=not no_crc_check)
    except DecodeError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(teltonika_json(frame)))
