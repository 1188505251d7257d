"""Serial GPS via pyserial URLs into PostGIS — a ``socket://`` port whose far end goes away
mid-log (reconnect, nothing lost) and a ``loop://`` port — and ``geomon replay`` of a real
receiver log over TCP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psycopg
import serial

from geomon.pipeline.metrics import COUNTERS
from geomon.settings import Settings
from geomon.store.devices import add_device
from sensors.protocols.nmea import NmeaStreamDecoder
from sensors.replay import capture_lines
from sensors.serial_ingest import run_serial

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "tests/fixtures/nmea/gpsd/mt3339.log"


def _device(db_url: str) -> str:
    uid = f"SER-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind="serial-gps", agency="TEST-SER")
    return uid


def _stored(db_url: str, uid: str) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute(
            "SELECT count(*) FROM positions p JOIN devices d ON d.id=p.device_id WHERE d.uid=%s",
            (uid,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _expected_fixes(data: bytes) -> int:
    dec = NmeaStreamDecoder(device_uid="x")
    fixes = dec.feed(data) + dec.flush()
    return len({p.fix_time for p in fixes if p.valid})


def _settings(db_url: str, tmp_path: Path) -> Settings:
    s = Settings()
    s.db.url = db_url
    s.ingest.spool_dir = tmp_path / "spool"
    s.ingest.batch_max_ms = 10
    return s


async def _until(predicate, timeout_s: float = 15) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)


def test_socket_port_reconnects_when_it_vanishes(db_url: str, tmp_path: Path) -> None:
    uid = _device(db_url)
    data = LOG.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith(b"$GPGGA"))
    halves = [b"".join(lines[:cut]), b"".join(lines[cut:])]
    reconnects_before = COUNTERS.get("serial_reconnects")

    async def scenario() -> None:
        served = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal served
            await asyncio.sleep(0.3)  # pyserial's socket:// open discards what came before
            if served < 2:
                writer.write(halves[served])
                await writer.drain()
                served += 1
            await asyncio.sleep(0.5)
            writer.close()  # the "port" vanishes

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_serial(_settings(db_url, tmp_path), f"socket://127.0.0.1:{port}", uid, stop=stop)
        )
        await _until(lambda: served == 2 and _stored(db_url, uid) >= _expected_fixes(data))
        stop.set()
        await task
        server.close()

    asyncio.run(scenario())
    assert _stored(db_url, uid) == _expected_fixes(data)
    assert COUNTERS.get("serial_reconnects") > reconnects_before


def test_loop_port(db_url: str, tmp_path: Path) -> None:
    uid = _device(db_url)
    data = LOG.read_bytes()

    def opener(url: str, baud: int) -> serial.SerialBase:
        port = serial.serial_for_url("loop://", baudrate=baud, timeout=0.1)
        # what the receiver "sends" (loop:// buffers 4 KiB, so write from a thread)
        threading.Thread(target=port.write, args=(data,), daemon=True).start()
        return port

    async def scenario() -> None:
        from geomon.pipeline.writer import BatchWriter
        from sensors.adapters.nmea_tcp import NmeaSession
        from sensors.transports.serial_port import pump_serial

        s = _settings(db_url, tmp_path)
        writer = BatchWriter(db_url, s.ingest)
        await writer.start()
        stop = asyncio.Event()
        session = NmeaSession("loop", writer.submit, bind_device=uid)
        task = asyncio.create_task(pump_serial("loop://", session, stop=stop, opener=opener))
        await _until(lambda: _stored(db_url, uid) >= _expected_fixes(data))
        stop.set()
        await task
        await writer.stop()

    asyncio.run(scenario())
    assert _stored(db_url, uid) == _expected_fixes(data)


def test_replay_command_sends_every_line(tmp_path: Path) -> None:
    received = bytearray()

    async def scenario() -> None:
        async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            writer.close()

        server = await asyncio.start_server(sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "geomon.cli.__main__",
            "replay",
            str(LOG),
            "--to",
            f"tcp://127.0.0.1:{port}",
            "--speed",
            "0",
            "--device",
            "R1",
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        assert b"replayed" in out
        await asyncio.sleep(0.2)
        server.close()

    asyncio.run(scenario())
    sent = received.decode().splitlines()
    assert sent == ["R1," + ln.decode() for ln in capture_lines(LOG)]
