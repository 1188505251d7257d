// geomon situation map: the event desk. Find events by kind, severity, state, agency and time
// window (GET /api/v1/events); open one to acknowledge it, assign it to a user, add a note,
// resolve it with a note, and read its history (who did what, when) in the user's time zone.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-teams.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.deskUrl = "/api/v1/events";
  g.meUrl = "/auth/me";
  g.desk = { rows: [], event: null };
  g.me = null;  // the caller (user, role): "mine" and the admin pages use it

  g.severityText = function (s) {
    return { info: g.t("info"), warning: g.t("warning"), critical: g.t("critical") }[s] || s;
  };
  g.stateText = function (s) {
    return { "new": g.t("new"), acknowledged: g.t("acknowledged"), resolved: g.t("resolved") }[s] || s;
  };
  // Pure (node:test): the query string of the desk's filters; ``now`` in ms since the epoch.
  g.deskQuery = function (f, now) {
    var q = [];
    if (f.kind) q.push("kind=" + encodeURIComponent(f.kind));
    if (f.severity) q.push("severity=" + encodeURIComponent(f.severity));
    if (f.state === "open") q.push("state=new", "state=acknowledged");
    else if (f.state) q.push("state=" + encodeURIComponent(f.state));
    (f.agency || "").split(/[\s,]+/).filter(Boolean).forEach(function (a) { q.push("agency=" + encodeURIComponent(a)); });
    if (f.mine && g.me && g.me.user) q.push("assigned_to=" + encodeURIComponent(g.me.user));
    if (f.hours) q.push("since=" + encodeURIComponent(new Date(now - f.hours * 3600e3).toISOString()));
    q.push("limit=200");
    return q.join("&");
  };
  // One history entry as a line of text (the time goes in its own cell).
  g.historyText = function (h) {
    var who = h.by || "geomon", note = h.note ? ": " + h.note : "";
    if (h.action === "raised") return g.t("raised by {who}", { who: who });
    if (h.action === "acknowledge") return g.t("acknowledged by {who}", { who: who }) + note;
    if (h.action === "resolve") return g.t("resolved by {who}", { who: who }) + note;
    if (h.action === "note") return g.t("note by {who}", { who: who }) + note;
    if (h.action === "assign") {
      var to = h.detail && h.detail.assigned_to;
      return (to ? g.t("{who} assigned it to {user}", { who: who, user: to }) :
        g.t("{who} cleared the assignment", { who: who })) + note;
    }
    return h.action + " · " + who + note;
  };

  g.deskPanelHtml = function () {
    var opt = function (v, text) { return '<option value="' + g.esc(v) + '">' + g.esc(text) + "</option>"; };
    var kinds = Object.keys(g.i18n.eventTitles || {}).sort();
    var windows = [[1, g.t("last hour")], [6, g.t("last {n} h", { n: 6 })], [24, g.t("last {n} h", { n: 24 })],
      [168, g.t("last 7 days")], [720, g.t("last 30 days")], [0, g.t("any time")]];
    return '<div class="gm-head" id="gm-desk-head">' + g.esc(g.t("Event desk")) + '</div><div id="gm-desk-body">' +
      '<div class="gm-row"><select id="gm-desk-kind" aria-label="' + g.esc(g.t("Kind")) + '">' + opt("", g.t("all kinds")) +
      kinds.map(function (k) { return opt(k, g.eventKindText(k)); }).join("") + "</select>" +
      '<select id="gm-desk-severity" aria-label="' + g.esc(g.t("Severity")) + '">' + opt("", g.t("all severities")) +
      ["critical", "warning", "info"].map(function (s) { return opt(s, g.severityText(s)); }).join("") + "</select>" +
      '<select id="gm-desk-state" aria-label="' + g.esc(g.t("State")) + '">' + opt("open", g.t("open")) +
      opt("", g.t("all states")) + ["new", "acknowledged", "resolved"].map(function (s) { return opt(s, g.stateText(s)); }).join("") +
      "</select></div>" +
      '<div class="gm-row"><input id="gm-desk-agency" type="search" size="8" autocomplete="off" placeholder="' +
      g.esc(g.t("Agency")) + '" aria-label="' + g.esc(g.t("Agency")) + '"><select id="gm-desk-window" aria-label="' +
      g.esc(g.t("Time window")) + '">' + windows.map(function (w) { return '<option value="' + w[0] + '"' + (w[0] === 24 ? " selected" : "") +
      ">" + g.esc(w[1]) + "</option>"; }).join("") + '</select><label><input id="gm-desk-mine" type="checkbox"> ' +
      g.esc(g.t("mine")) + '</label> <button id="gm-desk-search" type="button">' + g.esc(g.t("Find")) + "</button></div>" +
      '<ul id="gm-desk-list" class="gm-list"></ul>' +
      '<div id="gm-desk-detail" hidden><div class="gm-sub" id="gm-desk-title"></div><div id="gm-desk-meta" class="gm-small"></div>' +
      '<div class="gm-row"><button id="gm-desk-ack" type="button">' + g.esc(g.t("Acknowledge")) + "</button> " +
      '<select id="gm-desk-assignee" aria-label="' + g.esc(g.t("Assign to")) + '"></select> <button id="gm-desk-assign" type="button">' +
      g.esc(g.t("Assign")) + '</button></div><textarea id="gm-desk-note" rows="2" placeholder="' + g.esc(g.t("Note")) + '" aria-label="' +
      g.esc(g.t("Note")) + '"></textarea><div class="gm-row"><button id="gm-desk-resolve" type="button">' + g.esc(g.t("Resolve")) +
      '</button> <button id="gm-desk-addnote" type="button">' + g.esc(g.t("Add note")) + "</button></div>" +
      '<div id="gm-desk-status" class="gm-small" role="status"></div><div class="gm-sub">' + g.esc(g.t("History")) +
      '</div><ol id="gm-desk-history" class="gm-list gm-history"></ol></div></div>';
  };

  g.initDesk = function () {
    var el = document.createElement("div");
    el.id = "gm-desk"; el.className = "gm-panel gm-desk";
    el.innerHTML = g.deskPanelHtml();
    document.body.appendChild(el);
    g.panelControl("gm-desk", "topright");
    g.collapsible("gm-desk-head", "gm-desk-body", true);
    var $ = function (id) { return document.getElementById(id); };
    fetch(g.meUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (me) { g.me = me; }).catch(function () { /* "mine" stays off */ });
    $("gm-desk-search").addEventListener("click", g.searchEvents);
    $("gm-desk-ack").addEventListener("click", function () { g.deskAct("acknowledge", {}); });
    $("gm-desk-assign").addEventListener("click", function () {
      var v = $("gm-desk-assignee").value;
      g.deskAct("assign", { assignee: v || null, note: $("gm-desk-note").value || null });
    });
    $("gm-desk-resolve").addEventListener("click", function () { g.deskAct("resolve", { note: $("gm-desk-note").value || null }); });
    $("gm-desk-addnote").addEventListener("click", function () {
      if ($("gm-desk-note").value) g.deskAct("notes", { note: $("gm-desk-note").value });
    });
  };

  g.deskFilters = function () {
    var $ = function (id) { return document.getElementById(id); };
    return { kind: $("gm-desk-kind").value, severity: $("gm-desk-severity").value, state: $("gm-desk-state").value,
      agency: $("gm-desk-agency").value, hours: Number($("gm-desk-window").value), mine: $("gm-desk-mine").checked };
  };
  g.searchEvents = function () {
    return fetch(g.deskUrl + "?" + g.deskQuery(g.deskFilters(), Date.now()), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (d) { g.desk.rows = d.features || []; g.renderDeskList(); });
  };
  g.renderDeskList = function () {
    var list = document.getElementById("gm-desk-list");
    list.innerHTML = "";
    if (!g.desk.rows.length) {
      var none = document.createElement("li"); none.className = "gm-small"; none.textContent = g.t("no events match");
      list.appendChild(none); return;
    }
    g.desk.rows.forEach(function (f) {
      var p = f.properties, li = document.createElement("li");
      li.id = "gm-desk-ev-" + f.id; li.className = "gm-ev gm-" + p.severity + (p.state !== "new" ? " gm-acked" : "");
      li.innerHTML = '<span class="gm-time" title="' + g.esc(g.fmtDateTime(p.occurred_at)) + '">' + g.esc(g.fmtDateTime(p.occurred_at)) +
        "</span> <b>" + g.esc(g.eventKindText(p.kind)) + '</b> <small class="gm-data">' + g.esc(p.device_name || "") + " " +
        g.esc(p.agency || "") + "</small> <small>" + g.esc(g.stateText(p.state)) + "</small>";
      li.addEventListener("click", function () { g.openEvent(f.id); });
      list.appendChild(li);
    });
  };

  // Open one event in the desk: its details, who it may be assigned to, and its history.
  g.openEvent = function (id) {
    var body = document.getElementById("gm-desk-body");
    if (body.hidden) document.getElementById("gm-desk-head").click();
    document.getElementById("gm-desk-status").textContent = "";
    var one = g.deskUrl + "/" + encodeURIComponent(id);
    var get = function (u) { return fetch(u, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }); };
    return Promise.all([get(one), get(one + "/assignees"), get(one + "/history")]).then(function (res) {
      if (!res[0]) return;
      g.desk.event = res[0];
      g.renderEventDetail(res[0], (res[1] || { users: [] }).users, (res[2] || { entries: [] }).entries);
    });
  };
  g.renderEventDetail = function (f, users, history) {
    var p = f.properties, $ = function (id) { return document.getElementById(id); };
    $("gm-desk-detail").hidden = false;
    $("gm-desk-detail").dataset.eventId = String(f.id);
    $("gm-desk-title").textContent = g.eventKindText(p.kind) + (p.device_name ? " · " + p.device_name : "") + (p.zone_name ? " · " + p.zone_name : "");
    $("gm-desk-meta").textContent = [g.severityText(p.severity), g.stateText(p.state), g.fmtDateTime(p.occurred_at) + " (" + g.fmtAgo(p.occurred_at) + ")",
      p.assigned_to ? g.t("assigned to {user}", { user: p.assigned_to }) : g.t("not assigned")].join(" · ");
    var sel = $("gm-desk-assignee");
    sel.innerHTML = "";
    [{ name: "", label: g.t("nobody") }].concat(users.map(function (u) { return { name: u.name, label: u.name }; })).forEach(function (u) {
      var o = document.createElement("option"); o.value = u.name; o.textContent = u.label;
      if (u.name === (p.assigned_to || "")) o.selected = true;
      sel.appendChild(o);
    });
    var closed = p.state === "resolved";
    $("gm-desk-ack").disabled = p.state !== "new";
    $("gm-desk-assign").disabled = closed; $("gm-desk-resolve").disabled = closed;
    var ol = $("gm-desk-history");
    ol.innerHTML = "";
    history.forEach(function (h) {
      var li = document.createElement("li");
      li.innerHTML = '<span class="gm-time">' + g.esc(g.fmtDateTime(h.at)) + "</span> " + g.esc(g.historyText(h));
      ol.appendChild(li);
    });
  };
  g.deskAct = function (action, body) {
    var f = g.desk.event, status = document.getElementById("gm-desk-status");
    if (!f) return Promise.resolve();
    return fetch(g.deskUrl + "/" + encodeURIComponent(f.id) + "/" + action, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        if (!r.ok) { status.textContent = g.t("the server refused (HTTP {status})", { status: r.status }); return null; }
        document.getElementById("gm-desk-note").value = "";
        return r.json();
      })
      .then(function (row) {
        if (!row) return;
        if (row.properties.state !== "new" && g.events[row.id]) g.markAcked(row.id);
        return g.openEvent(row.id);
      });
  };

  // Every row of the events panel gets a button that opens it in the desk.
  if (g.addEvent && !g.addEvent.withDesk) {
    var addEvent = g.addEvent;
    g.addEvent = function (e) {
      var known = g.events[e.id];
      addEvent.apply(g, arguments);
      var li = !known && document.getElementById("gm-event-" + e.id);
      if (!li) return;
      var b = document.createElement("button");
      b.type = "button"; b.className = "gm-open"; b.textContent = g.t("Details");
      b.addEventListener("click", function (ev) { ev.stopPropagation(); g.openEvent(e.id); });
      li.appendChild(b);
    };
    g.addEvent.withDesk = true;
  }
  // Start with the page: wrap geomon.start so page.py needs no change.
  if (typeof window !== "undefined" && g.start && !g.start.withDesk) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initDesk(); };
    g.start.withDesk = true;
  }
})(geomon);
