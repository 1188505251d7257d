"""The offline basemap's context features (migration 0036), on the shared :data:`metadata`.

One table for every basemap layer: towns, lakes and the Caspian, rivers, peaks (from Natural
Earth files), and what geomon.store.basemap derives from ``countries`` (land pieces, country
outlines, country label points), each with the zoom range it is drawn at.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Column, Float, Identity, Index, Integer, SmallInteger, Table, Text, text

from geomon.store.schema import metadata

basemap_features = Table(
    "basemap_features",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column(
        "layer",
        Text,
        nullable=False,
        comment="land, country_line, country_label, water, water_label, river, place, peak",
    ),
    Column("name", Text, nullable=False, server_default=""),
    Column("name_ru", Text, comment="Russian name where the data or basemap_names.csv has it"),
    Column("kind", Text, nullable=False, server_default="", comment="NE class, or ISO3"),
    Column("rank", Float, nullable=False, server_default=text("10"), comment="NE scalerank"),
    Column("minzoom", SmallInteger, nullable=False, server_default=text("0")),
    Column("maxzoom", SmallInteger, nullable=False, server_default=text("24")),
    Column("value", Float, comment="population of a town, elevation of a peak (m)"),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column("source", Text, nullable=False, server_default=""),
    Index("ix_basemap_features_geom", "geom", postgresql_using="gist"),
    Index("ix_basemap_features_layer", "layer"),
    comment="Offline basemap context (public reference data, no agency).",
)
