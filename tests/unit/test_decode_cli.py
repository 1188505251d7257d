"""``geomon decode nmea|teltonika`` mounted the way the main CLI mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sensors.cli_decode import register

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TELTONIKA = {e["id"]: e for e in json.loads((FIXTURES / "trackers" / "teltonika.json").read_text())}


@pytest.fixture(scope="module")
def main_app() -> typer.Typer:
    main = typer.Typer(name="geomon")

    @main.callback()
    def _root() -> None:
        """Stand-in for the real root callback (keeps sub-groups as groups)."""

    register(main)
    return main


def run(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, list(args))


def test_decode_nmea_matches_gpsd_times_and_counts(main_app: typer.Typer) -> None:
    result = run(main_app, "decode", "nmea", str(FIXTURES / "nmea/gpsd/mt3339.log"))
    assert result.exit_code == 0, result.output
    fixes = [json.loads(line) for line in result.stdout.splitlines()]
    gpsd_times = {
        json.loads(line)["time"]
        for line in (FIXTURES / "nmea/gpsd/mt3339.log.chk").read_text().splitlines()
        if line.startswith('{"class":"TPV"') and '"time"' in line
    }
    assert {f["time"] for f in fixes} == gpsd_times
    first = fixes[0]
    assert set(first) >= {"time", "lat", "lon", "speed_mps", "course_deg", "altitude_m", "mode",
                          "valid"}  # fmt: skip
    assert first["time"] == "2015-04-13T20:26:40.000Z"
    assert first["lat"] == pytest.approx(44.068843333, abs=1e-6)
    assert first["lon"] == pytest.approx(-121.314191667, abs=1e-6)
    assert (first["mode"], first["valid"], first["altitude_m"]) == (3, True, 1127.7)
    assert "accepted 138" in result.stderr and "rejected 0" in result.stderr
    assert "comment lines skipped 7" in result.stderr


def test_decode_nmea_counts_rejected(main_app: typer.Typer, tmp_path: Path) -> None:
    log = tmp_path / "t.nmea"
    log.write_bytes(
        b"$GPRMC,133343,A,5308.56325,N,1029.12850,E,0.000000,0.000000,290316,,*2A\r\n"
        b"$GPRMC,133344,A,5308.56325,N,1029.12850,E,0.000000,0.000000,290316,,*00\r\n"
    )
    result = run(main_app, "decode", "nmea", str(log))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    assert "accepted 1" in result.stderr and "rejected 1 (ChecksumError 1)" in result.stderr


def test_decode_nmea_missing_file_and_empty_input(main_app: typer.Typer, tmp_path: Path) -> None:
    assert run(main_app, "decode", "nmea", str(tmp_path / "nope")).exit_code == 2
    empty = tmp_path / "empty"
    empty.write_bytes(b"garbage\n")
    result = run(main_app, "decode", "nmea", str(empty))
    assert result.exit_code == 1 and "no valid NMEA" in result.stderr


def test_decode_teltonika_avl(main_app: typer.Typer) -> None:
    entry = TELTONIKA["teltonika-L144"]
    result = run(main_app, "decode", "teltonika", entry["raw"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    exp = entry["expected"]
    assert out["codec"] == exp["codec_id"] and out["ack_hex"] == exp["server_ack_hex"]
    (rec,) = out["records"]
    (rexp,) = exp["records"]
    assert rec["time"] == rexp["time"]
    assert (rec["lat"], rec["lon"]) == (rexp["latitude"], rexp["longitude"])
    assert (rec["altitude_m"], rec["course_deg"], rec["satellites"]) == (267, 185, 19)
    assert rec["speed_mps"] == pytest.approx(rexp["speed_mps"], abs=1e-6)
    assert rec["io"] == rexp["io"]


def test_decode_teltonika_imei_and_command(main_app: typer.Typer) -> None:
    result = run(
        main_app, "decode", "teltonika", "00 0f 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35"
    )
    assert json.loads(result.stdout) == {"imei": "123456789012345"}
    result = run(main_app, "decode", "teltonika", TELTONIKA["teltonika-L135"]["raw"])
    out = json.loads(result.stdout)
    assert out["codec"] == "0x0C" and out["ack_hex"] is None
    assert out["messages"][0]["text"] == "#FM2=262032761721396,26203,07.02.05\r\n"


def test_decode_teltonika_bad_frames(main_app: typer.Typer) -> None:
    bad_crc = run(main_app, "decode", "teltonika", TELTONIKA["teltonika-L84"]["raw"])
    assert bad_crc.exit_code == 1 and "CRC mismatch" in bad_crc.stderr
    assert bad_crc.stdout == ""
    forced = run(
        main_app, "decode", "teltonika", "--no-crc-check", TELTONIKA["teltonika-L84"]["raw"]
    )
    assert forced.exit_code == 0 and json.loads(forced.stdout)["ack_hex"] == "00000001"
    truncated = run(main_app, "decode", "teltonika", TELTONIKA["teltonika-L144"]["raw"][:-10])
    assert truncated.exit_code == 1 and "FrameError" in truncated.stderr
    assert run(main_app, "decode", "teltonika", "zz").exit_code == 2
