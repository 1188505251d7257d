// geomon situation map: analysts start a hotspot run (Gi*, emerging hot spots, KDE) or a
// corridor from the map, over an area drawn on it (geoman, npm, served by our own server) or
// the current view and a time window, watch its progress, and get its layer on the map.
// Runs: POST /api/v1/hotspots/runs, then GET …/runs/{id} until done; cells as GeoJSON, KDE as
// the surface's PNG tiles. Corridors: POST /api/v1/corridors (a job), GET /api/v1/corridor-jobs/{id}.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-dashboard.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.analysisPollMs = 1000;
  g.analysis = { area: null, from: null, to: null, layers: {}, status: "" };
  var GI = { "-3": "#4575b5", "-2": "#849eba", "-1": "#c0ccbe", "0": "#d9d9d9", "1": "#fab984", "2": "#ed7551", "3": "#d62f27" };
  var EHSA_SHADE = { "new": 0, consecutive: 1, intensifying: 2, persistent: 3, diminishing: 4, sporadic: 5, oscillating: 6, historical: 7 };
  var HOT = ["#fee5d9", "#fcbba1", "#fb6a4a", "#de2d26", "#a50f15", "#fdae6b", "#fd8d3c", "#e6550d"];
  var COLD = ["#deebf7", "#c6dbef", "#6baed6", "#3182bd", "#08519c", "#9ecae1", "#4292c6", "#2171b5"];
  g.ehsaColour = function (pattern) {
    var w = String(pattern || "").split(" "), i = EHSA_SHADE[w[0]];
    if (i === undefined) return null;  // "no pattern"
    return (w[1] === "cold" ? COLD : HOT)[i];
  };
  // The emerging hot spot patterns (geomon/spatial/ehsa.py PATTERNS) in the reader's language.
  g.ehsaText = function (p) {
    return { "no pattern": g.t("no pattern"), "new hot spot": g.t("new hot spot"), "consecutive hot spot": g.t("consecutive hot spot"),
      "intensifying hot spot": g.t("intensifying hot spot"), "persistent hot spot": g.t("persistent hot spot"),
      "diminishing hot spot": g.t("diminishing hot spot"), "sporadic hot spot": g.t("sporadic hot spot"),
      "oscillating hot spot": g.t("oscillating hot spot"), "historical hot spot": g.t("historical hot spot"),
      "new cold spot": g.t("new cold spot"), "consecutive cold spot": g.t("consecutive cold spot"),
      "intensifying cold spot": g.t("intensifying cold spot"), "persistent cold spot": g.t("persistent cold spot"),
      "diminishing cold spot": g.t("diminishing cold spot"), "sporadic cold spot": g.t("sporadic cold spot"),
      "oscillating cold spot": g.t("oscillating cold spot"), "historical cold spot": g.t("historical cold spot") }[p] || p;
  };

  g.runKindText = function (k) {
    return { gistar: g.t("Hot spots (Gi*)"), ehsa: g.t("Emerging hot spots"), kde: g.t("Density (KDE)"), corridor: g.t("Corridor") }[k] || k;
  };
  g.runStatusText = function (s) {
    return { queued: g.t("queued"), running: g.t("running"), done: g.t("done"), failed: g.t("failed") }[s] || s;
  };
  // Pure (node:test): the body of POST /api/v1/hotspots/runs from the form's values.
  g.runBody = function (f) {
    var filter = { layer: "incidents" };
    if (f.since) filter.since = f.since + "T00:00:00Z";
    if (f.until) filter.until = f.until + "T00:00:00Z";
    if (f.category) filter.category = f.category;
    if (f.area) filter.aoi = f.area; else if (f.bbox) filter.bbox = f.bbox;
    var body = { kind: f.kind, filter: filter, cell_size: f.cellKm * 1000 };
    if (f.kind === "ehsa") body.step = "month";
    return body;
  };
  // A day as YYYY-MM-DD in the user's zone, ``days`` before ``now`` (ms).
  g.localDay = function (now, days) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: g.i18n.timeZone || "UTC", year: "numeric", month: "2-digit",
      day: "2-digit" }).format(new Date(now - days * 86400e3));
  };

  g.analysisHtml = function () {
    var now = Date.now(), opt = function (v) { return '<option value="' + v + '">' + g.esc(g.runKindText(v)) + "</option>"; };
    return '<div class="gm-head" id="gm-analysis-head">' + g.esc(g.t("Analysis")) + '</div><div id="gm-analysis-body">' +
      '<div class="gm-row"><select id="gm-run-kind" aria-label="' + g.esc(g.t("Analysis")) + '">' +
      ["gistar", "ehsa", "kde", "corridor"].map(opt).join("") + "</select>" +
      '<label>' + g.esc(g.t("cell, km")) + ' <input id="gm-run-cell" type="number" min="1" max="200" step="1" value="10" size="3"></label></div>' +
      '<div class="gm-row" id="gm-run-window"><label>' + g.esc(g.t("from")) + ' <input id="gm-run-since" type="date" value="' +
      g.localDay(now, 365) + '"></label><label>' + g.esc(g.t("to")) + ' <input id="gm-run-until" type="date" value="' +
      g.localDay(now, -1) + '"></label></div>' +
      '<div class="gm-row" id="gm-run-area-row"><button id="gm-run-draw" type="button">' + g.esc(g.t("Draw area")) + "</button>" +
      '<button id="gm-run-clear" type="button">' + g.esc(g.t("Use the current view")) + "</button></div>" +
      '<div class="gm-row" id="gm-run-corridor" hidden><select id="gm-run-surface" aria-label="' + g.esc(g.t("Surface")) + '"></select>' +
      '<button id="gm-run-from" type="button">' + g.esc(g.t("Pick start")) + '</button><button id="gm-run-to" type="button">' +
      g.esc(g.t("Pick end")) + "</button></div>" +
      '<div id="gm-run-area" class="gm-small"></div><button id="gm-run-start" type="button">' + g.esc(g.t("Start")) + "</button>" +
      '<div id="gm-run-status" class="gm-small" role="status"></div></div>';
  };

  g.initAnalysis = function () {
    var el = document.createElement("div");
    el.id = "gm-analysis"; el.className = "gm-panel gm-analysis";
    el.innerHTML = g.analysisHtml();
    document.body.appendChild(el);
    g.panelControl("gm-analysis", "topleft");
    g.collapsible("gm-analysis-head", "gm-analysis-body", true);
    g.map.createPane("gm-analysis").style.zIndex = 450;  // above base and polygons, below markers
    g.analysis.group = L.featureGroup().addTo(g.map);  // the drawn area and picked endpoints
    var $ = function (id) { return document.getElementById(id); };
    $("gm-run-kind").addEventListener("change", g.showRunForm);
    $("gm-run-draw").addEventListener("click", g.drawArea);
    $("gm-run-clear").addEventListener("click", function () { g.setArea(null); });
    $("gm-run-from").addEventListener("click", function () { g.pickPoint("from"); });
    $("gm-run-to").addEventListener("click", function () { g.pickPoint("to"); });
    $("gm-run-start").addEventListener("click", g.startRun);
    g.setArea(null);
    // viewers cannot start runs (403): the panel is for analysts and admins
    g.getJson(g.meUrl).then(function (me) { if (me && me.role === "viewer") el.hidden = true; }).catch(function () { /* shown */ });
  };
  g.showRunForm = function () {
    var corridor = document.getElementById("gm-run-kind").value === "corridor";
    document.getElementById("gm-run-corridor").hidden = !corridor;
    ["gm-run-window", "gm-run-area-row"].forEach(function (id) { document.getElementById(id).hidden = corridor; });
    if (corridor) g.fillSurfaces();
    g.showArea();
  };
  g.fillSurfaces = function () {
    return fetch("/api/v1/surfaces", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { surfaces: [] }; })
      .then(function (d) {
        var sel = document.getElementById("gm-run-surface");
        sel.innerHTML = "";
        (d.surfaces || []).forEach(function (s) {
          var o = document.createElement("option"); o.value = s.id; o.textContent = s.name || s.kind; sel.appendChild(o);
        });
      });
  };

  // geoman was loaded after the map was made: give the map its drawing tools on first use.
  g.ensureDrawing = function () {
    if (!g.map.pm && L.PM) L.PM.reInitLayer(g.map);
    return !!g.map.pm;
  };
  g.drawArea = function () {
    if (!g.ensureDrawing()) return;
    g.map.once("pm:create", function (e) {
      g.map.pm.disableDraw();
      g.map.removeLayer(e.layer);
      g.setArea(e.layer.toGeoJSON().geometry);
    });
    g.map.pm.enableDraw("Rectangle", { snappable: false });
    document.getElementById("gm-run-area").textContent = g.t("Drag a rectangle on the map");
  };
  g.setArea = function (geometry) {
    g.analysis.area = geometry;
    g.showArea();
  };
  g.showArea = function () {
    var a = g.analysis, grp = a.group;
    grp.clearLayers();
    var corridor = document.getElementById("gm-run-kind").value === "corridor", text;
    if (corridor) {
      ["from", "to"].forEach(function (k) {
        if (a[k]) L.circleMarker([a[k][1], a[k][0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#7b3294", fillOpacity: 1 })
          .bindTooltip(k === "from" ? g.t("start") : g.t("end")).addTo(grp);
      });
      text = a.from && a.to ? g.t("start and end picked") : g.t("pick a start and an end on the map");
    } else if (a.area) {
      L.geoJSON(a.area, { style: { color: "#7b3294", weight: 2, dashArray: "4 3", fillOpacity: 0.05 } }).addTo(grp);
      text = g.t("area: the drawn rectangle");
    } else text = g.t("area: the current view");
    document.getElementById("gm-run-area").textContent = text;
  };
  g.pickPoint = function (which) {
    document.getElementById("gm-run-area").textContent = which === "from" ? g.t("click the start on the map") : g.t("click the end on the map");
    g.map.once("click", function (e) { g.analysis[which] = [e.latlng.lng, e.latlng.lat]; g.showArea(); });
  };

  g.setRunStatus = function (text) { document.getElementById("gm-run-status").textContent = text; g.analysis.status = text; };
  g.startRun = function () {
    var $ = function (id) { return document.getElementById(id); }, kind = $("gm-run-kind").value;
    var post = function (url, body) {
      return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().catch(function () { return {}; }).then(function (d) { return { ok: r.ok, status: r.status, body: d }; }); });
    };
    var refused = function (res) {
      var detail = res.body && res.body.detail;
      g.setRunStatus(g.t("the server refused (HTTP {status})", { status: res.status }) + (typeof detail === "string" ? ": " + detail : ""));
    };
    if (kind === "corridor") {
      var a = g.analysis;
      if (!a.from || !a.to) { g.setRunStatus(g.t("pick a start and an end on the map")); return Promise.resolve(); }
      return post("/api/v1/corridors", { surface_id: Number($("gm-run-surface").value), from: { points: [a.from] }, to: { points: [a.to] } })
        .then(function (res) { if (!res.ok) return refused(res); g.setRunStatus(g.runStatusText(res.body.status)); return g.pollCorridor(res.body.id); });
    }
    var b = g.map.getBounds();
    var body = g.runBody({ kind: kind, since: $("gm-run-since").value, until: $("gm-run-until").value, cellKm: Number($("gm-run-cell").value),
      area: g.analysis.area, bbox: [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)] });
    return post("/api/v1/hotspots/runs", body).then(function (res) {
      if (!res.ok) return refused(res);
      g.setRunStatus(g.t("run {id}: {status}", { id: res.body.id, status: g.runStatusText(res.body.status) }));
      return g.pollRun(res.body.id);
    });
  };
  g.getJson = function (url) { return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }); };
  g.pollRun = function (id) {
    return g.getJson("/api/v1/hotspots/runs/" + id).then(function (run) {
      if (!run) return null;
      g.setRunStatus(g.t("run {id}: {status}", { id: id, status: g.runStatusText(run.status) }) + (run.error ? " — " + run.error : ""));
      if (run.status === "done") return g.addRunLayer(run);
      if (run.status === "failed") return null;
      return new Promise(function (ok) { setTimeout(ok, g.analysisPollMs); }).then(function () { return g.pollRun(id); });
    });
  };
  g.pollCorridor = function (jobId) {
    return g.getJson("/api/v1/corridor-jobs/" + jobId).then(function (job) {
      if (!job) return null;
      g.setRunStatus(g.runKindText("corridor") + ": " + g.runStatusText(job.status) + (job.error ? " — " + job.error : ""));
      if (job.status === "done") {
        var layer = L.geoJSON(job.geojson, { pane: "gm-analysis", style: { color: "#7b3294", weight: 2, fillOpacity: 0.3 } });
        return g.addAnalysisLayer("corridor-" + jobId, layer, g.t("Corridor (job {id})", { id: jobId }));
      }
      if (job.status === "failed") return null;
      return new Promise(function (ok) { setTimeout(ok, g.analysisPollMs); }).then(function () { return g.pollCorridor(jobId); });
    });
  };
  g.addAnalysisLayer = function (key, layer, name) {
    var a = g.analysis;
    if (a.layers[key]) { g.map.removeLayer(a.layers[key]); if (g.layerControl) g.layerControl.removeLayer(a.layers[key]); }
    a.layers[key] = layer.addTo(g.map);
    if (g.layerControl) g.layerControl.addOverlay(layer, name);
    if (layer.getBounds && layer.getBounds().isValid()) g.map.fitBounds(layer.getBounds(), { maxZoom: 10, animate: false });
    g.setRunStatus(g.t("{name}: on the map", { name: name }));
    return layer;
  };
  g.addRunLayer = function (run) {
    var name = g.t("{kind}: run {id}", { kind: g.runKindText(run.kind), id: run.id });
    if (run.kind === "kde") {
      return g.getJson("/api/v1/surfaces").then(function (d) {
        var s = ((d && d.surfaces) || []).filter(function (x) { return x.name === "hotspot run " + run.id + " (kde)"; })[0];
        if (!s) { g.setRunStatus(g.t("run {id}: no surface stored", { id: run.id })); return null; }
        return g.getJson("/tiles/surfaces/" + s.id + ".json").then(function (tj) {
          var layer = L.tileLayer("/tiles/surfaces/" + s.id + "/{z}/{x}/{y}.png", { pane: "gm-analysis", opacity: 0.7, maxZoom: 18 });
          var b = tj && tj.bounds;
          if (b) layer.getBounds = function () { return L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]); };
          layer.geomonSurfaceId = s.id;
          layer.gmSurfaceId = s.id; layer.gmName = name;  // its colour ramp in the legend (geomon-layers.js)
          return g.addAnalysisLayer("run-" + run.id, layer, name);
        });
      });
    }
    return g.getJson("/api/v1/hotspots/runs/" + run.id + "/cells").then(function (fc) {
      if (!fc) return null;
      var layer = L.geoJSON(fc, {
        pane: "gm-analysis",
        filter: function (f) {  // significant cells only
          return run.kind === "ehsa" ? g.ehsaColour(f.properties.category) !== null : Number(f.properties.gi_bin) !== 0;
        },
        style: function (f) {
          var p = f.properties, c = run.kind === "ehsa" ? g.ehsaColour(p.category) : (GI[String(p.gi_bin)] || "#d9d9d9");
          return { color: "#555", weight: 0.3, fillColor: c, fillOpacity: 0.7 };
        },
      }).bindTooltip(function (l) {
        var p = l.feature.properties;
        return run.kind === "ehsa" ? g.ehsaText(p.category) : g.t("Gi* bin {bin}, z = {z}", { bin: p.gi_bin, z: g.fmtNumber(p.z, 2) });
      });
      return g.addAnalysisLayer("run-" + run.id, layer, name);
    });
  };

  if (typeof window !== "undefined") {
    if (g.initCoverage && !g.initCoverage.withAnalysis) {
      var initCoverage = g.initCoverage;
      g.initCoverage = function (map, layerControl) { g.layerControl = layerControl; return initCoverage.apply(g, arguments); };
      g.initCoverage.withAnalysis = true;
    }
    if (g.start && !g.start.withAnalysis) {
      var start = g.start;
      g.start = function () { start.apply(g, arguments); g.initAnalysis(); };
      g.start.withAnalysis = true;
    }
  }
})(geomon);
