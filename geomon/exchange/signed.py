"""Signed GeoPackages for exchange between national instances (docs/exchange.md).

A package is a GeoPackage with one layer per kind of record (``cases``, ``events``) and an
attribute table ``geomon_exchange`` holding the manifest (format, exporting agency, export time,
the signer's public key, and per layer its row count and the SHA-256 of its canonical content)
and an Ed25519 signature over the manifest's canonical JSON.

The digest is taken over the rows *as GDAL reads them back* (sorted by key, each row as JSON with
sorted keys, coordinates rounded to 1e-7°), by the exporter right after writing and by the
importer before it trusts anything, so both see the same values whatever the driver does with
types. Any change to a row, a row added or removed, a layer dropped, or a manifest edited fails
the check; the package is then refused whole.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from geomon.errors import InvalidRequest

FORMAT = "geomon-exchange/1"
MANIFEST_LAYER = "geomon_exchange"
LAYERS = ("cases", "events")
KEYS = {"cases": "external_id", "events": "event_key"}


class PackageError(InvalidRequest):
    """The package cannot be trusted or read: the message says why."""


# --- keys ---


def new_private_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM (keep it like a password)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise PackageError(f"not a readable private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise PackageError("the private key is not an Ed25519 key")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: what a partner stores to trust us."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as base64 raw bytes (as :func:`public_key_text`) or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise PackageError("the public key is not an Ed25519 key")
            return key
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise PackageError(f"not a readable Ed25519 public key: {exc}") from exc


def fingerprint(public_key: str) -> str:
    """A short, stable name for a public key: SHA-256 of its raw bytes, first 16 hex digits."""
    raw = parse_public_key(public_key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


# --- canonical content ---


def _canon(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, 7)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _canon(value.item())
    return str(value)


def layer_digest(layer: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of a layer's rows in canonical form (order of rows and columns irrelevant)."""
    key = KEYS[layer]
    lines = sorted(
        json.dumps(
            {k: _canon(v) for k, v in row.items()},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for row in sorted(rows, key=lambda r: str(r.get(key)))
    )
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_sha256(manifest: Mapping[str, Any]) -> str:
    """What identifies a package's content: the digest of its signed manifest."""
    return hashlib.sha256(_manifest_bytes(manifest)).hexdigest()


# --- files ---


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    import geopandas as gpd  # heavy: only for exchange

    records = [{c: r.get(c) for c in columns} for r in rows]
    return gpd.GeoDataFrame(
        records,
        columns=list(columns),
        geometry=gpd.points_from_xy(
            [r.get("lon") for r in rows], [r.get("lat") for r in rows], crs=4326
        ),
        crs=4326,
    )


def read_layers(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The record layers of a package as plain rows (no geometry column: lon/lat are columns)."""
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
    except DataSourceError as exc:
        raise PackageError(f"{path.name}: not a GeoPackage GDAL can open ({exc})") from exc
    out: dict[str, list[dict[str, Any]]] = {}
    for layer in LAYERS:
        if layer not in present:
            continue
        frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
        out[layer] = [
            {str(k): (None if _is_missing(v) else v) for k, v in rec.items()}
            for rec in frame.to_dict("records")
        ]
    return out


def _is_missing(v: Any) -> bool:
    try:
        return bool(v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "NaT")
    except (TypeError, ValueError):
        return False


def write_package(
    path: Path,
    layers: Mapping[str, tuple[Sequence[str], Sequence[Mapping[str, Any]]]],
    *,
    agency: str,
    exported_at: datetime,
    key: Ed25519PrivateKey,
    note: str = "",
) -> dict[str, Any]:
    """Write ``layers`` (name → (columns, rows with lon/lat)) to ``path`` and sign it; returns
    the manifest. An existing file is replaced."""
    import pandas as pd
    import pyogrio

    if path.exists():
        path.unlink()
    for name, (columns, rows) in layers.items():
        if name not in LAYERS:
            raise PackageError(f"unknown layer {name!r}; accepted: {', '.join(LAYERS)}")
        pyogrio.write_dataframe(_frame(rows, columns), path, layer=name, driver="GPKG")
    read_back = read_layers(path)
    manifest = {
        "format": FORMAT,
        "agency": agency,
        "exported_at": exported_at.isoformat(),
        "public_key": public_key_text(key),
        "note": note,
        "layers": {
            name: {"rows": len(rows), "sha256": layer_digest(name, rows)}
            for name, rows in sorted(read_back.items())
        },
    }
    signature = base64.b64encode(key.sign(_manifest_bytes(manifest))).decode("ascii")
    table = pd.DataFrame(
        {"manifest": [json.dumps(manifest, ensure_ascii=False)], "signature": [signature]}
    )
    pyogrio.write_dataframe(table, path, layer=MANIFEST_LAYER, driver="GPKG")
    return manifest


def read_manifest(path: Path) -> tuple[dict[str, Any], str]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        table = pyogrio.read_dataframe(path, layer=MANIFEST_LAYER, read_geometry=False)
    except (DataLayerError, DataSourceError) as exc:
        raise PackageError(f"{path.name}: no {MANIFEST_LAYER} table: not a signed package") from exc
    if len(table) != 1:
        raise PackageError(f"{path.name}: {MANIFEST_LAYER} must hold exactly one row")
    try:
        manifest = json.loads(str(table["manifest"].iloc[0]))
        signature = str(table["signature"].iloc[0])
    except (KeyError, ValueError) as exc:
        raise PackageError(f"{path.name}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackageError(f"{path.name}: not a {FORMAT} package")
    return manifest, signature


def verify_package(
    path: Path, trusted: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Check ``path`` against ``trusted`` (fingerprint → public key of the manifest's agency):
    the signature over the manifest, then every layer's digest and row count. Returns the
    manifest and the rows; raises :class:`PackageError` naming the first thing that fails."""
    manifest, signature = read_manifest(path)
    public = str(manifest.get("public_key") or "")
    fp = fingerprint(public) if public else ""
    if fp not in trusted:
        raise PackageError(
            f"signed by key {fp or '(none)'} of {manifest.get('agency')!r}, which is not trusted "
            "here (geomon exchange trust add)"
        )
    try:
        parse_public_key(trusted[fp]).verify(
            base64.b64decode(signature, validate=True), _manifest_bytes(manifest)
        )
    except (InvalidSignature, ValueError) as exc:
        raise PackageError("the signature does not match the manifest") from exc
    rows = read_layers(path)
    declared = manifest.get("layers") or {}
    if set(declared) != set(rows):
        raise PackageError(f"layers {sorted(rows)} differ from the signed {sorted(declared)}")
    for name, meta in declared.items():
        if len(rows[name]) != meta.get("rows") or layer_digest(name, rows[name]) != meta.get(
            "sha256"
        ):
            raise PackageError(f"layer {name!r} was changed after signing")
    return manifest, rows
