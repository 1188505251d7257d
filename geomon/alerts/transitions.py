"""Zone enter / exit / cross and border crossings from consecutive fixes, vectorised.

For fix *i* with predecessor *i-1* of the same device: entered = Z(i) − Z(i-1), exited =
Z(i-1) − Z(i) (set differences of containing zones, done on int64 pair keys), and crossed =
zones the straight segment (i-1 → i) intersects that contain neither end — a sparse track
jumping over a zone. Border crossings have their own tolerance: :mod:`geomon.alerts.borders`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomon.alerts.track import Track
from geomon.alerts.zoneindex import ZoneIndex

ENTER, EXIT, CROSS = 0, 1, 2
TRANSITION_NAMES = ("enter", "exit", "cross")


@dataclass(frozen=True)
class Transitions:
    """Parallel arrays: transition code, fix index (the later fix of the pair), zone index."""

    code: np.ndarray
    point: np.ndarray
    zone: np.ndarray

    def __len__(self) -> int:
        return len(self.code)


def zone_transitions(track: Track, index: ZoneIndex, *, crossings: bool = True) -> Transitions:
    """Every enter/exit/cross of ``track`` against ``index`` (only at fixes with ``emit``)."""
    n, nz = len(track), max(len(index), 1)
    pi, zi = index.points_in_zones(track.lon, track.lat)
    cur = pi * nz + zi
    has_prev = track.has_prev
    emit = has_prev & track.emit
    # Membership of the predecessor, re-keyed onto the later fix of the pair.
    shifted_ok = (pi + 1 < n) & emit[np.minimum(pi + 1, n - 1)]
    prev_on_next = (pi[shifted_ok] + 1) * nz + zi[shifted_ok]
    cur_emit = cur[emit[pi]] if len(pi) else cur
    entered = np.setdiff1d(cur_emit, prev_on_next, assume_unique=True)
    exited = np.setdiff1d(prev_on_next, cur_emit, assume_unique=True)
    keys = [entered, exited]
    codes = [np.full(len(entered), ENTER), np.full(len(exited), EXIT)]
    if crossings:
        crossed = _crossed(track, index, emit, cur, prev_on_next, nz)
        keys.append(crossed)
        codes.append(np.full(len(crossed), CROSS))
    allk = np.concatenate(keys)
    code = np.concatenate(codes)
    order = np.lexsort((code, allk % nz, allk // nz))
    return Transitions(code[order], (allk // nz)[order], (allk % nz)[order])


def _crossed(
    track: Track,
    index: ZoneIndex,
    emit: np.ndarray,
    cur: np.ndarray,
    prev_on_next: np.ndarray,
    nz: int,
) -> np.ndarray:
    ends = np.flatnonzero(emit)
    if len(ends) == 0:
        return np.empty(0, np.int64)
    si, zi = index.segments_through_zones(
        track.lon[ends - 1], track.lat[ends - 1], track.lon[ends], track.lat[ends]
    )
    keys = ends[si] * nz + zi
    return np.setdiff1d(np.setdiff1d(keys, cur), prev_on_next)
