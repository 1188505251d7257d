// geomon situation map: the offline basemap, drawn in the browser by protomaps-leaflet (npm,
// served from our origin) from our own vector tiles (/basemap/{z}/{x}/{y}.mvt, PostGIS).
// Two Leaflet layers share one tile cache: fills and lines in the tile pane (under everything),
// labels in their own pane above surfaces and polygons but below markers, so a density surface
// never hides a town's name. Labels use the reader's language (name_ru for Russian, else the
// English name) and the browser's own sans-serif font: no glyph files, nothing from elsewhere.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-i18n.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  // Colours: land tinted per country so the two banks of a border river differ.
  g.basemapColours = {
    background: "#e6e1d6", water: "#a9cbe6", waterLine: "#7fb0d8", river: "#5f9fd6",
    countryLine: "#a39b8c", border: "#8c1d52", label: "#2b2b2b", waterLabel: "#22609a",
    halo: "rgba(255,255,255,0.9)"
  };
  g.countryTints = {
    KAZ: "#f2ead3", KGZ: "#e3edd4", TJK: "#f6dccf", UZB: "#ece0ee", TKM: "#f3eec6",
    AFG: "#e2e5cb", CHN: "#efe5dd", RUS: "#ece8e2", IRN: "#e8e0ef", PAK: "#dde9d8",
    MNG: "#f1e6d6", AZE: "#ece4d6", GEO: "#e6ecdd", ARM: "#efe1da"
  };
  // Road classes (OSM highway=*) as colour and width; tracks and paths get a dashed line.
  g.roadStyle = function (kind) {
    var k = String(kind || "").replace(/_link$/, "");
    if (k === "motorway" || k === "trunk") return { color: "#e07b39", width: 2.4 };
    if (k === "primary") return { color: "#eb9a4f", width: 2 };
    if (k === "secondary") return { color: "#f2bf72", width: 1.6 };
    if (k === "tertiary") return { color: "#f7dc9c", width: 1.3 };
    if (k === "track" || k === "path") return { color: "#8a7f6e", width: 1, dash: true };
    return { color: "#ffffff", width: 1 };
  };
  // Which name a label shows: the reader's language where the data has it, else the name.
  g.labelProps = function (locale) {
    return String(locale || "en").slice(0, 2) === "ru" ? ["name_ru", "name"] : ["name"];
  };
  var shown = function (z, f) { return f.props.minzoom == null || f.props.minzoom <= z; };

  // A small upward triangle (peaks); protomaps-leaflet calls draw(ctx, geom, z, feature).
  var triangle = { draw: function (ctx, geom) {
    var p = geom[0][0];
    ctx.beginPath(); ctx.moveTo(p.x, p.y - 4); ctx.lineTo(p.x + 4, p.y + 3); ctx.lineTo(p.x - 4, p.y + 3); ctx.closePath();
    ctx.fillStyle = "#7a5b3a"; ctx.fill();
  } };

  g.basemapPaintRules = function (P) {
    var c = g.basemapColours;
    return [
      { dataLayer: "land", symbolizer: new P.PolygonSymbolizer({ fill: function (z, f) { return g.countryTints[f.props.kind] || "#efeae0"; } }) },
      { dataLayer: "water", symbolizer: new P.PolygonSymbolizer({ fill: c.water }) },
      { dataLayer: "water", symbolizer: new P.LineSymbolizer({ color: c.waterLine, width: 0.6 }) },
      { dataLayer: "country_lines", symbolizer: new P.LineSymbolizer({ color: c.countryLine, width: 0.8 }) },
      // the state borders of Central Asia: a light band, the rivers over it, then a dashed line,
      // so a border river (the Panj) shows blue on both sides of the border and in its gaps
      { dataLayer: "borders", symbolizer: new P.LineSymbolizer({ color: "rgba(255,255,255,0.7)", width: function (z) { return z >= 8 ? 5 : 3.5; } }) },
      { dataLayer: "rivers", filter: shown, symbolizer: new P.LineSymbolizer({ color: c.river, lineCap: "round", lineJoin: "round",
        // wide at border zooms: a border river (the Panj) shows on both sides of the border line
        width: function (z, f) { return (f.props.rank <= 5 ? 1.6 : 1.0) * (z >= 9 ? 3.5 : z >= 7 ? 1.8 : 1); } }) },
      // roads of an OSM extract (geomon basemap import-osm): main roads orange, tracks dashed
      { dataLayer: "roads", filter: shown, symbolizer: new P.LineSymbolizer({ lineCap: "round", lineJoin: "round",
        color: function (z, f) { return g.roadStyle(f.props.kind).color; },
        width: function (z, f) { return g.roadStyle(f.props.kind).width * (z >= 11 ? 1.5 : 1); } }) },
      { dataLayer: "roads", filter: function (z, f) { return shown(z, f) && g.roadStyle(f.props.kind).dash; },
        symbolizer: new P.LineSymbolizer({ color: "#fff", width: 1, dash: [3, 3], dashColor: "#8a7f6e" }) },
      { dataLayer: "borders", symbolizer: new P.LineSymbolizer({ color: c.border, dash: [6, 3], dashColor: c.border,
        width: function (z) { return z >= 8 ? 2.2 : 1.6; } }) },
      { dataLayer: "places", filter: shown, symbolizer: new P.CircleSymbolizer({ fill: "#3a3a3a", stroke: "#fff", width: 1,
        radius: function (z, f) { return f.props.kind === "Admin-0 capital" ? 3.5 : 2.5; } }) },
      { dataLayer: "peaks", filter: shown, symbolizer: triangle }
    ];
  };

  // A point label beside its symbol: the first of eight positions that collides with no label
  // placed before it (protomaps-leaflet's OffsetSymbolizer tries only its first placement).
  // A point near a tile edge comes in both tiles: the deduplication key keeps the second copy
  // from taking another position beside the same point.
  g.besidePoint = function (P, options) {
    var T = P.TextPlacements, d = options.gap || 4;
    var textOf = function (f) {
      for (var i = 0; i < options.labelProps.length; i++) {
        var v = f.props[options.labelProps[i]];
        if (typeof v === "string") return v;
      }
      return "";
    };
    var spots = [[T.E, d + 1, 0], [T.Ne, d, -1], [T.W, -d - 1, 0], [T.Se, d, 2], [T.Nw, -d, -1],
      [T.Sw, -d, 2], [T.N, 0, -d], [T.S, 0, d]];
    var tries = spots.map(function (s) {
      return new P.OffsetTextSymbolizer(Object.assign({}, options, { placements: [s[0]], offsetX: s[1], offsetY: s[2] }));
    });
    return { place: function (layout, geom, feature) {
      for (var i = 0; i < tries.length; i++) {
        var placed = tries[i].place(layout, geom, feature);
        if (placed) {
          // keyed by the text shown: a crossing point named like the town beside it is not
          // labelled twice (towns are placed first)
          var shownText = textOf(feature);
          placed.forEach(function (l) { l.deduplicationKey = shownText; l.deduplicationDistance = 60; });
          return placed;
        }
      }
      return undefined;
    } };
  };

  g.basemapLabelRules = function (P, locale) {
    var c = g.basemapColours, props = g.labelProps(locale);
    var byRank = function (a, b) { return (a.rank || 0) - (b.rank || 0) || (b.value || 0) - (a.value || 0); };
    var text = function (font, fill, extra) {
      var o = { labelProps: props, font: font, fill: fill, stroke: c.halo, width: 2.5, maxLineChars: 18 };
      for (var k in extra || {}) o[k] = extra[k];
      return o;
    };
    var townFont = function (z, f) {
      if (f.props.kind === "Admin-0 capital") return "600 13px sans-serif";
      return (f.props.rank <= 5 ? "12px" : "11px") + " sans-serif";
    };
    return [
      { dataLayer: "countries", maxzoom: 9, symbolizer: new P.CenteredTextSymbolizer(text(
        function (z) { return "600 " + (z <= 4 ? 12 : 14) + "px sans-serif"; }, "#5b4636")) },
      { dataLayer: "places", filter: shown, sort: byRank, symbolizer: g.besidePoint(P, text(townFont, c.label)) },
      { dataLayer: "crossings", filter: shown, symbolizer: g.besidePoint(P, Object.assign(
        text("italic 600 11px sans-serif", "#7a1020"), { gap: 7 })) },
      { dataLayer: "water_labels", filter: shown, sort: byRank, symbolizer: new P.CenteredTextSymbolizer(
        text("italic 12px sans-serif", c.waterLabel)) },
      { dataLayer: "roads", minzoom: 10, filter: shown, symbolizer: new P.LineLabelSymbolizer(
        { labelProps: props, font: "10px sans-serif", fill: "#5a4630", stroke: c.halo, width: 3, repeatDistance: 300 }) },
      { dataLayer: "rivers", filter: function (z, f) { return shown(z - 1, f); }, symbolizer: new P.LineLabelSymbolizer(
        { labelProps: props, font: "italic 11px sans-serif", fill: c.waterLabel, stroke: c.halo, width: 3, repeatDistance: 400 }) },
      { dataLayer: "peaks", filter: shown, sort: byRank, symbolizer: g.besidePoint(P, text("italic 10px sans-serif", "#6b4e2e")) }
    ];
  };

  // The basemap as one Leaflet layer (what the layer control switches): fills and lines in the
  // tile pane, labels in the "gm-labels" pane. options: {url, locale, attribution}.
  // The map's panes, bottom to top: tiles (200: basemap fills and lines), gm-surfaces (350:
  // raster surfaces), overlays (400: polygons and lines), gm-analysis (450), gm-labels (460:
  // basemap labels), markers (600), gm-teams (640), popups (700).
  g.makePanes = function (map) {
    [["gm-surfaces", 350], ["gm-labels", 460]].forEach(function (p) {
      if (map.getPane(p[0])) return;
      var pane = map.createPane(p[0]);
      pane.style.zIndex = p[1];
      pane.style.pointerEvents = "none";
    });
  };

  g.basemapLayer = function (map, options) {
    var P = window.protomapsL;
    g.makePanes(map);
    var common = { url: options.url, maxDataZoom: options.maxDataZoom || 14, attribution: options.attribution || "" };
    var base = P.leafletLayer(Object.assign({}, common, { paintRules: g.basemapPaintRules(P), labelRules: [],
      backgroundColor: g.basemapColours.background }));
    var labels = P.leafletLayer(Object.assign({}, common, { paintRules: [], labelRules: g.basemapLabelRules(P, options.locale),
      pane: "gm-labels", attribution: "" }));
    labels.views = base.views;  // one fetch and one parsed copy of each tile for both layers
    var group = L.layerGroup([base, labels]);
    group.gmBase = base; group.gmLabels = labels;
    g.basemap = group;
    return group;
  };
})(geomon);
