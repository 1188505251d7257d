"""Several batch writers (each its own connection, task and spool folder) behind one submit:
a job goes to the writer of its first record's device, so one device's fixes stay in one
writer, in order. While one writer waits on its COMMIT the other prepares and sends the next
batch, which overlaps Python work with database work."""

from __future__ import annotations

import zlib
from typing import Any

from geomon.model import Observation, Position
from geomon.pipeline.writer import BatchWriter
from geomon.settings import IngestSettings


class ShardedWriter:
    """The :class:`BatchWriter` interface over ``n`` writers."""

    def __init__(self, url: str, settings: IngestSettings, n: int, **kwargs: Any) -> None:
        self.writers = [
            BatchWriter(
                url,
                settings.model_copy(
                    update={
                        "spool_dir": settings.spool_dir / f"s{i}" if n > 1 else settings.spool_dir
                    }
                ),
                **kwargs,
            )
            for i in range(n)
        ]

    def _pick(self, uid: str) -> BatchWriter:
        return self.writers[zlib.crc32(uid.encode()) % len(self.writers)]

    @property
    def healthy(self) -> bool:
        """False while any writer is recovering from a fault (see BatchWriter._crashed)."""
        return all(w.healthy for w in self.writers)

    async def start(self) -> None:
        for w in self.writers:
            await w.start()

    async def stop(self) -> None:
        for w in self.writers:
            await w.stop()

    async def submit(self, positions: list[Position], *, kind: str = "tracker") -> int:
        uid = positions[0].device_uid if positions else ""
        return await self._pick(uid).submit(positions, kind=kind)

    async def submit_observations(self, observations: list[Observation]) -> int:
        uid = observations[0].sensor_uid if observations else ""
        return await self._pick(uid).submit_observations(observations)
