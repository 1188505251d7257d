// geomon situation map: the team list beside the map (GET /api/v1/teams): every device with
// its status, last-fix age, speed and agency; filter by status, search by name; click to follow.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-events.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.teamsUrl = "/api/v1/teams";
  g.teamsPollMs = 5000;
  g.teamRows = [];

  g.teamStatusText = function (status) {
    return { moving: g.t("moving"), stopped: g.t("stopped"), silent: g.t("silent"),
      never_seen: g.t("never seen") }[status] || status;
  };
  // Pure (node:test): the rows that pass the status filter ("" = all) and the search text.
  g.teamsMatching = function (rows, status, query) {
    var q = g.fold ? g.fold(query).trim() : String(query || "").toLowerCase().trim();
    return rows.filter(function (r) {
      if (status && r.status !== status) return false;
      if (!q) return true;
      return [r.name, r.uid, r.agency].some(function (v) {
        return (g.fold ? g.fold(v) : String(v || "").toLowerCase()).indexOf(q) >= 0;
      });
    });
  };

  g.teamPanelHtml = function () {
    var opts = [["", g.t("all statuses")], ["moving", g.t("moving")], ["stopped", g.t("stopped")],
      ["silent", g.t("silent")], ["never_seen", g.t("never seen")]];
    return '<div class="gm-head" id="gm-teams-head">' + g.esc(g.t("Teams")) +
      ' <span id="gm-teams-count" class="gm-badge">0</span></div><div id="gm-teams-body">' +
      '<input id="gm-teams-q" type="search" autocomplete="off" placeholder="' + g.esc(g.t("Search teams…")) +
      '" aria-label="' + g.esc(g.t("Search teams")) + '"> <select id="gm-teams-status" aria-label="' +
      g.esc(g.t("Status")) + '">' + opts.map(function (o) {
        return '<option value="' + o[0] + '">' + g.esc(o[1]) + "</option>";
      }).join("") + '</select><ul id="gm-teams-list" class="gm-list"></ul></div>';
  };

  g.initTeams = function () {
    var el = document.createElement("div");
    el.id = "gm-teams"; el.className = "gm-panel gm-teams";
    el.innerHTML = g.teamPanelHtml();
    document.body.appendChild(el);
    g.panelControl("gm-teams", "topleft");
    g.collapsible("gm-teams-head", "gm-teams-body", false);
    document.getElementById("gm-teams-q").addEventListener("input", g.renderTeams);
    document.getElementById("gm-teams-status").addEventListener("change", g.renderTeams);
    var loop = function () { g.loadTeams().then(function () { setTimeout(loop, g.teamsPollMs); }); };
    loop();
  };

  g.loadTeams = function () {
    return fetch(g.teamsUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { g.teamRows = d.teams; g.renderTeams(); } })
      .catch(function () { /* the next poll retries */ });
  };

  g.teamItem = function (r) {
    var li = document.createElement("li");
    li.className = "gm-teamrow gm-st-" + r.status + (g.followId === r.device_id ? " gm-following" : "");
    li.id = "gm-team-" + r.device_id;
    li.dataset.status = r.status;
    var age = r.fix_time ? g.fmtAgo(r.fix_time) : "";
    var speed = r.fix_time && r.speed_mps != null ? g.kmh(r.speed_mps) : "";
    li.innerHTML = '<i class="gm-dot"></i><b class="gm-data">' + g.esc(r.name) + '</b> <small class="gm-data">' + g.esc(r.agency) +
      '</small><br><small><span class="gm-team-status">' + g.esc(g.teamStatusText(r.status)) + "</span>" +
      (age ? ' · <span class="gm-team-age" title="' + g.esc(g.fmtDateTime(r.fix_time)) + '">' + g.esc(age) + "</span>" : "") +
      (speed ? " · " + g.esc(speed) : "") + "</small>";
    if (r.lat != null) {
      li.title = g.t("Click to follow");
      li.addEventListener("click", function () { g.followTeam(r); });
    }
    return li;
  };

  g.followTeam = function (r) {
    g.map.setView([r.lat, r.lon], Math.max(g.map.getZoom(), 10), { animate: false });
    if (g.teamLayers[r.device_id]) g.follow(r.device_id);
    g.renderTeams();
  };

  g.renderTeams = function () {
    var q = document.getElementById("gm-teams-q").value;
    var status = document.getElementById("gm-teams-status").value;
    var rows = g.teamsMatching(g.teamRows, status, q);
    var list = document.getElementById("gm-teams-list");
    list.innerHTML = "";
    rows.forEach(function (r) { list.appendChild(g.teamItem(r)); });
    document.getElementById("gm-teams-count").textContent = rows.length === g.teamRows.length ?
      String(rows.length) : g.t("{shown} of {total}", { shown: rows.length, total: g.teamRows.length });
  };

  // Start with the page: wrap geomon.start so page.py needs no change.
  if (typeof window !== "undefined" && g.start && !g.start.withTeams) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initTeams(); };
    g.start.withTeams = true;
  }
})(geomon);
