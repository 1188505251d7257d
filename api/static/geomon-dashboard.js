// geomon situation map: the dashboard panel and the incidents filter.
// - Incidents on the map narrowed by a time window and a category (the page's incident rows,
//   re-clustered in one addLayers call).
// - Charts (Chart.js from npm, served by our own server): events per hour by kind and incidents
//   per week by category (GET /api/v1/dashboard, buckets in the user's zone), and the share of
//   high-risk ground patrolled today (GET /api/v1/coverage from local midnight).
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-desk.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.dashboardUrl = "/api/v1/dashboard";
  g.dashPollMs = 60000;
  g.incidentAll = [];  // every incident marker the page made: [row, marker]
  g.charts = {};
  var PALETTE = ["#e6550d", "#3182bd", "#31a354", "#756bb1", "#636363", "#fd8d3c", "#6baed6", "#74c476", "#9e9ac8", "#bdbdbd"];

  g.incidentCategoryText = function (c) {
    return { seizure: g.t("seizure"), detention: g.t("detention"), detection: g.t("detection") }[c] || c;
  };
  // Pure (node:test): incident rows [lat, lon, category, quantity, unit, "YYYY-MM-DD"] in the
  // last ``days`` days (0 = any time) of ``category`` ("" = any); ``now`` in ms.
  g.incidentPasses = function (row, days, category, now) {
    if (category && row[2] !== category) return false;
    if (!days) return true;
    return Date.parse(row[5] + "T00:00:00Z") >= Math.floor(now / 86400e3) * 86400e3 - (days - 1) * 86400e3;
  };
  // Pure (node:test): rows {at, <key>, count} as chart data over the bucket starts ``starts``
  // (ISO strings): {keys: [...], series: {key: [count per bucket]}} with empty buckets as 0.
  g.bucketSeries = function (rows, key, starts) {
    var index = {}, series = {}, keys = [];
    starts.forEach(function (s, i) { index[Date.parse(s)] = i; });
    rows.forEach(function (r) {
      var i = index[Date.parse(r.at)];
      if (i === undefined) return;
      if (!series[r[key]]) { series[r[key]] = starts.map(function () { return 0; }); keys.push(r[key]); }
      series[r[key]][i] += r.count;
    });
    keys.sort(function (a, b) { return sum(series[b]) - sum(series[a]) || (a < b ? -1 : 1); });
    return { keys: keys, series: series };
  };
  function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }
  // The start of each of the last ``n`` hours, ending with the current one (ISO strings).
  g.hourStarts = function (n, now) {
    var h = Math.floor(now / 3600e3) * 3600e3, out = [];
    for (var i = n - 1; i >= 0; i--) out.push(new Date(h - i * 3600e3).toISOString());
    return out;  // whole-hour zones (the region's are) share UTC's hour boundaries
  };
  // Seconds since local midnight in ``tz`` (Intl gives the wall clock; no offset tables here).
  g.secondsIntoDay = function (now, tz) {
    var parts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit",
      hour12: false }).formatToParts(new Date(now));
    var v = {}; parts.forEach(function (p) { v[p.type] = Number(p.value); });
    return (v.hour % 24) * 3600 + v.minute * 60 + v.second;
  };
  g.localMidnight = function (now, tz) {
    return new Date(Math.floor(now / 1000) * 1000 - g.secondsIntoDay(now, tz) * 1000);
  };

  // ---- incidents filter ----
  if (g.incidentMarker && !g.incidentMarker.withFilter) {
    var marker = g.incidentMarker;
    g.incidentMarker = function (row) { var m = marker(row); g.incidentAll.push([row, m]); return m; };
    g.incidentMarker.withFilter = true;
  }
  g.findIncidentCluster = function () {
    var found = null;
    if (g.incidentAll.length && typeof L !== "undefined" && L.MarkerClusterGroup) {
      g.map.eachLayer(function (l) { if (!found && l instanceof L.MarkerClusterGroup) found = l; });
    }
    return found;
  };
  g.filterIncidents = function () {
    var cluster = g.incidentCluster || (g.incidentCluster = g.findIncidentCluster());
    var days = Number(document.getElementById("gm-inc-window").value);
    var cat = document.getElementById("gm-inc-category").value, now = Date.now();
    var shown = g.incidentAll.filter(function (p) { return g.incidentPasses(p[0], days, cat, now); })
      .map(function (p) { return p[1]; });
    // the cluster starts with every incident: re-clustering 20,000 markers for the same set
    // cost the page load over a second
    var every = shown.length === g.incidentAll.length;
    if (cluster && !(every && !g.incidentsFiltered)) { cluster.clearLayers(); cluster.addLayers(shown); }
    g.incidentsFiltered = !every;
    document.getElementById("gm-inc-count").textContent =
      g.t("{shown} of {total} incidents", { shown: g.fmtNumber(shown.length), total: g.fmtNumber(g.incidentAll.length) });
    return shown.length;
  };

  g.dashboardHtml = function () {
    var cats = {};
    g.incidentAll.forEach(function (p) { cats[p[0][2]] = (cats[p[0][2]] || 0) + 1; });
    var windows = [[0, g.t("any time")], [1, g.t("today")], [7, g.t("last 7 days")], [30, g.t("last 30 days")],
      [90, g.t("last 90 days")], [365, g.t("last 365 days")]];
    return '<div class="gm-head" id="gm-dash-head">' + g.esc(g.t("Dashboard")) + '</div><div id="gm-dash-body">' +
      '<div class="gm-sub">' + g.esc(g.t("Incidents on the map")) + '</div><div class="gm-row">' +
      '<select id="gm-inc-window" aria-label="' + g.esc(g.t("Time window")) + '">' + windows.map(function (w) {
        return '<option value="' + w[0] + '">' + g.esc(w[1]) + "</option>"; }).join("") + "</select>" +
      '<select id="gm-inc-category" aria-label="' + g.esc(g.t("Category")) + '"><option value="">' + g.esc(g.t("all categories")) +
      "</option>" + Object.keys(cats).sort().map(function (c) {
        return '<option value="' + g.esc(c) + '">' + g.esc(g.incidentCategoryText(c)) + " (" + g.esc(g.fmtNumber(cats[c])) + ")</option>";
      }).join("") + '</select></div><div id="gm-inc-count" class="gm-small"></div>' +
      '<div class="gm-sub">' + g.esc(g.t("Events per hour by kind (last 24 h)")) + '</div><canvas id="gm-chart-events" width="300" height="150"></canvas>' +
      '<div class="gm-sub">' + g.esc(g.t("Incidents per week by category (last 12 weeks)")) +
      '</div><canvas id="gm-chart-incidents" width="300" height="150"></canvas>' +
      '<div class="gm-sub">' + g.esc(g.t("High-risk ground patrolled today")) + '</div><div id="gm-dash-coverage" class="gm-small">–</div>' +
      '<canvas id="gm-chart-coverage" width="300" height="40"></canvas></div>';
  };

  g.initDashboard = function () {
    var el = document.createElement("div");
    el.id = "gm-dash"; el.className = "gm-panel gm-dash";
    el.innerHTML = g.dashboardHtml();
    document.body.appendChild(el);
    g.panelControl("gm-dash", "bottomleft");
    g.collapsible("gm-dash-head", "gm-dash-body", true);
    document.getElementById("gm-inc-window").addEventListener("change", g.filterIncidents);
    document.getElementById("gm-inc-category").addEventListener("change", g.filterIncidents);
    g.filterIncidents();
    var timer = null;
    var loop = function () { g.loadDashboard(); timer = setTimeout(loop, g.dashPollMs); };
    document.getElementById("gm-dash-head").addEventListener("click", function () {
      if (!document.getElementById("gm-dash-body").hidden) { if (!timer) loop(); }
      else if (timer) { clearTimeout(timer); timer = null; }
    });
  };

  g.loadDashboard = function () {
    var tz = g.i18n.timeZone || "UTC";
    var url = g.dashboardUrl + "?hours=24&weeks=12&time_zone=" + encodeURIComponent(tz);
    var a = fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { g.dashboard = d; g.drawDashboard(d); } });
    return Promise.all([a, g.loadCoverageShare()]).catch(function () { /* the next refresh retries */ });
  };

  g.barChart = function (id, labels, data, keyText) {
    if (typeof Chart === "undefined") return null;
    if (g.charts[id]) g.charts[id].destroy();
    g.charts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: labels, datasets: data.keys.map(function (k, i) {
        return { label: keyText(k), data: data.series[k], backgroundColor: PALETTE[i % PALETTE.length], stack: "s" };
      }) },
      options: { animation: false, responsive: false, plugins: { legend: { labels: { boxWidth: 10, font: { size: 10 } } } },
        scales: { x: { stacked: true, ticks: { font: { size: 9 }, maxRotation: 0, autoSkip: true } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0, font: { size: 9 } } } } },
    });
    return g.charts[id];
  };
  g.drawDashboard = function (d) {
    var tz = g.i18n.timeZone || "UTC", loc = g.i18n.locale;
    var hours = g.hourStarts(24, Date.parse(d.until));
    var hourFmt = new Intl.DateTimeFormat(loc, { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false });
    g.barChart("gm-chart-events", hours.map(function (h) { return hourFmt.format(new Date(h)); }),
      g.bucketSeries(d.events_per_hour.rows, "kind", hours), g.eventKindText);
    // week starts: the buckets the server returned, gaps filled a week apart
    var weeks = [], rows = d.incidents_per_week.rows;
    if (rows.length) {
      var first = Math.min.apply(null, rows.map(function (r) { return Date.parse(r.at); }));
      for (var t = first; t <= Date.parse(d.until); t += 7 * 86400e3) weeks.push(new Date(t).toISOString());
    }
    var dayFmt = new Intl.DateTimeFormat(loc, { timeZone: tz, day: "2-digit", month: "2-digit" });
    g.barChart("gm-chart-incidents", weeks.map(function (w) { return dayFmt.format(new Date(w)); }),
      g.bucketSeries(rows, "category", weeks), g.incidentCategoryText);
  };

  // The share of the top 10 % risk cells that a patrol came within 500 m of since local midnight.
  g.loadCoverageShare = function () {
    var out = document.getElementById("gm-dash-coverage"), now = Date.now();
    return fetch("/api/v1/surfaces", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { surfaces: [] }; })
      .then(function (body) {
        var risk = (body.surfaces || []).filter(function (s) { return s.kind === "risk" || s.kind === "kde"; });
        if (!risk.length) { out.textContent = g.t("no risk surface"); return null; }
        var since = g.localMidnight(now, g.i18n.timeZone || "UTC");
        return fetch("/api/v1/coverage?surface_id=" + encodeURIComponent(risk[0].id) + "&since=" + encodeURIComponent(since.toISOString()) +
          "&until=" + encodeURIComponent(new Date(now).toISOString()) + "&distance_m=500&top_pct=10", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; });
      })
      .then(function (body) {
        if (!body) return;
        var share = (body.total || {}).share;
        g.coverageShare = share;
        out.textContent = share == null ? "–" : g.t("{share} of the top 10 % risk cells, since 00:00", {
          share: new Intl.NumberFormat(g.i18n.locale, { style: "percent", maximumFractionDigits: 1 }).format(share) });
        if (typeof Chart === "undefined" || share == null) return;
        if (g.charts["gm-chart-coverage"]) g.charts["gm-chart-coverage"].destroy();
        g.charts["gm-chart-coverage"] = new Chart(document.getElementById("gm-chart-coverage"), {
          type: "bar",
          data: { labels: [""], datasets: [
            { label: g.t("patrolled"), data: [share * 100], backgroundColor: "#1a9850", stack: "s" },
            { label: g.t("not patrolled"), data: [100 - share * 100], backgroundColor: "#d73027", stack: "s" }] },
          options: { indexAxis: "y", animation: false, responsive: false, plugins: { legend: { display: false } },
            scales: { x: { stacked: true, min: 0, max: 100, ticks: { font: { size: 9 } } }, y: { stacked: true, display: false } } },
        });
      });
  };

  if (typeof window !== "undefined" && g.start && !g.start.withDashboard) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initDashboard(); };
    g.start.withDashboard = true;
  }
})(geomon);
