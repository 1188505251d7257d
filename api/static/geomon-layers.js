// geomon situation map: the layer control in groups (base / live / analysis / context), a
// legend that lists only the layers that are on and never covers the right-hand panels, and
// the colour ramp of a surface layer (values and units) when it is switched on.
// Pure helpers (layerGroupOf, rampCss, rampTicks) are tested with node:test in tests/js/.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-i18n.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.LAYER_GROUPS = ["base", "live", "analysis", "context"];
  g.layerGroupTitle = function (key) {
    return { base: g.t("Base map"), live: g.t("Live"), analysis: g.t("Analysis"), context: g.t("Context") }[key];
  };
  // A layer's group: what the server tagged it with; a base layer is "base"; a layer our JS
  // added later (coverage, analysis runs) is an analysis layer.
  g.layerGroupOf = function (layer, overlay) {
    if (!overlay) return "base";
    return (layer && layer.gmGroup) || "analysis";
  };

  // The CSS gradient of a colour ramp given as hex stops (low → high).
  g.rampCss = function (colours) {
    return "linear-gradient(to right, " + colours.join(", ") + ")";
  };
  // Three values under the ramp: low, middle, high.
  g.rampTicks = function (vmin, vmax) { return [vmin, (vmin + vmax) / 2, vmax]; };

  // Leaflet's layer control, with a heading above each group's layers (in LAYER_GROUPS order).
  // Made on first use: this file loads before Leaflet (folium puts its scripts after ours).
  g.groupedLayers = function (base, overlays, options) {
    g.GroupedLayers = g.GroupedLayers || L.Control.Layers.extend(groupedLayersMethods);
    return new g.GroupedLayers(base, overlays, options);
  };
  var groupedLayersMethods = {
    _addItem: function (obj) {
      var label = L.Control.Layers.prototype._addItem.call(this, obj);
      label.setAttribute("data-gm-group", g.layerGroupOf(obj.layer, obj.overlay));
      return label;
    },
    _update: function () {
      var out = L.Control.Layers.prototype._update.call(this);
      [this._baseLayersList, this._overlaysList].forEach(function (list) {
        var labels = [].slice.call(list.children);
        g.LAYER_GROUPS.forEach(function (key) {
          var mine = labels.filter(function (l) { return l.getAttribute("data-gm-group") === key; });
          if (!mine.length) return;
          var head = L.DomUtil.create("div", "gm-layer-group", list);
          head.textContent = g.layerGroupTitle(key);
          mine.forEach(function (l) { list.appendChild(l); });
        });
      });
      if (this._map) g.syncLegend(this._map);
      return out;
    }
  };

  // ---- legend: only the rows of layers that are on ----
  // Rows carry data-gm-layer="<key>"; layers carry gmKey (set by the page's layer control).
  g.syncLegend = function (map) {
    var legend = document.getElementById("gm-legend");
    var ctl = g.layerControl;
    if (!legend || !ctl || !ctl._layers) return;
    var on = {};
    ctl._layers.forEach(function (o) { if (o.layer.gmKey && map.hasLayer(o.layer)) on[o.layer.gmKey] = true; });
    if (g.live && map.hasLayer(g.live)) on.teams = true;
    var shown = 0;
    [].slice.call(legend.querySelectorAll("[data-gm-layer]")).forEach(function (row) {
      var visible = !!on[row.getAttribute("data-gm-layer")];
      row.hidden = !visible;
      if (visible) shown++;
    });
    g.syncSurfaceLegend(map);
    legend.hidden = shown === 0 && !legend.querySelector(".gm-ramp");
    g.fitLegend();
  };

  // The legend (bottom right) gets at most the height between the right-hand panels above it
  // and the bottom of the map, and scrolls within it.
  g.fitLegend = function () {
    var legend = document.getElementById("gm-legend"), body = document.getElementById("gm-legend-body");
    if (!legend || !body || !g.map) return;
    var map = g.map.getContainer().getBoundingClientRect(), above = map.top;
    [].slice.call(document.querySelectorAll(".leaflet-top.leaflet-right > *")).forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.height && !el.hidden) above = Math.max(above, r.bottom);
    });
    var head = document.getElementById("gm-legend-head");
    var room = map.bottom - above - 30 - (head ? head.offsetHeight : 0) - 16;
    body.style.maxHeight = Math.max(40, room) + "px";
    body.style.overflowY = "auto";
  };

  // ---- surfaces: a colour ramp with values and units while the layer is on ----
  g.surfaceRamps = {};  // surface id → {name, vmin, vmax, units, colours}
  g.loadSurfaceRamp = function (layer) {
    var id = layer.gmSurfaceId;
    if (id == null || g.surfaceRamps[id]) return Promise.resolve(g.surfaceRamps[id]);
    return fetch("/tiles/surfaces/" + id + ".json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (tj) {
        if (!tj || !tj["geomon:range"]) return null;
        var units = tj["geomon:units"] || "";
        g.surfaceRamps[id] = { name: layer.gmName || tj.name, vmin: tj["geomon:range"][0], vmax: tj["geomon:range"][1],
          units: ((g.config || {}).surfaceUnits || {})[units] || units, colours: tj["geomon:colours"] || [] };
        if (g.map) g.syncLegend(g.map);
        return g.surfaceRamps[id];
      });
  };
  g.rampHtml = function (s) {
    var ticks = g.rampTicks(s.vmin, s.vmax).map(function (v) { return "<span>" + g.esc(g.fmtNumber(v, Math.abs(s.vmax) < 10 ? 2 : 0)) + "</span>"; });
    return '<div class="gm-sub">' + g.esc(s.name) + "</div>" +
      '<div class="gm-ramp-bar" style="background:' + g.rampCss(s.colours) + '"></div>' +
      '<div class="gm-ramp-ticks">' + ticks.join("") + "</div>" +
      '<div class="gm-small">' + g.esc(s.units ? g.t("{units}; zero is not drawn", { units: s.units }) : g.t("zero is not drawn")) + "</div>";
  };
  g.syncSurfaceLegend = function (map) {
    var body = document.getElementById("gm-legend-body"), ctl = g.layerControl;
    if (!body || !ctl || !ctl._layers) return;
    var box = document.getElementById("gm-legend-ramps");
    if (!box) { box = L.DomUtil.create("div", "", body); box.id = "gm-legend-ramps"; }
    var html = [];
    ctl._layers.forEach(function (o) {
      var layer = o.layer;
      if (layer.gmSurfaceId == null || !map.hasLayer(layer)) return;
      var s = g.surfaceRamps[layer.gmSurfaceId];
      if (s) html.push('<div class="gm-ramp" data-gm-surface="' + g.esc(layer.gmSurfaceId) + '">' + g.rampHtml(s) + "</div>");
      else g.loadSurfaceRamp(layer);
    });
    box.innerHTML = html.join("");
  };

  if (g.start && !g.start.withLayers) {  // after start: the legend panel and the layer control exist
    var start = g.start;
    g.start = function (map) { start.apply(g, arguments); g.initLegend(map); };
    g.start.withLayers = true;
  }

  g.initLegend = function (map) {
    map.on("overlayadd overlayremove baselayerchange", function () { g.syncLegend(map); });
    window.addEventListener("resize", g.fitLegend);
    if (typeof ResizeObserver !== "undefined") {
      var right = document.querySelector(".leaflet-top.leaflet-right");
      if (right) new ResizeObserver(g.fitLegend).observe(right);
    }
    g.syncLegend(map);
  };
})(geomon);
