"""Gi* on a square grid by prefix-sum stencils equals the sparse distance-band path."""

from __future__ import annotations

import numpy as np
import pytest

from geomon.errors import SpatialError
from geomon.spatial.gistar import gistar_z
from geomon.spatial.gistar_grid import band_runs, gistar_grid_z
from geomon.spatial.grid import GridSpec, aggregate_to_grid
from geomon.spatial.weights import distance_band


def _cells(keep_empty: bool, seed: int = 3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(30000, 5000, 4000), rng.uniform(0, 80000, 1500)])
    y = np.concatenate([rng.normal(25000, 4000, 4000), rng.uniform(0, 50000, 1500)])
    spec = GridSpec("square", 1000.0, (0, 0, 80000, 50000) if keep_empty else None)
    return aggregate_to_grid(x, y, None, spec, keep_empty=keep_empty)


@pytest.mark.parametrize("keep_empty", [True, False])
@pytest.mark.parametrize("band", [1000.0, 1500.0, 3000.0, 4200.0])
def test_z_and_neighbours_equal_the_sparse_path(keep_empty: bool, band: float) -> None:
    cells = _cells(keep_empty)
    w = distance_band(cells.cx, cells.cy, band)
    want = gistar_z(cells.values, w)
    z, card = gistar_grid_z(cells.values, cells.row, cells.col, 1000.0, band)
    np.testing.assert_allclose(z, want, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(card, w.cardinalities)
    if not keep_empty:
        assert (card < w.cardinalities.max()).any()  # holes really are holes


def test_band_at_a_lattice_distance_keeps_it() -> None:
    runs = dict(band_runs(1000.0, 2000.0))
    assert runs[0] == 2 and runs[1] == 1 and runs[2] == 0 and 3 not in runs
    assert dict(band_runs(1000.0, 999.0)) == {0: 0}  # self only


def test_no_variance_is_refused() -> None:
    with pytest.raises(SpatialError):
        gistar_grid_z(np.ones(5), np.arange(5), np.zeros(5, int), 1.0, 1.0)
