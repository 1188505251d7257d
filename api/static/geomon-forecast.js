// geomon situation map: seasonal forecasts (docs/forecasts.md). A panel lists the forecast
// runs, starts one on a border (analysts), and shows a run as the layer "expected next
// month" (or any month ahead): locations coloured by the expected count, those where the
// forecast is not better than "same month last year" hatched grey, those without enough data
// outlined only. A click opens the location's chart: history, fitted, forecast with its
// interval and the seasonal-naive baseline. API: /api/v1/forecasts/runs…
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-analysis.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.forecastPollMs = 1000;
  g.forecast = { runs: [], run: null, fc: null, layer: null, step: 0, breaks: [], chart: null, cell: null, status: "" };
  var SHADES = ["#fee6ce", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"];
  var HATCH = "url(#gm-fc-hatch)";

  // Pure (node:test): the class breaks of the expected counts (quartiles of the positive
  // values, rounded up to one decimal and kept increasing), so the five shades split the map.
  g.forecastBreaks = function (values) {
    var v = values.filter(function (x) { return x != null && x > 0; }).sort(function (a, b) { return a - b; });
    if (!v.length) return [];
    var out = [];
    [0.25, 0.5, 0.75, 0.9].forEach(function (q) {
      var b = Math.ceil(v[Math.min(v.length - 1, Math.floor(q * v.length))] * 10) / 10;
      if (!out.length || b > out[out.length - 1]) out.push(b);
    });
    return out;
  };
  g.forecastShade = function (value, breaks) {
    var i = 0;
    while (i < breaks.length && value > breaks[i]) i++;
    return SHADES[Math.min(i, SHADES.length - 1)];
  };
  // Pure: how a location is drawn when colouring forecast step ``k``.
  g.forecastStyle = function (p, k, breaks) {
    if (p.status !== "ok") return { color: "#737373", weight: 1, dashArray: "3 3", fill: false, fillOpacity: 0 };
    var v = p.forecast ? p.forecast[k] : p.expected_next;
    if (!p.trusted) return { color: "#525252", weight: 1, fillColor: HATCH, fillOpacity: 0.85 };
    return { color: "#7f2704", weight: 1, fillColor: g.forecastShade(v || 0, breaks), fillOpacity: 0.8 };
  };
  // Pure: the start of forecast step ``k`` after ``untilIso`` (months or weeks), as ISO UTC.
  g.forecastStepStart = function (untilIso, step, k) {
    var d = new Date(untilIso);
    if (step === "week") return new Date(d.getTime() + k * 7 * 86400e3).toISOString();
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + k, 1)).toISOString();
  };
  // A step's name in the reader's language: "май 2026 г." or "неделя с 04.05.2026". Steps are
  // calendar months (weeks) in UTC, not instants: shown in UTC so the month does not shift.
  g.stepLabel = function (iso, step) {
    var d = new Date(iso);
    if (step === "week") {
      var day = new Intl.DateTimeFormat(g.i18n.locale, { timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" }).format(d);
      return g.t("week of {day}", { day: day });
    }
    return new Intl.DateTimeFormat(g.i18n.locale, { timeZone: "UTC", month: "long", year: "numeric" }).format(d);
  };
  g.monthName = function (m) {  // 1..12
    return new Intl.DateTimeFormat(g.i18n.locale, { timeZone: "UTC", month: "long" }).format(new Date(Date.UTC(2001, m - 1, 1)));
  };
  g.peakText = function (peak, step) {
    if (peak == null) return "–";
    return step === "week" ? g.t("week {n}", { n: peak }) : g.monthName(peak);
  };
  g.unitsText = function (u) {
    return { grid: g.t("grid"), border_sectors: g.t("border sectors"), crossing_points: g.t("crossing points"), zones: g.t("zones") }[u] || u;
  };
  // The baseline's name: "same month last year" (or week).
  g.baselineText = function (step) { return step === "week" ? g.t("same week last year") : g.t("same month last year"); };
  // Pure (node:test): the body of POST /api/v1/forecasts/runs: ``years`` of whole steps ending
  // at the start of the current month, or Monday of the current ISO week (UTC), of ``now`` (ms).
  g.forecastBody = function (f, now) {
    var d = new Date(now), until, since, iso = function (x) { return x.toISOString().replace(".000Z", "Z"); };
    if (f.step === "week") {
      until = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - (d.getUTCDay() + 6) % 7));
      since = new Date(until.getTime() - f.years * 52 * 7 * 86400e3);
    } else {
      until = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
      since = new Date(Date.UTC(until.getUTCFullYear() - f.years, until.getUTCMonth(), 1));
    }
    var body = { units: f.units || "border_sectors", step: f.step || "month", horizon: 12, since: iso(since), until: iso(until) };
    if (body.units === "border_sectors") { body.border = f.border; body.sector_km = f.sectorKm; }
    if (body.units === "grid") body.cell_km = f.cellKm;
    if (f.category) body.category = f.category;
    return body;
  };

  g.forecastHtml = function () {
    var e = g.esc;
    return '<div class="gm-head" id="gm-fc-head">' + e(g.t("Seasonal forecast")) + '</div><div id="gm-fc-body">' +
      '<div class="gm-row"><select id="gm-fc-run" class="gm-data" aria-label="' + e(g.t("Forecast run")) + '"></select></div>' +
      '<div class="gm-row"><label>' + e(g.t("expected in")) + ' <select id="gm-fc-step" aria-label="' + e(g.t("expected in")) +
      '"></select></label><button id="gm-fc-show" type="button">' + e(g.t("Show")) + "</button></div>" +
      '<div class="gm-row"><a id="gm-fc-export" hidden>' + e(g.t("Download the layer (GeoPackage)")) + "</a></div>" +
      '<div id="gm-fc-new"><div class="gm-sub">' + e(g.t("New forecast")) + "</div>" +
      '<div class="gm-row"><select id="gm-fc-units" aria-label="' + e(g.t("locations")) + '">' +
      ["border_sectors", "crossing_points", "grid"].map(function (u) { return '<option value="' + u + '">' + e(g.unitsText(u)) + "</option>"; }).join("") +
      '</select><select id="gm-fc-stepkind" aria-label="' + e(g.t("step")) + '"><option value="month">' + e(g.t("by month")) +
      '</option><option value="week">' + e(g.t("by week")) + "</option></select></div>" +
      '<div class="gm-row" id="gm-fc-border-row"><label>' + e(g.t("border")) + ' <input id="gm-fc-border" value="AFG-TJK" size="8"></label>' +
      '<label>' + e(g.t("sector, km")) + ' <input id="gm-fc-sector" type="number" min="1" max="1000" value="25" size="3"></label></div>' +
      '<div class="gm-row" id="gm-fc-grid-row" hidden><label>' + e(g.t("cell, km")) +
      ' <input id="gm-fc-cell" type="number" min="1" max="500" value="10" size="3"></label></div>' +
      '<div class="gm-row"><label>' + e(g.t("years")) + ' <input id="gm-fc-years" type="number" min="4" max="20" value="6" size="2"></label></div>' +
      '<button id="gm-fc-start" type="button">' + e(g.t("Forecast")) + "</button></div>" +
      '<div id="gm-fc-status" class="gm-small" role="status"></div><div id="gm-fc-legend" class="gm-legend"></div></div>';
  };

  g.initForecast = function () {
    var el = document.createElement("div");
    el.id = "gm-fc"; el.className = "gm-panel gm-fc";
    el.innerHTML = g.forecastHtml();
    document.body.appendChild(el);
    g.panelControl("gm-fc", "topleft");
    g.collapsible("gm-fc-head", "gm-fc-body", true);
    g.map.createPane("gm-forecast").style.zIndex = 440;
    g.forecast.renderer = L.svg({ pane: "gm-forecast" }).addTo(g.map);
    g.addHatch(g.forecast.renderer);
    var $ = function (id) { return document.getElementById(id); };
    $("gm-fc-run").addEventListener("change", g.fillForecastSteps);
    $("gm-fc-show").addEventListener("click", function () { return g.showForecast(Number($("gm-fc-run").value), Number($("gm-fc-step").value)); });
    $("gm-fc-start").addEventListener("click", g.startForecast);
    $("gm-fc-units").addEventListener("change", function () {
      var u = $("gm-fc-units").value;
      $("gm-fc-border-row").hidden = u !== "border_sectors"; $("gm-fc-grid-row").hidden = u !== "grid";
    });
    var chart = document.createElement("div");
    chart.id = "gm-fc-chart-panel"; chart.className = "gm-panel"; chart.hidden = true;
    chart.innerHTML = '<button id="gm-fc-chart-close" type="button" title="' + g.esc(g.t("Close")) + '">✕</button>' +
      '<div class="gm-head gm-data" id="gm-fc-chart-title"></div><div id="gm-fc-chart-text"></div>' +
      '<canvas id="gm-fc-chart" width="380" height="190"></canvas>';
    document.body.appendChild(chart);
    g.panelControl("gm-fc-chart-panel", "bottomright");
    $("gm-fc-chart-close").addEventListener("click", function () { chart.hidden = true; });
    g.getJson(g.meUrl).then(function (me) { if (me && me.role === "viewer") $("gm-fc-new").hidden = true; }).catch(function () { /* shown */ });
    return g.loadForecastRuns();
  };
  // The SVG pattern untrusted locations are filled with (grey, hatched at 45°).
  g.addHatch = function (renderer) {
    var svg = renderer._container, ns = "http://www.w3.org/2000/svg";
    if (!svg || svg.querySelector("#gm-fc-hatch")) return;
    var defs = document.createElementNS(ns, "defs"), pat = document.createElementNS(ns, "pattern");
    pat.setAttribute("id", "gm-fc-hatch"); pat.setAttribute("patternUnits", "userSpaceOnUse");
    pat.setAttribute("width", "6"); pat.setAttribute("height", "6"); pat.setAttribute("patternTransform", "rotate(45)");
    var bg = document.createElementNS(ns, "rect"), line = document.createElementNS(ns, "line");
    bg.setAttribute("width", "6"); bg.setAttribute("height", "6"); bg.setAttribute("fill", "#d9d9d9");
    line.setAttribute("x1", "0"); line.setAttribute("y1", "0"); line.setAttribute("x2", "0"); line.setAttribute("y2", "6");
    line.setAttribute("stroke", "#737373"); line.setAttribute("stroke-width", "2");
    pat.appendChild(bg); pat.appendChild(line); defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
  };
  g.setForecastStatus = function (text) { document.getElementById("gm-fc-status").textContent = text; g.forecast.status = text; };

  g.loadForecastRuns = function () {
    return g.getJson("/api/v1/forecasts/runs?limit=50").then(function (d) {
      var runs = ((d && d.runs) || []).filter(function (r) { return r.status === "done"; }), sel = document.getElementById("gm-fc-run");
      g.forecast.runs = runs;
      sel.innerHTML = "";
      runs.forEach(function (r) {
        var o = document.createElement("option"), p = r.params || {};
        o.value = r.id;
        o.textContent = g.t("run {id}: {units} {border}, {created}", { id: r.id, units: g.unitsText(p.units),
          border: p.border || p.country || p.zone_kind || "", created: g.fmtDateTime(r.created_at) });
        sel.appendChild(o);
      });
      if (!runs.length) g.setForecastStatus(g.t("no forecast runs yet"));
      g.fillForecastSteps();
      return runs;
    });
  };
  g.runById = function (id) { return g.forecast.runs.filter(function (r) { return r.id === id; })[0]; };
  g.fillForecastSteps = function () {
    var run = g.runById(Number(document.getElementById("gm-fc-run").value)), sel = document.getElementById("gm-fc-step");
    sel.innerHTML = "";
    if (!run) return;
    for (var k = 0; k < (run.params.horizon || 1); k++) {
      var o = document.createElement("option");
      o.value = k; o.textContent = g.stepLabel(g.forecastStepStart(run.params.until, run.step, k), run.step);
      sel.appendChild(o);
    }
  };

  g.startForecast = function () {
    var $ = function (id) { return document.getElementById(id); };
    var body = g.forecastBody({ units: $("gm-fc-units").value, step: $("gm-fc-stepkind").value,
      border: $("gm-fc-border").value.trim().toUpperCase(), sectorKm: Number($("gm-fc-sector").value),
      cellKm: Number($("gm-fc-cell").value), years: Number($("gm-fc-years").value) }, Date.now());
    return fetch("/api/v1/forecasts/runs", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (!r.ok) {
          var detail = typeof d.detail === "string" ? ": " + d.detail : "";
          g.setForecastStatus(g.t("the server refused (HTTP {status})", { status: r.status }) + detail);
          return null;
        }
        return g.pollForecast(d.id);
      });
    });
  };
  g.pollForecast = function (id) {
    return g.getJson("/api/v1/forecasts/runs/" + id).then(function (run) {
      if (!run) return null;
      g.setForecastStatus(g.t("run {id}: {status}", { id: id, status: g.runStatusText(run.status) }) + (run.error ? " — " + run.error : ""));
      if (run.status === "done") {
        return g.loadForecastRuns().then(function () {
          document.getElementById("gm-fc-run").value = String(id); g.fillForecastSteps(); return g.showForecast(id, 0);
        });
      }
      if (run.status === "failed") return null;
      return new Promise(function (ok) { setTimeout(ok, g.forecastPollMs); }).then(function () { return g.pollForecast(id); });
    });
  };

  g.forecastLayerName = function (run, k) {
    var when = g.stepLabel(g.forecastStepStart(run.params.until, run.step, k), run.step);
    if (k > 0) return g.t("Expected in {when}", { when: when });
    return run.step === "week" ? g.t("Expected next week ({when})", { when: when }) : g.t("Expected next month ({when})", { when: when });
  };
  g.showForecast = function (id, k) {
    var run = g.runById(id);
    if (!run) return Promise.resolve(null);
    return g.getJson("/api/v1/forecasts/runs/" + id + "/cells").then(function (fc) {
      if (!fc) return null;
      var f = g.forecast;
      f.run = run; f.fc = fc; f.step = k;
      f.breaks = g.forecastBreaks(fc.features.map(function (x) { return x.properties.trusted && x.properties.forecast ? x.properties.forecast[k] : null; }));
      if (f.layer) { g.map.removeLayer(f.layer); if (g.layerControl) g.layerControl.removeLayer(f.layer); }
      var style = function (x) { return g.forecastStyle(x.properties, k, f.breaks); };
      f.layer = L.geoJSON(fc, {
        pane: "gm-forecast", renderer: f.renderer, style: style,
        pointToLayer: function (x, ll) { return L.circleMarker(ll, L.extend({ radius: 8, renderer: f.renderer, pane: "gm-forecast" }, style(x))); },
      }).bindTooltip(function (l) { return g.esc(l.feature.properties.name) + "<br>" + g.esc(g.forecastTip(l.feature.properties, k, run.step)); });
      f.layer.on("click", function (e) { g.showForecastChart(id, e.layer.feature.id); });
      var name = g.forecastLayerName(run, k);
      f.layer.addTo(g.map);
      if (g.layerControl) g.layerControl.addOverlay(f.layer, name);
      if (f.layer.getBounds().isValid()) g.map.fitBounds(f.layer.getBounds(), { maxZoom: 9, animate: false });
      g.drawForecastLegend(name, run.step);
      var link = document.getElementById("gm-fc-export");  // OGC items as a file, for the operation plan
      link.href = "/ogc/collections/forecasts-" + id + "/items?f=gpkg"; link.hidden = false;
      g.setForecastStatus(g.t("{name}: on the map", { name: name }));
      return f.layer;
    });
  };
  g.forecastTip = function (p, k, step) {
    if (p.status === "no_data") return g.t("no incidents here: no forecast");
    if (p.status !== "ok") return g.t("not enough data for a forecast");
    var v = p.forecast ? p.forecast[k] : p.expected_next, lo = p.lower ? p.lower[k] : p.lower_next, hi = p.upper ? p.upper[k] : p.upper_next;
    var text = g.t("expected {value} ({lower}–{upper})", { value: g.fmtNumber(v, 1), lower: g.fmtNumber(lo, 1), upper: g.fmtNumber(hi, 1) });
    var base = { baseline: g.baselineText(step) }, peak = g.t("peak: {peak}", { peak: g.peakText(p.peak, step) });
    return text + "; " + peak + "; " + (p.trusted ? g.t("better than {baseline}", base) : g.t("not better than {baseline}", base));
  };
  g.drawForecastLegend = function (name, step) {
    var b = g.forecast.breaks, rows = [], e = g.esc, lo = 0;
    var sw = function (style) { return '<span class="gm-fc-swatch" style="' + style + '"></span>'; };
    for (var i = 0; i <= b.length; i++) {
      var text = i < b.length ? g.fmtNumber(lo, 1) + "–" + g.fmtNumber(b[i], 1) : "> " + g.fmtNumber(lo, 1);
      rows.push("<div>" + sw("background:" + SHADES[i]) + e(text) + "</div>");
      lo = b[i];
    }
    rows.push('<div class="gm-fc-untrusted-key">' + sw("background:repeating-linear-gradient(45deg,#737373 0 2px,#d9d9d9 2px 6px)") +
      e(g.t("not better than {baseline}: do not rely on it", { baseline: g.baselineText(step) })) + "</div>");
    rows.push("<div>" + sw("border:1px dashed #737373;background:none") + e(g.t("not enough data")) + "</div>");
    document.getElementById("gm-fc-legend").innerHTML = '<div class="gm-sub">' + e(name) + "</div>" +
      '<div class="gm-small">' + e(g.t("incidents expected per location")) + "</div>" + rows.join("");
  };

  // Pure (node:test): the chart's labels and series, the last ``keep`` history steps then the
  // forecast; history and fitted end where the forecast, its interval and the baseline begin.
  g.forecastChartData = function (cell, keep) {
    var s = cell.series, t = cell.times, n = s.history.length, from = Math.max(0, n - keep), h = s.forecast.length;
    var pad = function (k) { var a = []; for (var i = 0; i < k; i++) a.push(null); return a; };
    var past = n - from, out = {};
    (s.outliers || []).forEach(function (i) { out[i] = true; });
    return {
      outliers: s.history.slice(from).map(function (v, i) { return out[from + i] ? v : null; }).concat(pad(h)),
      starts: t.history_starts.slice(from).concat(t.forecast_starts.slice(0, h)),
      history: s.history.slice(from).concat(pad(h)),
      fitted: s.fitted.slice(from).concat(pad(h)),
      forecast: pad(past).concat(s.forecast),
      lower: pad(past).concat(s.lower),
      upper: pad(past).concat(s.upper),
      naive: pad(past).concat(s.naive.slice(0, h)),
    };
  };
  g.showForecastChart = function (runId, locId) {
    return g.getJson("/api/v1/forecasts/runs/" + runId + "/cells/" + locId).then(function (cell) {
      if (!cell) return null;
      g.forecast.cell = cell;
      var panel = document.getElementById("gm-fc-chart-panel"), e = g.esc, step = cell.times.step;
      panel.hidden = false;
      document.getElementById("gm-fc-chart-title").textContent = cell.name;
      var lines = [];
      if (cell.status !== "ok") {
        lines.push(cell.status === "no_data" ? g.t("no incidents here: no forecast") : g.t("not enough data for a forecast"));
      } else {
        var when = g.stepLabel(cell.times.forecast_starts[0], step);
        lines.push(g.t("Expected in {when}: {value} ({lower}–{upper})", { when: when, value: g.fmtNumber(cell.expected_next, 1),
          lower: g.fmtNumber(cell.lower_next, 1), upper: g.fmtNumber(cell.upper_next, 1) }));
        var base = { baseline: g.baselineText(step) };
        lines.push(step === "week" ? g.t("Same week last year: {value}", { value: g.fmtNumber(cell.naive_next, 0) })
          : g.t("Same month last year: {value}", { value: g.fmtNumber(cell.naive_next, 0) }));
        lines.push(g.t("Expected peak: {peak}", { peak: g.peakText(cell.peak, step) }));
        if (cell.n_outliers) lines.push(g.t("Outliers in the history: {n} (marked ×)", { n: cell.n_outliers }));
        lines.push(g.t("Backtest error (MASE): forecast {model}, {baseline} {naive}",
          { model: g.fmtNumber(cell.mase, 2), naive: g.fmtNumber(cell.mase_naive, 2), baseline: base.baseline }));
        lines.push(cell.trusted ? g.t("The forecast is better than {baseline} here.", base)
          : g.t("The forecast is not better than {baseline} here: do not rely on it.", base));
      }
      document.getElementById("gm-fc-chart-text").innerHTML = lines.map(function (l) { return '<div class="gm-small">' + e(l) + "</div>"; }).join("");
      return g.drawForecastChart(cell);
    });
  };
  g.drawForecastChart = function (cell) {
    if (typeof Chart === "undefined") return null;
    var d = g.forecastChartData(cell, 36), step = cell.times.step;
    var fmt = new Intl.DateTimeFormat(g.i18n.locale, step === "week" ? { timeZone: "UTC", day: "2-digit", month: "2-digit" }
      : { timeZone: "UTC", month: "short", year: "2-digit" });
    if (g.forecast.chart) g.forecast.chart.destroy();
    var line = function (label, data, colour, extra) {
      return L.extend({ label: label, data: data, borderColor: colour, backgroundColor: colour, borderWidth: 1.5, pointRadius: 1.5,
        spanGaps: false, fill: false }, extra || {});
    };
    g.forecast.chart = new Chart(document.getElementById("gm-fc-chart"), {
      type: "line",
      data: { labels: d.starts.map(function (s) { return fmt.format(new Date(s)); }), datasets: [
        line(g.t("incidents"), d.history, "#252525"),
        line(g.t("fitted"), d.fitted, "#2171b5", { borderDash: [4, 3], pointRadius: 0 }),
        line(g.t("prediction interval"), d.lower, "rgba(230,85,13,0.25)", { pointRadius: 0, borderWidth: 0 }),
        line(g.t("prediction interval"), d.upper, "rgba(230,85,13,0.25)", { pointRadius: 0, borderWidth: 0, fill: "-1" }),
        line(g.t("forecast"), d.forecast, "#e6550d", { borderWidth: 2 }),
        line(g.t("outlier"), d.outliers, "#cb181d", { showLine: false, pointRadius: 4, pointStyle: "crossRot", borderWidth: 2 }),
        line(g.baselineText(step), d.naive, "#969696", { borderDash: [2, 2] }),
      ] },
      options: { animation: false, responsive: false,
        plugins: { legend: { labels: { boxWidth: 10, font: { size: 9 },
          filter: function (item) { return item.datasetIndex !== 2; } } } },
        scales: { x: { ticks: { font: { size: 9 }, maxRotation: 0, autoSkip: true } },
          y: { beginAtZero: true, ticks: { font: { size: 9 } } } } },
    });
    return g.forecast.chart;
  };

  if (typeof window !== "undefined" && g.start && !g.start.withForecast) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initForecast(); };
    g.start.withForecast = true;
  }
})(geomon);
