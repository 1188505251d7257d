"""Simulated plate cameras at a crossing point (demo of issue 17), speaking the BCP line feed
(docs/bcp-observations.md) to a ``geomon listen --sensor-tcp`` port.

Two lanes at Khorgos - Nur Zholy read a passing vehicle every few seconds: random Kazakh,
Kyrgyz and Chinese plates, in and out; every ``watched_every`` reads the watch-listed demo
plate (a critical ``watchlist_hit`` at the post), now and then a low-confidence read one
character off it (a ``watchlist_possible``), the demo convoy pair together, and — moments
after the watched plate — the same plate at Kordai, 470 km away (``plate_cloned``).
The cameras and the plate are registered by ``geomon demo-data``.

    .venv/bin/python -m sensors.simulate_plates --to 127.0.0.1:5040
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import string
from collections.abc import Iterator
from datetime import UTC, datetime

from geomon.demo import CONVOY_PLATES, PLATE_CAMERAS, WATCHED_PLATE

log = logging.getLogger(__name__)
_LETTERS = "ABCEHKMOPTXY"  # letters that read the same in Cyrillic and Latin


def random_plate(rng: random.Random) -> tuple[str, str]:
    """(plate text as a camera prints it, country)."""
    kind = rng.random()
    if kind < 0.6:
        digits, letters = rng.randint(100, 999), "".join(rng.choices(_LETTERS, k=3))
        return f"{digits} {letters} {rng.randint(1, 17):02d}", "KZ"
    if kind < 0.8:
        return f"0{rng.randint(1, 8)} KG {rng.randint(100, 999)} {rng.choice(_LETTERS)}", "KG"
    return f"新{rng.choice(string.ascii_uppercase)}{rng.randint(10000, 99999)}", "CN"


def near_miss(plate: str, rng: random.Random) -> str:
    """The plate with one character misread (a digit for a digit, a letter for a letter)."""
    chars = list(plate.replace(" ", ""))
    i = rng.randrange(len(chars))
    pool = string.digits if chars[i].isdigit() else _LETTERS
    chars[i] = rng.choice([c for c in pool if c != chars[i]])
    return "".join(chars)


def reads(rng: random.Random, watched_every: int) -> Iterator[tuple[str, str, float, str, str]]:
    """Forever: (camera uid, plate text, confidence, country, direction) in reading order."""
    (lane1, _, _), (lane2, _, _), (elsewhere, _, _) = PLATE_CAMERAS
    n = 0
    while True:
        n += 1
        direction = rng.choice(("in", "out"))
        cam = lane1 if n % 2 else lane2
        if n % watched_every == 0:
            yield cam, WATCHED_PLATE, 0.96, "KZ", "in"
            yield elsewhere, WATCHED_PLATE, 0.94, "KZ", "out"  # the clone, far away
        elif n % watched_every == watched_every // 2:
            yield cam, near_miss(WATCHED_PLATE, rng), 0.62, "KZ", direction
        elif n % (2 * watched_every) == 3:
            for plate in CONVOY_PLATES:
                yield cam, plate, 0.95, "KZ", "in"
        else:
            plate, country = random_plate(rng)
            yield cam, plate, round(rng.uniform(0.75, 0.99), 2), country, direction


def line(uid: str, text: str, confidence: float, country: str, direction: str, lane: int) -> bytes:
    doc = {"sensor": uid, "time": datetime.now(UTC).isoformat(), "kind": "plate_read",
           "value": confidence, "text": text,
           "attributes": {"country": country, "lane": lane, "direction": direction}}  # fmt: skip
    return (json.dumps(doc, ensure_ascii=False) + "\n").encode()


async def run(
    to: str,
    *,
    every_s: float = 3.0,
    watched_every: int = 20,
    duration_s: float | None = None,
    seed: int = 17,
) -> int:
    """Send reads to the sensor feed at ``to`` (HOST:PORT); returns how many were sent.
    Reconnects after a lost connection."""
    rng, lanes = random.Random(seed), {uid: lane for uid, _, lane in PLATE_CAMERAS}
    host, _, port = to.rpartition(":")
    loop = asyncio.get_running_loop()
    end = None if duration_s is None else loop.time() + duration_s
    sent, source = 0, reads(rng, watched_every)
    while end is None or loop.time() < end:
        try:
            _, writer = await asyncio.open_connection(host, int(port))
        except OSError as exc:
            log.warning("plate cameras: %s unreachable (%s); retrying", to, exc)
            await asyncio.sleep(2)
            continue
        try:
            while end is None or loop.time() < end:
                uid, text, conf, country, direction = next(source)
                writer.write(line(uid, text, conf, country, direction, lanes[uid]))
                await writer.drain()
                sent += 1
                await asyncio.sleep(every_s if uid != PLATE_CAMERAS[2][0] else 0.05)
        except OSError as exc:
            log.warning("plate cameras: connection lost (%s); reconnecting", exc)
        finally:
            writer.close()
    return sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--to", required=True, help="HOST:PORT of the BCP sensor line feed.")
    ap.add_argument("--every", type=float, default=3.0, help="Seconds between reads.")
    ap.add_argument("--watched-every", type=int, default=20, help="Reads between sightings.")
    ap.add_argument("--duration", type=float, default=0.0, help="Stop after SECONDS (0: never).")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    sent = asyncio.run(run(args.to, every_s=args.every, watched_every=args.watched_every,
                           duration_s=args.duration or None))  # fmt: skip
    print(f"sent {sent} plate reads")


if __name__ == "__main__":
    main()
