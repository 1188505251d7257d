"""Open every collection of a running geomon's /ogc as a QGIS "OAPIF" layer (PyQGIS).

Run by scripts/qgis-check with the system Python (Debian's python3-qgis), not the venv:

    QT_QPA_PLATFORM=offscreen GEOMON_QGIS_USER=... GEOMON_QGIS_TOKEN=... \
        python3 scripts/qgis_check.py BASE_URL

Prints one line per collection: valid, featureCount, features read by iterating the whole layer,
the server's numberMatched, features read through a bbox filter against the server's count for
that bbox, the geometry type and the field names; then QGIS's own messages. Exit status 1 when
a layer is invalid or a count disagrees.

QGIS 3.22 has no way to send an ``Authorization: Bearer`` header from a data source URI or an
authentication configuration (the "API Header" method arrived in 3.24), but geomon accepts HTTP
Basic with the user name and an API token as the password (docs/security.md). So the layers
use what a desktop user would set up: a QGIS authentication configuration of method "Basic"
(user GEOMON_QGIS_USER, password GEOMON_QGIS_TOKEN) in a throwaway authentication database
(a temporary QGIS_AUTH_DB_DIR_PATH with a random master password, set non-interactively), and
``authcfg=<id>`` in each layer's URI. Only when that configuration cannot be created (or with
GEOMON_QGIS_AUTH=preprocessor) does it fall back to adding ``Authorization: Bearer`` with
``QgsNetworkAccessManager.setRequestPreprocessor`` (to requests for BASE_URL only). The first
line of output says which one was used. The reference counts (numberMatched, following next
links) are fetched with urllib and the bearer token.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsNetworkAccessManager,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QByteArray

MAX_FOLLOW = 200  # pages followed when counting a collection without numberMatched


def get_json(url: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def server_count(items_url: str, token: str, bbox: str | None = None) -> tuple[int | None, int]:
    """(numberMatched or None, features counted by following next links)."""
    params = {"limit": "10000"}
    if bbox:
        params["bbox"] = bbox
    url: str | None = items_url + "?" + urllib.parse.urlencode(params)
    matched, counted, pages = None, 0, 0
    while url and pages < MAX_FOLLOW:
        page = get_json(url, token)
        if matched is None:
            matched = page.get("numberMatched")
        counted += len(page["features"])
        pages += 1
        url = next((ln["href"] for ln in page.get("links", []) if ln.get("rel") == "next"), None)
    return matched, counted


def bbox_of(collection: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """The middle half of the collection's extent (a filter that selects some features)."""
    boxes = collection.get("extent", {}).get("spatial", {}).get("bbox") or []
    if not boxes:
        return None
    x0, y0, x1, y1 = boxes[0][:4]
    dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
    if dx == 0 and dy == 0:  # a single point: a small box round it
        return x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01
    return x0 + dx, y0 + dy, x1 - dx, y1 - dy


def basic_authcfg(base: str, username: str, token: str) -> tuple[str | None, str]:
    """(id of a new "Basic" authentication configuration for ``base``, or None; what happened).

    The authentication database is the throwaway one of QGIS_AUTH_DB_DIR_PATH (set in main
    before QgsApplication starts); its master password is set here without a prompt."""
    manager = QgsApplication.authManager()
    if manager.isDisabled():
        return None, f"QGIS authentication system disabled: {manager.disabledMessage()}"
    if "Basic" not in manager.authMethodsKeys():
        return None, f"no Basic auth method (have {manager.authMethodsKeys()})"
    if not manager.masterPasswordIsSet() and not manager.setMasterPassword(
        secrets.token_urlsafe(24), True
    ):
        return None, "could not set the auth database's master password"
    config = QgsAuthMethodConfig("Basic")
    config.setName("geomon qgis-check")
    config.setUri(base)
    config.setConfig("username", username)
    config.setConfig("password", token)
    if not config.isValid():
        return None, "the Basic configuration is not valid"
    stored = manager.storeAuthenticationConfig(config)
    ok, config = stored if isinstance(stored, tuple) else (stored, config)
    if not ok or not config.id():
        return None, "storeAuthenticationConfig failed"
    return config.id(), f"stored in {QgsApplication.qgisAuthDatabaseFilePath()}"


def main() -> None:
    base = sys.argv[1].rstrip("/")
    token = os.environ["GEOMON_QGIS_TOKEN"]
    username = os.environ.get("GEOMON_QGIS_USER", "")
    wanted_auth = os.environ.get("GEOMON_QGIS_AUTH", "basic")
    # a throwaway authentication database: never the user's own QGIS profile
    auth_dir = None
    if not os.environ.get("QGIS_AUTH_DB_DIR_PATH"):
        auth_dir = os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp(prefix="qgis-check-auth-")
    page_size = os.environ.get("GEOMON_QGIS_PAGE_SIZE", "")
    verbose = os.environ.get("GEOMON_QGIS_VERBOSE", "") not in ("", "0")
    app = QgsApplication([], False)
    app.initQgis()
    messages: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda msg, tag, level: messages.append(f"[{tag}] {msg}") if level >= Qgis.Warning else None
    )

    authcfg, why = None, "GEOMON_QGIS_AUTH=preprocessor"
    if wanted_auth == "basic" and not username:
        why = "GEOMON_QGIS_USER is not set"
    elif wanted_auth == "basic":
        authcfg, why = basic_authcfg(base, username, token)
    if authcfg:
        print(f"auth: QGIS Basic authcfg={authcfg} (user {username}, password = API token; {why})")
    else:
        print(f"auth: FALLBACK request preprocessor adding 'Authorization: Bearer' ({why})")

    header = QByteArray(f"Bearer {token}".encode())
    requested: list[str] = []

    def preprocess(request: Any) -> None:
        """Records the URLs QGIS asks for; adds the bearer header only in the fallback."""
        url = request.url().toString()
        if url.startswith(base + "/"):
            if not authcfg:
                request.setRawHeader(QByteArray(b"Authorization"), header)
            requested.append(url)

    QgsNetworkAccessManager.setRequestPreprocessor(preprocess)

    collections = get_json(f"{base}/ogc/collections", token)["collections"]
    print(
        f"QGIS {Qgis.QGIS_VERSION}: {len(collections)} collections at {base}/ogc"
        + (f" (OAPIF pageSize {page_size})" if page_size else "")
    )
    print(
        f"{'collection':<18} {'valid':<5} {'count':>6} {'read':>6} {'matched':>7} "
        f"{'bbox read/server':>16} {'pages':>5}  {'geometry':<18} fields"
    )
    failures = 0
    for c in collections:
        cid = c["id"]
        uri = QgsDataSourceUri()
        uri.setParam("url", f"{base}/ogc")
        uri.setParam("typename", cid)
        if page_size:
            uri.setParam("pageSize", page_size)
        if authcfg:
            uri.setAuthConfigId(authcfg)
        requested.clear()
        layer = QgsVectorLayer(uri.uri(False), cid, "OAPIF")
        if c is collections[0]:
            print(f"layer URI (first collection): {uri.uri(False)}")
        valid = layer.isValid()
        matched, counted = server_count(f"{base}/ogc/collections/{cid}/items", token)
        expected = matched if matched is not None else counted
        count = read = bbox_read = -1
        bbox_server: int | None = None
        geom, fields, problems = "-", "-", []
        if valid:
            count = layer.featureCount()
            read = sum(1 for _ in layer.getFeatures())
            geom = QgsWkbTypes.displayString(layer.wkbType())
            fields = ",".join(layer.fields().names())
            box = bbox_of(c)
            if box is not None:  # a new layer: the first one answers from its local cache
                uri.setParam("restrictToRequestBBOX", "1")
                fresh = QgsVectorLayer(uri.uri(False), cid, "OAPIF")
                uri.removeParam("restrictToRequestBBOX")
                bbox_read = sum(
                    1
                    for _ in fresh.getFeatures(
                        QgsFeatureRequest().setFilterRect(QgsRectangle(*box))
                    )
                )
                _, bbox_server = server_count(
                    f"{base}/ogc/collections/{cid}/items", token, ",".join(f"{v:.6f}" for v in box)
                )
            if read != expected:
                problems.append(f"read {read} features, the server has {expected}")
            if bbox_server is not None and bbox_read < bbox_server:
                problems.append(f"bbox filter read {bbox_read}, the server has {bbox_server}")
        else:
            problems.append(f"invalid layer: {layer.error().summary() or 'no error text'}")
        pages = [u for u in requested if f"/collections/{cid}/items" in u]
        if verbose:
            for u in requested:
                print(f"  QGIS GET {u}")
        failures += bool(problems)
        bb = f"{bbox_read}/{bbox_server}" if bbox_server is not None else "-"
        print(
            f"{cid:<18} {str(valid).lower():<5} {count:>6} {read:>6} "
            f"{'-' if matched is None else matched:>7} {bb:>16} {len(pages):>5}  "
            f"{geom:<18} {fields}"
        )
        for p in problems:
            print(f"  PROBLEM {cid}: {p}")
    if messages:
        print(f"QGIS messages (warnings and above, {len(messages)}):")
        for m in dict.fromkeys(messages):
            print("  " + m[:400])
    print(
        "qgis-check: "
        + (
            f"OK, every collection opened as an OAPIF layer "
            f"({'Basic authcfg' if authcfg else 'bearer preprocessor'})"
            if not failures
            else f"{failures} collection(s) failed"
        )
    )
    # QGIS 3.22's teardown at exit (exitQgis and the interpreter's exit, with the layers and
    # the request preprocessor alive) ended in SIGSEGV (status 139): leave without it.
    if auth_dir:  # it holds the token (encrypted with a master password nobody kept)
        shutil.rmtree(auth_dir, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failures else 0)


if __name__ == "__main__":
    main()
