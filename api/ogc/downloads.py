"""OGC items as files: ``f=csv|gpkg|kml|fgb`` written by GDAL, spooled to a temporary file.

The rows come from a server-side cursor on the caller's own connection (so row-level security
and the request's filters are exactly those of the GeoJSON pages) and are handed to GDAL in a
worker thread one batch at a time: the thread asks the event loop for the next batch, so a
collection of any size costs one batch of memory plus the file on disk. GeoPackage and
FlatGeobuf need a seekable file, so every format is written whole, then sent and deleted.
Without ``limit`` a download holds every matching feature; with it, at most ``limit``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from geomon.exchange import ogr
from geomon.store import feature_export
from geomon.store import features as store

BATCH = 5_000


def wanted(f: str | None, accept: str) -> str | None:
    """The file format asked for by ``f`` or, without it, by an Accept header naming one."""
    if f is not None:
        return f if f in ogr.FORMATS else None
    for key, spec in ogr.FORMATS.items():
        if spec.media_type in accept and "json" not in accept:
            return key
    return None


async def download(
    conn: psycopg.AsyncConnection,
    spec: store.CollectionSpec,
    q: store.ItemQuery,
    fmt: str,
    limit: int | None,
) -> FileResponse:
    fields = await feature_export.describe(conn, spec)
    tmp = Path(tempfile.mkdtemp(prefix="geomon-ogc-"))
    info = ogr.FORMATS[fmt]
    path = tmp / f"{spec.id}.{info.ext}"
    loop = asyncio.get_running_loop()
    try:
        async with feature_export.export_cursor(conn, spec, q, limit) as cur:

            def batches() -> Iterator[Sequence[Any]]:
                while True:
                    rows = asyncio.run_coroutine_threadsafe(cur.fetchmany(BATCH), loop).result()
                    if not rows:
                        return
                    yield rows

            n = await asyncio.to_thread(
                ogr.write,
                path,
                fmt,
                fields,
                batches(),
                layer=spec.id,
                geometry_type=spec.geometry,
            )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=info.media_type,
        filename=path.name,
        headers={"OGC-NumberReturned": str(n)},
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
