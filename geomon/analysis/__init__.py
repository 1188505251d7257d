"""Analyses on live data: load from the store, run the pure engine, save the results; and
the engine's file mode (``hotspot_files``, ``surface_config``: CSV, GeoJSON and TOML readers),
the I/O that ``geomon.spatial`` does not do."""
