"""Parameters of a stored hotspot run: one validated pydantic model shared by CLI, API and
``rerun`` (stored as JSON: ``params`` holds the analysis settings, ``input_filter`` the point
selection; together they reproduce the run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["gistar", "ehsa", "kde", "dbscan"]
MAX_LATTICE_CELLS = 4_000_000  # grid rows × cols of the AOI's box (cell ids must fit int4)
MAX_RASTER_CELLS = 25_000_000


class InputFilter(BaseModel):
    """Which points a run analyses. At most one area of interest."""

    model_config = ConfigDict(extra="forbid")

    layer: Literal["incidents", "observations", "positions"] = Field(
        default="incidents",
        description="Point layer: incidents, observations (sensor alarms "
        "and other BCP feeds, category = kind) or positions.",
    )
    category: str | None = Field(
        default=None, max_length=100, description="incidents.category or observations.kind."
    )
    agency: str | None = Field(default=None, max_length=64, description="Agency code.")
    since: datetime | None = Field(default=None, description="Window start (inclusive).")
    until: datetime | None = Field(
        default=None,
        description="Window end (exclusive); a run records 'now' here so it can be reproduced.",
    )
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="AOI: west,south,east,north (degrees)."
    )
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{3}$",
        description="AOI: ISO 3166-1 alpha-3 of `countries`.",
    )
    border: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{3}-[A-Za-z]{3}$",
        description="AOI: border code of `borders` (with buffer_km).",
    )
    buffer_km: float | None = Field(
        default=None, gt=0, le=500, description="Buffer around the border, km."
    )
    aoi: dict[str, Any] | None = Field(
        default=None, description="AOI: a GeoJSON Polygon or MultiPolygon geometry (EPSG:4326)."
    )
    sum_values: bool = Field(
        default=False, description="Sum quantity/value instead of counting points."
    )

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("times need a time zone offset (e.g. Z)")
        return v

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, v: tuple[float, float, float, float] | None):
        if v is not None:
            w, s, e, n = v
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                raise ValueError("bbox must be west,south,east,north with west<east, south<north")
        return v

    @field_validator("aoi")
    @classmethod
    def _aoi(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            if v.get("type") == "Feature":
                v = v.get("geometry") or {}
            if v.get("type") not in ("Polygon", "MultiPolygon"):
                raise ValueError("aoi must be a GeoJSON Polygon or MultiPolygon")
        return v

    @model_validator(mode="after")
    def _one_aoi(self) -> InputFilter:
        given = [k for k in ("bbox", "country", "border", "aoi") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one area of interest, not {' and '.join(given)}")
        if (self.border is None) != (self.buffer_km is None):
            raise ValueError("border and buffer_km go together")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class HotspotParams(BaseModel):
    """A hotspot run: kind, input filter and the analysis settings (metres throughout)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    filter: InputFilter = Field(default_factory=InputFilter)
    grid: Literal["hex", "square"] = "hex"
    cell_size: float = Field(default=5000.0, ge=50, le=200_000, description="Grid cell, m.")
    distance_band: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Fixed band, m (default: ArcGIS's rule)."
    )
    knn: int | None = Field(default=None, ge=1, le=64, description="k nearest neighbours.")
    fdr: bool = Field(default=False, description="Benjamini-Hochberg FDR bins (gi_bin_fdr).")
    permutations: int | None = Field(default=None, ge=9, le=9999)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    step: Literal["month", "week"] = Field(default="month", description="EHSA time step.")
    time_window: int = Field(default=1, ge=0, le=12, description="EHSA neighbourhood steps.")
    bandwidth: float | None = Field(
        default=None, gt=0, le=1_000_000, description="KDE radius, m (default: ArcGIS's rule)."
    )
    kde_cell_size: float | None = Field(
        default=None, ge=10, le=100_000, description="KDE raster cell, m (default cell_size/5)."
    )
    eps: float = Field(default=2000.0, gt=0, le=200_000, description="DBSCAN eps, m.")
    min_count: int = Field(default=5, ge=1, le=100_000, description="DBSCAN min points.")

    @model_validator(mode="after")
    def _consistent(self) -> HotspotParams:
        if self.distance_band is not None and self.knn is not None:
            raise ValueError("distance_band and knn exclude each other")
        if self.seed is not None and self.permutations is None:
            raise ValueError("seed only makes sense with permutations")
        if self.kind == "ehsa" and self.permutations:
            raise ValueError("permutations are not used by emerging hot spot runs")
        return self

    def stored(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(params, input_filter) as JSON-ready dicts for ``hotspot_runs``."""
        params = self.model_dump(mode="json", exclude={"filter"})
        return params, self.filter.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_stored(
        cls, kind: str, params: dict[str, Any], input_filter: dict[str, Any]
    ) -> HotspotParams:
        """The parameters of a stored run (values chosen from the data are left out)."""
        clean = {k: v for k, v in params.items() if k not in ("derived", "kind")}
        return cls.model_validate({**clean, "kind": kind, "filter": input_filter})
