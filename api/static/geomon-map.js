// geomon situation map, part 1: formatting helpers and the live team markers.
// Pure helpers (kmh, ageText, isSilent, popupHtml, agencyColour, haversineM, pathLengthM,
// matchPlaces) are tested with node:test in tests/js/; the rest is tested in a real browser.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-i18n.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.esc = function (v) {
    return String(v == null ? "–" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // Speeds arrive in m/s and are shown in km/h.
  g.kmh = function (mps) { return mps == null ? "–" : g.t("{speed} km/h", { speed: g.fmtNumber(mps * 3.6) }); };

  g.ageText = function (iso, now) { return g.fmtAgo(iso, now); };

  g.isSilent = function (props, silentAfterS, now) {
    return ((now || Date.now()) - Date.parse(props.fix_time)) / 1000 > silentAfterS;
  };

  g.popupHtml = function (p, now) {
    var extra = "";
    if (p.battery != null) extra += "<br>" + g.esc(g.t("battery {value}", { value: p.battery }));
    if (p.gsm_signal != null) extra += (extra ? " · " : "<br>") + g.esc(g.t("signal {value}", { value: p.gsm_signal }));
    return "<b>" + g.esc(p.name) + "</b> <small>" + g.esc(p.uid) + "</small><br>" +
      g.esc(p.agency) + " · " + g.esc(g.deviceKindText(p.kind)) +
      "<br>" + g.esc(g.t("speed {speed}", { speed: g.kmh(p.speed_mps) })) +
      (p.course_deg == null ? "" : " · " + g.esc(g.t("course {deg}°", { deg: Math.round(p.course_deg) }))) +
      "<br>" + g.esc(g.t("fix {time} ({ago})", { time: g.fmtDateTime(p.fix_time), ago: g.ageText(p.fix_time, now) })) + extra;
  };

  // Device kinds as stored (DESIGN.md section 3) in the reader's language.
  g.deviceKindText = function (kind) {
    var names = { tracker: g.t("GPS tracker"), phone: g.t("phone"), "serial-gps": g.t("in-vehicle GPS"),
      sensor: g.t("sensor") };
    return Object.prototype.hasOwnProperty.call(names, kind) ? names[kind] : kind;
  };

  var palette = ["#e6550d", "#31a354", "#756bb1", "#3182bd", "#de2d26", "#636363", "#fd8d3c", "#17becf"];
  g.agencyColour = function (agency) {
    var h = 0, s = String(agency || "");
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return palette[h % palette.length];
  };

  // Great-circle distance (metres) on Leaflet's sphere (R = 6378137 m), so it matches map.distance.
  g.haversineM = function (a, b) {
    var R = 6378137, rad = Math.PI / 180;
    var dLat = (b[0] - a[0]) * rad, dLon = (b[1] - a[1]) * rad;
    var h = Math.pow(Math.sin(dLat / 2), 2) +
      Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  };
  g.pathLengthM = function (pts) {
    var d = 0;
    for (var i = 1; i < pts.length; i++) d += g.haversineM(pts[i - 1], pts[i]);
    return d;
  };
  g.distanceText = function (m) {
    return m < 1000 ? g.t("{n} m", { n: g.fmtNumber(m) }) : g.t("{n} km", { n: g.fmtNumber(m / 1000, 2) });
  };

  // ---- live team markers (Leaflet.Realtime hooks), keyed by device id ----
  g.teamLayers = {};
  g.trails = {};
  g.updates = 0;
  g.onTeamUpdate = [];  // callbacks(id, latlng) — used by tests and the latency bench
  g.trailLength = 30;

  g.teamIcon = function (p, silent) {
    var colour = silent ? "#bdbdbd" : g.agencyColour(p.agency);
    var rot = p.course_deg == null ? 0 : Math.round(p.course_deg);
    return L.divIcon({
      className: "gm-team" + (silent ? " gm-silent" : ""), iconSize: [22, 22], iconAnchor: [11, 11],
      html: '<svg viewBox="0 0 20 20" style="transform:rotate(' + rot + 'deg)"><path d="M10 1 L17 18 L10 14 L3 18 Z" fill="' +
        colour + '"/></svg>'
    });
  };

  g.styleTeam = function (marker, p, silentAfterS) {
    var silent = g.isSilent(p, silentAfterS);
    var el = marker.getElement();
    if (!el || marker._gmSilent !== silent) { marker.setIcon(g.teamIcon(p, silent)); }
    else {
      var svg = el.firstChild;
      svg.style.transform = "rotate(" + Math.round(p.course_deg || 0) + "deg)";
      svg.firstChild.setAttribute("fill", silent ? "#bdbdbd" : g.agencyColour(p.agency));
    }
    marker._gmSilent = silent;
  };

  // A trail is drawn from a team's second position on (a polyline per parked team is waste).
  g.trailPoints = {};
  g.extendTrail = function (id, latlng) {
    if (!g.groups || !g.groups.trails) return;
    var pts = g.trailPoints[id] || (g.trailPoints[id] = []), last = pts[pts.length - 1];
    if (last && last.lat === latlng.lat && last.lng === latlng.lng) return;
    pts.push(latlng);
    if (pts.length > g.trailLength) pts.shift();
    if (pts.length < 2) return;
    var t = g.trails[id];
    if (!t) t = g.trails[id] = L.polyline([], { color: "#08306b", weight: 2, opacity: 0.5, interactive: false }).addTo(g.groups.trails);
    t.setLatLngs(pts);
  };

  g.teamMoved = function (id, marker) {
    var ll = marker.getLatLng();
    g.updates++;
    g.extendTrail(id, ll);
    if (g.followId === id && g.map) g.map.panTo(ll, { animate: false });
    for (var i = 0; i < g.onTeamUpdate.length; i++) g.onTeamUpdate[i](id, ll);
  };

  g.pointToLayer = function (silentAfterS) {
    return function (feature, latlng) {
      var p = feature.properties, silent = g.isSilent(p, silentAfterS);
      // teams have their own pane above incident clusters and places
      var pane = g.map && g.map.getPane("gm-teams") ? "gm-teams" : "markerPane";
      var m = L.marker(latlng, { icon: g.teamIcon(p, silent), title: String(p.name), pane: pane });
      m._gmSilent = silent;
      m.bindPopup(g.popupHtml(p));
      // a team stacked with others spreads them out first (geomon-spread.js)
      m.on("click", function () { if (!(g.spreadIfStacked && g.spreadIfStacked(feature.id, m))) g.follow(feature.id); });
      g.teamLayers[feature.id] = m;
      m.feature = feature;
      g.trailPoints[feature.id] = [latlng];
      return m;
    };
  };

  // Leaflet.Realtime only moves the marker by default: refresh icon and popup from the feature.
  g.updateFeature = function (silentAfterS) {
    return function (feature, oldLayer) {
      if (!oldLayer) return undefined;
      var c = feature.geometry.coordinates, before = oldLayer.getLatLng();
      var moved = before.lat !== c[1] || before.lng !== c[0];
      oldLayer.setLatLng([c[1], c[0]]);
      oldLayer.feature = feature;
      g.styleTeam(oldLayer, feature.properties, silentAfterS);
      oldLayer.setPopupContent(g.popupHtml(feature.properties));
      g.teamLayers[feature.id] = oldLayer;
      if (moved) g.teamMoved(feature.id, oldLayer);
      return oldLayer;
    };
  };

  // A silent team gets no updates, so re-check every team's age on a timer.
  g.restyleSilent = function (silentAfterS) {
    Object.keys(g.teamLayers).forEach(function (id) {
      var m = g.teamLayers[id];
      if (m.feature) g.styleTeam(m, m.feature.properties, silentAfterS);
    });
  };

  g.follow = function (id) {
    g.followId = id;
    var el = document.getElementById("gm-follow");
    var m = g.teamLayers[id];
    if (el && m) { el.hidden = false; el.firstChild.textContent = g.t("Following {team}", { team: m.feature.properties.name }) + " "; }
  };
  g.unfollow = function () {
    g.followId = null;
    var el = document.getElementById("gm-follow");
    if (el) el.hidden = true;
  };

  g.incidentMarker = function (row) {
    // row: [lat, lon, category, quantity, unit, date]
    var colour = { seizure: "#a50f15", detention: "#54278f", detection: "#006d2c" }[row[2]] || "#333";
    var m = L.circleMarker([row[0], row[1]], { radius: 4, weight: 1, color: "#fff", fillColor: colour, fillOpacity: 0.9 });
    var category = { seizure: g.t("seizure"), detention: g.t("detention"), detection: g.t("detection") }[row[2]] || row[2];
    m.bindPopup("<b>" + g.esc(category) + "</b>" + (row[3] == null ? "" : " " + g.esc(g.fmtNumber(row[3], row[3] % 1 ? 1 : 0)) + " " + g.esc(row[4])) + "<br>" + g.esc(row[5]));
    return m;
  };
})(geomon);
