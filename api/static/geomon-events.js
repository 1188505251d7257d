// geomon situation map, part 3: the events panel (with an audible notice) and track replay.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-panels.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.events = {};      // id -> event row
  g.lastEventId = 0;
  g.beeps = 0;
  g.eventPollMs = 2000;

  // Event kinds (geomon/alerts) in the reader's language; an unknown kind shows as stored.
  // The titles come from geomon/alerts/texts.py through the page's config (i18n.eventTitles).
  g.eventKindText = function (kind) {
    var names = g.i18n.eventTitles || {};
    return Object.prototype.hasOwnProperty.call(names, kind) ? names[kind] : String(kind).replace(/_/g, " ");
  };
  // Plate events name the plate(s): the number is what the operator acts on (docs/plates.md).
  g.eventPlate = function (e) {
    var a = e.attrs || {};
    return a.plate_norm || (Array.isArray(a.plates) ? a.plates.join(" + ") : null);
  };
  g.eventTitle = function (e) {
    var plate = g.eventPlate(e);
    return g.eventKindText(e.kind) + (plate ? " · " + plate : "") + (e.device ? " · " + e.device : "") +
      (e.zone ? " · " + e.zone : "");
  };

  g.initEvents = function () {
    // Browsers keep audio suspended until the user interacts; resume on the first click.
    document.addEventListener("click", function () { if (g.audio) g.audio.resume(); }, { once: true });
    // With the live stream, polling is only a safety net for a missed notification.
    var loop = function () {
      g.pollEvents();
      setTimeout(loop, g.liveMode === "sse" ? 5 * g.eventPollMs : g.eventPollMs);
    };
    loop();
  };

  // An event Feature from the live stream as the panel's row (names from what the page knows).
  g.eventFromFeature = function (f) {
    var p = f.properties || {}, c = f.geometry ? f.geometry.coordinates : null;
    var team = p.device_id != null ? g.teamLayers[p.device_id] : null;
    return { id: f.id, kind: p.kind, severity: p.severity, state: p.state, occurred_at: p.occurred_at,
      lat: c ? c[1] : null, lon: c ? c[0] : null, device_uid: team ? team.feature.properties.uid : null,
      device: team ? team.feature.properties.name : (p.device_id != null ? g.t("device {id}", { id: p.device_id }) : null),
      zone: p.zone_id != null ? g.t("zone {id}", { id: p.zone_id }) : null, agency: p.agency,
      attrs: p.attrs || {} };
  };
  g.liveEvent = function (e) {
    var known = g.events[e.id];
    if (known) {
      if (e.state !== "new" && known.state === "new") g.markAcked(e.id);
      return;
    }
    g.addEvent(e);
    if (e.severity === "critical" && e.state === "new") g.alarm();
  };
  g.markAcked = function (id) {
    var li = document.getElementById("gm-event-" + id);
    g.events[id].state = "acknowledged";
    if (!li) return;
    li.classList.add("gm-acked");
    var b = li.querySelector("button");
    b.textContent = g.t("acknowledged"); b.disabled = true;
  };

  g.pollEvents = function () {
    var url = g.config.urls.events + "?after_id=" + g.lastEventId;
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { events: [] }; })
      .then(function (d) {
        var fresh = (d.events || []).slice().reverse()  // oldest first, unknown only
          .filter(function (e) { return !g.events[e.id]; });
        fresh.forEach(g.addEvent);
        if (fresh.some(function (e) { return e.severity === "critical" && e.state === "new"; }) && g.lastEventPollDone) g.alarm();
        g.lastEventPollDone = true;
      }).catch(function () { /* next poll retries */ });
  };

  g.addEvent = function (e) {
    if (g.events[e.id]) return;
    g.events[e.id] = e;
    g.lastEventId = Math.max(g.lastEventId, e.id);
    var li = document.createElement("li");
    li.id = "gm-event-" + e.id;
    li.className = "gm-ev gm-" + e.severity + (e.state !== "new" ? " gm-acked" : "");
    var near = e.lat != null ? g.nearestPlace(g.config.places, e.lat, e.lon) : null;
    var where = near ? g.t("near {place} ({distance})", { place: near.place.name, distance: g.distanceText(near.distanceM) }) :
      (e.lat != null ? e.lat.toFixed(4) + ", " + e.lon.toFixed(4) : "");
    li.innerHTML = '<span class="gm-time" title="' + g.esc(g.fmtDateTime(e.occurred_at)) + '">' + g.esc(g.fmtTime(e.occurred_at)) +
      "</span> <b>" + g.esc(g.eventTitle(e)) +
      "</b><br><small>" + g.esc(where) + "</small> ";
    var ack = document.createElement("button");
    ack.type = "button"; ack.textContent = e.state === "new" ? g.t("Acknowledge") : g.t("acknowledged"); ack.disabled = e.state !== "new";
    ack.addEventListener("click", function (ev) { ev.stopPropagation(); g.acknowledge(e.id, ack, li); });
    li.appendChild(ack);
    li.addEventListener("click", function () { if (e.lat != null) g.map.setView([e.lat, e.lon], Math.max(g.map.getZoom(), 11)); });
    var list = document.getElementById("gm-events-list");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 100) list.removeChild(list.lastChild);
    document.getElementById("gm-events-count").textContent = String(Object.keys(g.events).length);
    if (e.lat != null) {
      L.circleMarker([e.lat, e.lon], { radius: 8, weight: 2, color: "#fff", fillOpacity: 0.9,
        fillColor: e.severity === "critical" ? "#e6550d" : "#fdae6b", className: e.severity === "critical" ? "gm-flash" : "" })
        .bindPopup("<b>" + g.esc(g.eventTitle(e)) + "</b><br>" + g.esc(g.fmtDateTime(e.occurred_at)) +
          " (" + g.esc(g.fmtAgo(e.occurred_at)) + ")").addTo(g.groups.events);
    }
  };

  g.acknowledge = function (id, button, li) {
    button.disabled = true;
    return fetch(g.fillUrl(g.config.urls.ack, id), { method: "POST", credentials: "same-origin" })
      .then(function (r) {
        if (r.ok || r.status === 409) g.markAcked(id);
        else { button.disabled = false; button.title = g.t("acknowledge failed (HTTP {status})", { status: r.status }); }
      });
  };

  // Visible + audible notice: the panel flashes and a short two-tone beep (WebAudio, no file).
  g.alarm = function () {
    var badge = document.getElementById("gm-alarm");
    badge.hidden = false;
    var panel = document.getElementById("gm-events");
    panel.classList.add("gm-flash");
    setTimeout(function () { panel.classList.remove("gm-flash"); badge.hidden = true; }, 8000);
    g.beep();
  };
  g.beep = function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    g.audio = g.audio || new Ctx();
    [0, 0.25].forEach(function (at, i) {
      var osc = g.audio.createOscillator(), gain = g.audio.createGain(), t0 = g.audio.currentTime + at;
      osc.frequency.value = i ? 660 : 880;
      gain.gain.setValueAtTime(0.2, t0); gain.gain.exponentialRampToValueAtTime(0.001, t0 + 0.2);
      osc.connect(gain).connect(g.audio.destination); osc.start(t0); osc.stop(t0 + 0.22);
    });
    g.beeps++;
  };

  // ---- track replay ----
  g.replay = { fixes: [], t: 0, playing: false, speed: 10 };
  g.initReplay = function () {
    var sel = document.getElementById("gm-replay-device");
    sel.addEventListener("focus", g.fillReplayDevices);
    g.fillReplayDevices();
    setTimeout(g.fillReplayDevices, 3000);
    document.getElementById("gm-replay-load").addEventListener("click", function () {
      g.loadReplay(sel.value, Number(document.getElementById("gm-replay-window").value));
    });
    document.getElementById("gm-replay-play").addEventListener("click", g.toggleReplay);
    document.getElementById("gm-replay-speed").addEventListener("change", function (e) { g.replay.speed = Number(e.target.value); });
    document.getElementById("gm-replay-slider").addEventListener("input", function (e) {
      var f = g.replay.fixes; if (!f.length) return;
      g.setReplayTime(f[0][0] + (f[f.length - 1][0] - f[0][0]) * Number(e.target.value) / 1000);
    });
  };
  g.fillReplayDevices = function () {
    var sel = document.getElementById("gm-replay-device"), current = sel.value;
    var ids = Object.keys(g.teamLayers);
    if (sel.options.length === ids.length) return;
    sel.innerHTML = "";
    ids.map(function (id) { return [id, g.teamLayers[id].feature.properties.name]; })
      .sort(function (a, b) { return a[1] < b[1] ? -1 : 1; })
      .forEach(function (r) { var o = document.createElement("option"); o.value = r[0]; o.textContent = r[1]; sel.appendChild(o); });
    if (current) sel.value = current;
  };
  g.loadReplay = function (deviceId, windowS) {
    var end = new Date(), start = new Date(end.getTime() - windowS * 1000);
    var url = g.fillUrl(g.config.urls.track, deviceId) + "?start=" + encodeURIComponent(start.toISOString()) +
      "&end=" + encodeURIComponent(end.toISOString());
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var r = g.replay;
      r.fixes = d.fixes || []; r.playing = false;
      g.groups.replay.clearLayers();
      r.marker = null;
      var ok = r.fixes.length > 0;
      ["gm-replay-play", "gm-replay-slider"].forEach(function (id) { document.getElementById(id).disabled = !ok; });
      if (!ok) { document.getElementById("gm-replay-time").textContent = g.t("no fixes in this window"); return; }
      var pts = r.fixes.map(function (f) { return [f[1], f[2]]; });
      L.polyline(pts, { color: "#e7298a", weight: 3, opacity: 0.7 }).addTo(g.groups.replay);
      r.marker = L.circleMarker(pts[0], { radius: 8, color: "#fff", weight: 2, fillColor: "#e7298a", fillOpacity: 1 }).addTo(g.groups.replay);
      g.map.fitBounds(L.latLngBounds(pts), { maxZoom: 14, animate: false });
      g.setReplayTime(r.fixes[0][0]);
    });
  };
  g.setReplayTime = function (t) {
    var r = g.replay, f = r.fixes, t0 = f[0][0], t1 = f[f.length - 1][0];
    r.t = Math.min(Math.max(t, t0), t1);
    r.marker.setLatLng(g.positionAt(f, r.t));
    document.getElementById("gm-replay-slider").value = String(t1 > t0 ? Math.round(1000 * (r.t - t0) / (t1 - t0)) : 0);
    document.getElementById("gm-replay-time").textContent = g.fmtDateTime(new Date(r.t).toISOString());
    if (r.t >= t1) g.stopReplay();
  };
  g.toggleReplay = function () { if (g.replay.playing) g.stopReplay(); else g.playReplay(); };
  g.playReplay = function () {
    var r = g.replay, f = r.fixes;
    if (r.t >= f[f.length - 1][0]) r.t = f[0][0];
    r.playing = true; document.getElementById("gm-replay-play").textContent = "❚❚";
    var last = performance.now();
    var step = function (now) {
      if (!r.playing) return;
      g.setReplayTime(r.t + (now - last) * r.speed); last = now;
      if (r.playing) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  };
  g.stopReplay = function () { g.replay.playing = false; document.getElementById("gm-replay-play").textContent = "▶"; };
})(geomon);
