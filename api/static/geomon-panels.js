// geomon situation map, part 2: start-up, panels (events, replay, search), places, tools.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-map.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  // ---- pure helpers (node:test) ----
  g.fold = function (s) { return String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); };
  g.matchPlaces = function (places, query, limit) {
    var q = g.fold(query).trim(), out = [];
    if (!q) return out;
    for (var i = 0; i < places.length && out.length < (limit || 8); i++) {
      var p = places[i], names = [p.name].concat(p.alt_names || []);
      for (var j = 0; j < names.length; j++) {
        if (g.fold(names[j]).indexOf(q) >= 0) { out.push({ place: p, matched: names[j] }); break; }
      }
    }
    return out;
  };
  // Linear interpolation along fixes [[t_ms, lat, lon, ...], ...] at time t (clamped).
  g.positionAt = function (fixes, t) {
    if (!fixes.length) return null;
    if (t <= fixes[0][0]) return [fixes[0][1], fixes[0][2]];
    var lo = 0, hi = fixes.length - 1;
    if (t >= fixes[hi][0]) return [fixes[hi][1], fixes[hi][2]];
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (fixes[mid][0] <= t) lo = mid; else hi = mid; }
    var a = fixes[lo], b = fixes[hi], f = (t - a[0]) / (b[0] - a[0]);
    return [a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  };
  g.nearestPlace = function (places, lat, lon) {
    var best = null, bestD = Infinity;
    for (var i = 0; i < places.length; i++) {
      var d = g.haversineM([lat, lon], [places[i].lat, places[i].lon]);
      if (d < bestD) { bestD = d; best = places[i]; }
    }
    return best ? { place: best, distanceM: bestD } : null;
  };
  g.fillUrl = function (tpl, id) { return tpl.replace("{id}", encodeURIComponent(id)); };

  // ---- start-up ----
  g.start = function (map, live, config, groups) {
    g.map = map; g.live = live; g.config = config; g.groups = groups;
    map.createPane("gm-teams").style.zIndex = 640;  // above markers (600), below popups (700)
    g.panelControl("gm-events", "topright");
    g.panelControl("gm-search", "topleft");
    g.panelControl("gm-replay", "bottomleft");
    g.panelControl("gm-legend", "bottomright");
    g.collapsible("gm-legend-head", "gm-legend-body", window.innerHeight < 900);
    g.addFollowBadge(); g.addCoordinates(); g.addMeasure();
    if (config.urls.preferences) g.addLanguageSwitch(map, config.urls.preferences);
    var toggle = document.querySelector(".leaflet-control-layers-toggle");  // Leaflet's own "Layers"
    if (toggle) { toggle.title = g.t("Layers"); toggle.setAttribute("aria-label", g.t("Layers")); }
    if (config.initialTeams) live.update(config.initialTeams);
    g.addPlaces(config.places);
    g.initSearch(); g.initReplay(); g.initEvents();
    map.on("dragstart", g.unfollow);
    setInterval(function () { g.restyleSilent(config.silentAfterS); }, 10000);
    g.liveMode = "poll";
    if (config.urls.liveSse) g.connectSse(config.urls.liveSse, live);
    g.ready = true;
    g.readyAtMs = performance.now();  // since navigation start: the page's own load time
  };

  // Panels on the left share one column (the top-left corner, which scrolls when they are
  // taller than the window; geomon-map.css): two stacks growing towards each other from the
  // top and the bottom ran into each other on a 1400x850 screen.
  g.panelControl = function (id, position) {
    var el = document.getElementById(id);
    var ctl = L.control({ position: position === "bottomleft" ? "topleft" : position });
    ctl.onAdd = function () { L.DomEvent.disableClickPropagation(el); L.DomEvent.disableScrollPropagation(el); return el; };
    ctl.addTo(g.map);
    return ctl;
  };

  // Live stream (GET /api/v1/live): a `snapshot` FeatureCollection on connect, then
  // `positions` (teams that moved) and `events` (new or changed events) as they commit.
  g.connectSse = function (url, live) {
    var es = new EventSource(url), snapshots = 0;
    g.liveMode = "sse";
    var apply = function (ev) {
      var d = JSON.parse(ev.data);
      if (ev.type === "snapshot") snapshots++;
      if (d && d.type) live.update(d);
    };
    // A stream that fails before its first snapshot is not usable here: poll instead.
    es.onerror = function () {
      if (snapshots) return;  // EventSource reconnects by itself
      es.close(); g.eventSource = null; g.liveMode = "poll"; live.start();
    };
    ["snapshot", "positions"].forEach(function (k) { es.addEventListener(k, apply); });
    es.addEventListener("events", function (ev) {
      var d = JSON.parse(ev.data);
      (d.features || []).forEach(function (f) { g.liveEvent(g.eventFromFeature(f)); });
    });
    g.eventSource = es;
  };

  g.collapsible = function (headId, bodyId, collapsed) {
    var head = document.getElementById(headId), body = document.getElementById(bodyId);
    var set = function (c) { body.hidden = c; head.classList.toggle("gm-collapsed", c); };
    set(collapsed);
    head.addEventListener("click", function () { set(!body.hidden); });
  };

  g.addFollowBadge = function () {
    var ctl = L.control({ position: "topleft" });
    ctl.onAdd = function () {
      var el = L.DomUtil.create("div", "gm-panel gm-follow"); el.id = "gm-follow"; el.hidden = true;
      el.appendChild(document.createTextNode(""));
      var x = L.DomUtil.create("button", "", el); x.type = "button"; x.textContent = "✕"; x.title = g.t("Stop following");
      L.DomEvent.on(x, "click", function (e) { L.DomEvent.stop(e); g.unfollow(); });
      return el;
    };
    ctl.addTo(g.map);
  };

  g.addCoordinates = function () {
    var ctl = L.control({ position: "bottomright" });
    ctl.onAdd = function () { var el = L.DomUtil.create("div", "gm-panel gm-coords"); el.id = "gm-coords"; el.textContent = "–"; return el; };
    ctl.addTo(g.map);
    g.map.on("mousemove", function (e) {
      document.getElementById("gm-coords").textContent = e.latlng.lat.toFixed(5) + ", " + e.latlng.lng.toFixed(5);
    });
  };

  // Measure distance: click points on the map, double-click or press the button to finish.
  g.addMeasure = function () {
    var ctl = L.control({ position: "topleft" }), line = null, active = false, tip = null;
    var finish = function () { active = false; g.map.doubleClickZoom.enable(); L.DomUtil.removeClass(btn, "gm-on"); g.map.getContainer().style.cursor = ""; };
    var btn;
    ctl.onAdd = function () {
      var bar = L.DomUtil.create("div", "leaflet-bar");
      btn = L.DomUtil.create("a", "gm-measure", bar); btn.href = "#"; btn.title = g.t("Measure distance"); btn.innerHTML = "&#8596;";
      btn.id = "gm-measure";
      L.DomEvent.on(btn, "click", function (e) {
        L.DomEvent.stop(e);
        if (active) { finish(); return; }
        if (line) { line.remove(); line = null; }
        active = true; g.map.doubleClickZoom.disable(); L.DomUtil.addClass(btn, "gm-on"); g.map.getContainer().style.cursor = "crosshair";
      });
      return bar;
    };
    ctl.addTo(g.map);
    g.map.on("click", function (e) {
      if (!active) return;
      if (!line) { line = g.measureLine = L.polyline([], { color: "#111", weight: 2, dashArray: "4 4" }).addTo(g.map); tip = null; }
      line.addLatLng(e.latlng);
      var pts = line.getLatLngs().map(function (p) { return [p.lat, p.lng]; });
      g.measuredM = g.pathLengthM(pts);
      if (!tip) tip = line.bindTooltip("", { permanent: true, direction: "right" });
      line.setTooltipContent(g.distanceText(g.measuredM)).openTooltip(e.latlng);
    });
    g.map.on("dblclick", function () { if (active) finish(); });
  };

  // ---- crossing points and ports: popups fetch the post's latest sensor observations ----
  g.placeMarkers = {};
  g.addPlaces = function (places) {
    places.forEach(function (p) {
      var m = L.circleMarker([p.lat, p.lon], { radius: 5, weight: 1, color: "#333", fillOpacity: 0.9,
        fillColor: g.config.placeColours[p.kind] || "#1f77b4" });
      m.bindTooltip(p.name);
      m.bindPopup(g.placeHead(p) + '<div class="gm-obs">' + g.esc(g.t("loading sensor readings…")) + "</div>", { maxWidth: 320 });
      m.on("popupopen", function () { g.loadObservations(p, m); });
      m.addTo(g.groups.places);
      g.placeMarkers[p.id] = m;
    });
  };
  g.placeHead = function (p) {
    return "<b>" + g.esc(p.name) + "</b><br>" + g.esc((g.config.placeKinds || {})[p.kind] || p.kind) + " · " + g.esc(p.countries) +
      ((p.alt_names || []).length ? "<br><small>" + g.esc(p.alt_names.join(", ")) + "</small>" : "");
  };
  g.loadObservations = function (p, marker) {
    fetch(g.fillUrl(g.config.urls.placeObs, p.id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var rows = (d.observations || []).map(function (o) {
          return "<tr><td title=\"" + g.esc(g.fmtDateTime(o.observed_at)) + "\">" + g.esc(g.fmtTime(o.observed_at)) + "</td><td>" + g.esc(o.kind) + "</td><td>" +
            g.esc(o.value != null ? o.value : o.text) + "</td><td>" + g.esc(o.sensor) + "</td></tr>";
        });
        marker.setPopupContent(g.placeHead(p) + '<div class="gm-obs">' + (rows.length ?
          "<table>" + rows.join("") + "</table>" : g.esc(g.t("no sensor readings"))) + "</div>");
      });
  };

  // ---- place search (names and alternative names, accents ignored) ----
  g.initSearch = function () {
    var input = document.getElementById("gm-search-input"), list = document.getElementById("gm-search-results");
    input.addEventListener("input", function () {
      list.innerHTML = "";
      g.matchPlaces(g.config.places, input.value, 8).forEach(function (hit) {
        var li = document.createElement("li");
        li.textContent = hit.place.name + (hit.matched !== hit.place.name ? " (" + hit.matched + ")" : "");
        // Leaflet tells a panel click from a map click by walking up from the target; this li
        // is detached below, so stop the click here or the map would close the new popup.
        li.addEventListener("click", function (ev) { ev.stopPropagation(); g.showPlace(hit.place.id); list.innerHTML = ""; });
        list.appendChild(li);
      });
    });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter" && list.firstChild) list.firstChild.click(); });
  };
  g.showPlace = function (id) {
    var m = g.placeMarkers[id];
    if (!g.map.hasLayer(g.groups.places)) g.groups.places.addTo(g.map);
    g.map.setView(m.getLatLng(), Math.max(g.map.getZoom(), 10), { animate: false });
    m.openPopup();
  };
})(geomon);
