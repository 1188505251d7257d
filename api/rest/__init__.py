"""REST /api/v1 resources (devices, positions and tracks, incidents, zones, analysis results)."""
