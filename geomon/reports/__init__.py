"""The reports engine: team reports (trips, stops, daily summary; Traccar's definitions) and
the weekly BLO report of a crossing point, in the reader's language and time zone, as HTML,
CSV, XLSX or PDF (docs/reports.md).

``motion`` (pure: fixes → trips, stops, days), ``team`` and ``blo`` (pure: inputs → Report),
``model`` (the Report), ``fmt`` (Babel formatting), ``render_*`` (formats), ``service`` (the
database around them, shared by API, CLI and scheduler)."""
