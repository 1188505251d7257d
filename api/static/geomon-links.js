// geomon situation map: the link chart. Find a person, vehicle or phone (GET /api/v1/entities)
// or give a case number, and see its network (GET /api/v1/entities/{id}/network or
// /api/v1/network?case=ID, format=cytoscape) drawn with Cytoscape.js (the npm package
// `cytoscape`, served by our own server and loaded on first use), with a timeline that shows
// the chart as it stood up to a date, node details, and the exports for i2 and GraphML.
// /map#entity=ID or /map#case=ID opens the chart at once.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-admin.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.cytoscapeUrl = "/static/vendor/cytoscape/cytoscape.min.js";
  g.chart = { cy: null, seed: null, times: [], doc: null };
  var COLOURS = { person: "#1f77b4", vehicle: "#2ca02c", phone: "#9467bd", organisation: "#8c564b", "case": "#d62728",
    incident: "#ff7f0e", observation: "#17becf", event: "#7f7f7f" };
  var SHAPES = { person: "ellipse", vehicle: "round-rectangle", phone: "diamond", organisation: "hexagon", "case": "star",
    incident: "triangle", observation: "rectangle", event: "vee" };

  g.nodeTypeText = function (t) {
    return { person: g.t("Person"), vehicle: g.t("Vehicle"), phone: g.t("Phone"), organisation: g.t("Organisation"),
      "case": g.t("Seizure case"), incident: g.t("Incident"), observation: g.t("Plate read"), event: g.t("Event") }[t] || t;
  };
  g.linkKindText = function (k) {
    return { associate: g.t("associate of"), family: g.t("family of"), owns: g.t("owns"), drives: g.t("drives"),
      uses: g.t("uses"), member_of: g.t("member of"), called: g.t("called"), involved_in: g.t("involved in"),
      seized_in: g.t("seized in"), seen_in: g.t("seen in"), other: g.t("other link") }[k] || k;
  };
  // Pure (node:test): the distinct times (ms, ascending) of the elements' ``at`` / ``valid_from``.
  g.chartTimes = function (elements) {
    var seen = {};
    elements.nodes.concat(elements.edges).forEach(function (e) {
      var t = e.data.at || e.data.valid_from;
      if (t) seen[Date.parse(t)] = true;
    });
    return Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
  };
  // Pure (node:test): ids of the elements shown up to time ``t`` (null = all): a node or link
  // with a later time is hidden, and so is a link whose end is hidden.
  g.shownUpTo = function (elements, t) {
    var shown = {}, late = function (d) { var x = d.at || d.valid_from; return t !== null && x && Date.parse(x) > t; };
    elements.nodes.forEach(function (n) { if (!late(n.data)) shown[n.data.id] = true; });
    elements.edges.forEach(function (e) {
      if (!late(e.data) && shown[e.data.source] && shown[e.data.target]) shown[e.data.id] = true;
    });
    return shown;
  };
  g.networkUrl = function (seed, depth, format) {
    var q = "depth=" + depth + "&format=" + format;
    return seed.kind === "case" ? "/api/v1/network?case=" + seed.id + "&" + q : "/api/v1/entities/" + seed.id + "/network?" + q;
  };

  g.linksPanelHtml = function () {
    return '<div class="gm-head" id="gm-links-head">' + g.esc(g.t("Link chart")) + '</div><div id="gm-links-body">' +
      '<input id="gm-links-q" type="search" autocomplete="off" placeholder="' + g.esc(g.t("Find a person, vehicle or phone…")) +
      '" aria-label="' + g.esc(g.t("Find an entity")) + '"><ul id="gm-links-results" class="gm-list"></ul>' +
      '<div class="gm-row"><input id="gm-links-case" type="number" min="1" placeholder="' + g.esc(g.t("Case number")) +
      '" aria-label="' + g.esc(g.t("Case number")) + '"><button id="gm-links-case-open" type="button">' +
      g.esc(g.t("Open chart")) + '</button></div><div id="gm-links-status" class="gm-small" role="status"></div></div>';
  };
  g.chartHtml = function () {
    var depth = [1, 2, 3, 4].map(function (d) {
      return '<option value="' + d + '"' + (d === 2 ? " selected" : "") + ">" + g.esc(g.t("{n} steps", { n: d })) + "</option>";
    }).join("");
    var legend = Object.keys(COLOURS).map(function (k) {
      return '<span><i class="gm-sw gm-dot" style="background:' + COLOURS[k] + '"></i>' + g.esc(g.nodeTypeText(k)) + "</span>";
    }).join(" ");
    return '<div class="gm-head"><span id="gm-chart-title"></span><button id="gm-chart-close" type="button" title="' +
      g.esc(g.t("Close")) + '">✕</button></div><div class="gm-row"><select id="gm-chart-depth" aria-label="' +
      g.esc(g.t("Depth")) + '">' + depth + '</select><a id="gm-chart-i2" download>i2 (CSV)</a> <a id="gm-chart-graphml" download>GraphML</a>' +
      '<span id="gm-chart-count" class="gm-small"></span><button id="gm-chart-reads" type="button" hidden>' +
      g.esc(g.t("Add its plate reads (90 days)")) + '</button><span id="gm-chart-note" class="gm-small" role="status"></span>' +
      '</div><div id="gm-cy"></div>' +
      '<div class="gm-row"><input id="gm-chart-time" type="range" min="0" max="0" value="0" aria-label="' + g.esc(g.t("Timeline")) +
      '"><span id="gm-chart-when" class="gm-small"></span></div><div id="gm-chart-details" class="gm-small"></div>' +
      '<div class="gm-small gm-chart-legend">' + legend + "</div>";
  };

  g.initLinks = function () {
    var el = document.createElement("div");
    el.id = "gm-links"; el.className = "gm-panel gm-links";
    el.innerHTML = g.linksPanelHtml();
    document.body.appendChild(el);
    g.panelControl("gm-links", "bottomleft");
    g.collapsible("gm-links-head", "gm-links-body", true);
    var chart = document.createElement("div");
    chart.id = "gm-chart"; chart.className = "gm-panel gm-chart"; chart.hidden = true;
    chart.innerHTML = g.chartHtml();
    document.body.appendChild(chart);
    var $ = function (id) { return document.getElementById(id); }, timer = null;
    $("gm-links-q").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(g.findEntities, 250); });
    $("gm-links-case-open").addEventListener("click", function () {
      var id = Number($("gm-links-case").value);
      if (id >= 1) g.openChart({ kind: "case", id: id, label: g.t("case {id}", { id: id }) });
    });
    $("gm-chart-close").addEventListener("click", function () { chart.hidden = true; });
    $("gm-chart-depth").addEventListener("change", function () { if (g.chart.seed) g.openChart(g.chart.seed); });
    $("gm-chart-time").addEventListener("input", g.applyTimeline);
    $("gm-chart-reads").addEventListener("click", function () { if (g.chart.vehicle) g.linkReads(g.chart.vehicle); });
    var m = /^#(entity|case)=(\d+)$/.exec(window.location.hash);
    if (m) g.openChart({ kind: m[1], id: Number(m[2]), label: m[1] === "case" ? g.t("case {id}", { id: m[2] }) : "" });
  };

  g.findEntities = function () {
    var q = document.getElementById("gm-links-q").value.trim(), list = document.getElementById("gm-links-results");
    if (!q) { list.innerHTML = ""; return Promise.resolve([]); }
    var get = function (param) {
      return fetch("/api/v1/entities?limit=10&" + param + "=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { entities: [] }; }).then(function (d) { return d.entities; });
    };
    return Promise.all([get("q"), get("plate")]).then(function (parts) {
      var seen = {}, hits = parts[0].concat(parts[1]).filter(function (e) { return !seen[e.id] && (seen[e.id] = true); });
      list.innerHTML = "";
      hits.forEach(function (e) {
        var li = document.createElement("li");
        li.textContent = g.nodeTypeText(e.kind) + ": " + e.label + (e.identity && e.identity !== e.label ? " (" + e.identity + ")" : "");
        li.className = "gm-data"; li.dataset.entity = e.id;
        li.addEventListener("click", function (ev) { ev.stopPropagation(); g.openChart({ kind: "entity", id: e.id, label: e.label }); });
        list.appendChild(li);
      });
      document.getElementById("gm-links-status").textContent = hits.length ? "" : g.t("nothing found");
      return hits;
    });
  };

  g.loadCytoscape = function () {
    if (window.cytoscape) return Promise.resolve(window.cytoscape);
    if (g.cytoscapeLoading) return g.cytoscapeLoading;
    g.cytoscapeLoading = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = g.cytoscapeUrl; s.onload = function () { resolve(window.cytoscape); }; s.onerror = reject;
      document.head.appendChild(s);
    });
    return g.cytoscapeLoading;
  };

  g.openChart = function (seed) {
    var $ = function (id) { return document.getElementById(id); }, depth = Number($("gm-chart-depth").value);
    g.chart.seed = seed;
    $("gm-chart").hidden = false;
    $("gm-chart-title").textContent = g.t("Link chart: {name}", { name: seed.label || g.nodeTypeText(seed.kind) });
    $("gm-chart-i2").href = g.networkUrl(seed, depth, "i2");
    $("gm-chart-graphml").href = g.networkUrl(seed, depth, "graphml");
    $("gm-chart-details").textContent = g.t("loading…");
    $("gm-chart-note").textContent = ""; $("gm-chart-reads").hidden = true; g.chart.vehicle = null;
    return Promise.all([g.loadCytoscape(), fetch(g.networkUrl(seed, depth, "cytoscape"), { credentials: "same-origin" })])
      .then(function (res) {
        var r = res[1];
        if (!r.ok) return r.json().catch(function () { return {}; }).then(function (d) {
          $("gm-chart-details").textContent = g.t("the server refused (HTTP {status})", { status: r.status }) + (d.detail ? ": " + d.detail : "");
          return null;
        });
        return r.json().then(function (doc) { g.drawChart(doc); return doc; });
      });
  };

  g.drawChart = function (doc) {
    var $ = function (id) { return document.getElementById(id); }, els = doc.elements;
    g.chart.doc = doc;
    els.nodes.forEach(function (n) {
      n.data.shown = n.data.label || g.nodeTypeText(n.data.type);
      n.data.colour = COLOURS[n.data.type] || "#333"; n.data.shape = SHAPES[n.data.type] || "ellipse";
    });
    els.edges.forEach(function (e) { e.data.shown = g.linkKindText(e.data.kind); });
    if (g.chart.cy) g.chart.cy.destroy();
    g.chart.cy = window.cytoscape({
      container: $("gm-cy"), elements: els, wheelSensitivity: 0.3,
      layout: { name: els.nodes.length > 1 ? "cose" : "grid", animate: false, randomize: false, padding: 20 },
      style: [
        { selector: "node", style: { label: "data(shown)", "background-color": "data(colour)", shape: "data(shape)",
          "font-size": 10, "text-valign": "bottom", "text-margin-y": 3, width: 22, height: 22 } },
        { selector: "node[?seed]", style: { "border-width": 3, "border-color": "#000" } },
        { selector: "edge", style: { label: "data(shown)", "font-size": 9, "curve-style": "bezier", "target-arrow-shape": "triangle",
          width: 1.5, "line-color": "#888", "target-arrow-color": "#888", "text-rotation": "autorotate",
          "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 1 } },
        { selector: ".gm-hidden", style: { display: "none" } }
      ]
    });
    g.chart.cy.on("tap", "node", function (ev) { g.showNode(ev.target.data()); });
    g.chart.cy.on("dbltap", "node", function (ev) {
      var d = ev.target.data(), m = /^(entity|case)-(\d+)$/.exec(d.id);
      if (m) g.openChart({ kind: m[1], id: Number(m[2]), label: d.label });
    });
    g.chart.times = g.chartTimes(els);
    var slider = $("gm-chart-time");
    slider.max = String(g.chart.times.length); slider.value = slider.max; slider.disabled = !g.chart.times.length;
    g.applyTimeline();
    $("gm-chart-count").textContent = g.t("{nodes} nodes, {links} links", { nodes: g.fmtNumber(els.nodes.length), links: g.fmtNumber(els.edges.length) }) +
      (doc.truncated ? " — " + g.t("cut at the node limit") : "");
    $("gm-chart-details").textContent = g.t("Click a node for details, double-click to chart from it.");
  };

  g.applyTimeline = function () {
    var cy = g.chart.cy, slider = document.getElementById("gm-chart-time"), i = Number(slider.value), times = g.chart.times;
    if (!cy) return;
    var t = i >= times.length ? null : times[i], shown = g.shownUpTo(g.chart.doc.elements, t);
    cy.elements().forEach(function (e) { e.toggleClass("gm-hidden", !shown[e.id()]); });
    document.getElementById("gm-chart-when").textContent = t === null ? g.t("all dates") :
      g.t("up to {time}", { time: g.fmtDateTime(new Date(t).toISOString()) });
  };

  // Pure (node:test): the body of POST /api/v1/entities/{id}/link-reads for the last ``days``.
  g.linkReadsBody = function (now, days) {
    return { since: new Date(now - days * 86400e3).toISOString(), until: new Date(now + 60e3).toISOString(), limit: 1000 };
  };
  g.linkReads = function (entityId) {
    var note = document.getElementById("gm-chart-note");
    return fetch("/api/v1/entities/" + entityId + "/link-reads", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(g.linkReadsBody(Date.now(), 90)) })
      .then(function (r) {
        if (!r.ok) { note.textContent = g.t("the server refused (HTTP {status})", { status: r.status }); return null; }
        return r.json().then(function (d) {
          return g.openChart(g.chart.seed).then(function () {
            note.textContent = g.t("{n} plate reads linked", { n: g.fmtNumber(d.created) });
            return d;
          });
        });
      });
  };

  g.showNode = function (d) {
    var m = /^entity-(\d+)$/.exec(d.id), reads = document.getElementById("gm-chart-reads");
    g.chart.vehicle = d.type === "vehicle" && m ? Number(m[1]) : null;
    reads.hidden = !g.chart.vehicle;
    var parts = [g.nodeTypeText(d.type), d.label];
    if (d.identity && d.identity !== d.label) parts.push(d.identity);
    if (d.at) parts.push(g.fmtDateTime(d.at));
    document.getElementById("gm-chart-details").textContent = parts.join(" · ");
  };

  if (typeof window !== "undefined" && g.start && !g.start.withLinks) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initLinks(); };
    g.start.withLinks = true;
  }
})(geomon);
