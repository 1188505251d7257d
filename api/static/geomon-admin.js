// geomon situation map: the admin pages, for admins only. Users (create with a one-time
// password, role, lock/unlock, reset password), devices (register with an ingest token shown
// once, a new token), zones (draw and edit polygons on the map with geoman, kind and rules).
// APIs: /api/v1/admin/users, /api/v1/admin/devices, /api/v1/zones. Every change is audited.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-analysis.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.admin = { tab: "users", users: [], devices: [], zones: [], editing: null, drawn: null };
  var SEVERITIES = ["", "off", "info", "warning", "critical"];
  var KINDS = ["patrol_area", "restricted", "border_strip", "crossing_point"];

  g.roleText = function (r) { return { viewer: g.t("viewer"), analyst: g.t("analyst"), admin: g.t("admin") }[r] || r; };
  g.zoneKindText = function (k) {
    return { patrol_area: g.t("patrol area"), restricted: g.t("restricted area"), border_strip: g.t("border strip"),
      crossing_point: g.t("crossing point") }[k] || k;
  };
  g.severityChoice = function (s) { return s === "" ? g.t("default") : s === "off" ? g.t("off") : g.severityText(s); };
  // Pure (node:test): a zone's rules from the form ("" = the default, left out).
  g.zoneRules = function (enter, exit) {
    var r = {};
    if (enter) r.enter = enter;
    if (exit) r.exit = exit;
    return r;
  };

  var opt = function (v, text, selected) {
    return '<option value="' + g.esc(v) + '"' + (selected ? " selected" : "") + ">" + g.esc(text) + "</option>";
  };
  g.adminHtml = function () {
    var tab = function (id, text) { return '<button type="button" class="gm-tab" id="gm-admin-tab-' + id + '">' + g.esc(text) + "</button>"; };
    return '<div class="gm-head" id="gm-admin-head">' + g.esc(g.t("Administration")) + '</div><div id="gm-admin-body">' +
      '<div class="gm-row">' + tab("users", g.t("Users")) + tab("devices", g.t("Devices")) + tab("zones", g.t("Zones")) + "</div>" +
      '<div id="gm-admin-secret" class="gm-secret" hidden></div>' +
      // users
      '<div id="gm-admin-users"><div class="gm-row"><input id="gm-user-name" autocomplete="off" placeholder="' + g.esc(g.t("User name")) +
      '" aria-label="' + g.esc(g.t("User name")) + '"><select id="gm-user-role" aria-label="' + g.esc(g.t("Role")) + '">' +
      ["viewer", "analyst", "admin"].map(function (r) { return opt(r, g.roleText(r)); }).join("") + '</select><input id="gm-user-agency" size="7" placeholder="' +
      g.esc(g.t("Agency")) + '" aria-label="' + g.esc(g.t("Agency")) + '"><button id="gm-user-create" type="button">' + g.esc(g.t("Create")) +
      '</button></div><ul id="gm-user-list" class="gm-list"></ul></div>' +
      // devices
      '<div id="gm-admin-devices" hidden><div class="gm-row"><input id="gm-dev-uid" autocomplete="off" placeholder="' + g.esc(g.t("Device id (IMEI)")) +
      '" aria-label="' + g.esc(g.t("Device id (IMEI)")) + '"><select id="gm-dev-kind" aria-label="' + g.esc(g.t("Kind")) + '">' +
      ["tracker", "phone", "serial-gps", "sensor"].map(function (k) { return opt(k, g.deviceKindText(k)); }).join("") + '</select><input id="gm-dev-name" placeholder="' +
      g.esc(g.t("Name")) + '" aria-label="' + g.esc(g.t("Name")) + '"><button id="gm-dev-create" type="button">' + g.esc(g.t("Register")) +
      '</button></div><ul id="gm-dev-list" class="gm-list"></ul></div>' +
      // zones
      '<div id="gm-admin-zones" hidden><div class="gm-row"><input id="gm-zone-name" autocomplete="off" placeholder="' + g.esc(g.t("Zone name")) +
      '" aria-label="' + g.esc(g.t("Zone name")) + '"><select id="gm-zone-kind" aria-label="' + g.esc(g.t("Kind")) + '">' +
      KINDS.map(function (k) { return opt(k, g.zoneKindText(k)); }).join("") + "</select></div>" +
      '<div class="gm-row"><label>' + g.esc(g.t("on entry")) + ' <select id="gm-zone-enter">' + SEVERITIES.map(function (s) { return opt(s, g.severityChoice(s)); }).join("") +
      '</select></label><label>' + g.esc(g.t("on exit")) + ' <select id="gm-zone-exit">' + SEVERITIES.map(function (s) { return opt(s, g.severityChoice(s)); }).join("") +
      '</select></label></div><div class="gm-row"><button id="gm-zone-draw" type="button">' + g.esc(g.t("Draw zone")) +
      '</button><button id="gm-zone-save" type="button" disabled>' + g.esc(g.t("Save zone")) + '</button><button id="gm-zone-cancel" type="button">' +
      g.esc(g.t("Cancel")) + '</button></div><div id="gm-zone-status" class="gm-small"></div><ul id="gm-zone-list" class="gm-list"></ul></div>' +
      '<div id="gm-admin-status" class="gm-small" role="status"></div></div>';
  };

  g.initAdmin = function () {
    var el = document.createElement("div");
    el.id = "gm-admin"; el.className = "gm-panel gm-admin"; el.hidden = true;
    el.innerHTML = g.adminHtml();
    document.body.appendChild(el);
    g.panelControl("gm-admin", "topright");
    g.collapsible("gm-admin-head", "gm-admin-body", true);
    g.admin.group = L.featureGroup().addTo(g.map);
    var $ = function (id) { return document.getElementById(id); };
    ["users", "devices", "zones"].forEach(function (t) { $("gm-admin-tab-" + t).addEventListener("click", function () { g.adminTab(t); }); });
    $("gm-user-create").addEventListener("click", g.createUser);
    $("gm-dev-create").addEventListener("click", g.registerDevice);
    $("gm-zone-draw").addEventListener("click", g.drawZone);
    $("gm-zone-save").addEventListener("click", g.saveZone);
    $("gm-zone-cancel").addEventListener("click", g.cancelZone);
    $("gm-admin-head").addEventListener("click", function () { if (!$("gm-admin-body").hidden) g.adminTab(g.admin.tab); });
    // admins only (the API refuses everyone else with 403 anyway)
    g.getJson(g.meUrl).then(function (me) { if (me && me.role === "admin") el.hidden = false; }).catch(function () { /* stays hidden */ });
  };

  g.adminTab = function (t) {
    g.admin.tab = t;
    ["users", "devices", "zones"].forEach(function (x) {
      document.getElementById("gm-admin-" + x).hidden = x !== t;
      document.getElementById("gm-admin-tab-" + x).classList.toggle("gm-on", x === t);
    });
    return ({ users: g.loadUsers, devices: g.loadDevices, zones: g.loadZones })[t]();
  };
  g.adminSend = function (method, url, body) {
    var status = document.getElementById("gm-admin-status");
    status.textContent = "";
    return fetch(url, { method: method, credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          if (r.ok) return d;
          var detail = typeof d.detail === "string" ? ": " + d.detail : "";
          status.textContent = g.t("the server refused (HTTP {status})", { status: r.status }) + detail;
          return null;
        });
      });
  };
  // A one-time password or ingest token: shown here once; the server keeps only its hash.
  g.showSecret = function (label, value) {
    var box = document.getElementById("gm-admin-secret");
    box.hidden = false;
    box.innerHTML = "<b>" + g.esc(label) + '</b> <code id="gm-admin-secret-value">' + g.esc(value) + "</code><br><small>" +
      g.esc(g.t("Shown once: copy it now. Only its hash is stored.")) + "</small>";
  };

  // ---- users ----
  g.loadUsers = function () {
    return g.getJson("/api/v1/admin/users").then(function (d) { g.admin.users = (d && d.users) || []; g.renderUsers(); });
  };
  g.renderUsers = function () {
    var list = document.getElementById("gm-user-list");
    list.innerHTML = "";
    g.admin.users.forEach(function (u) {
      var li = document.createElement("li");
      li.id = "gm-user-" + u.id;
      var state = u.disabled ? g.t("disabled") : u.locked ? g.t("locked") : u.must_change_password ? g.t("must change password") : g.t("active");
      li.innerHTML = '<b class="gm-data">' + g.esc(u.name) + '</b> <small class="gm-data">' + g.esc(u.agency || "") + '</small> <small class="gm-user-state">' +
        g.esc(state) + '</small><div class="gm-row"><select class="gm-user-role" aria-label="' + g.esc(g.t("Role")) + '">' +
        ["viewer", "analyst", "admin"].map(function (r) { return opt(r, g.roleText(r), r === u.role); }).join("") + "</select>" +
        '<button type="button" class="gm-user-lock">' + g.esc(u.locked ? g.t("Unlock") : g.t("Lock")) + "</button>" +
        '<button type="button" class="gm-user-reset">' + g.esc(g.t("Reset password")) + "</button></div>";
      li.querySelector(".gm-user-role").addEventListener("change", function (e) {
        g.adminSend("PATCH", "/api/v1/admin/users/" + u.id, { role: e.target.value }).then(g.loadUsers);
      });
      li.querySelector(".gm-user-lock").addEventListener("click", function () {
        g.adminSend("PATCH", "/api/v1/admin/users/" + u.id, { locked: !u.locked }).then(g.loadUsers);
      });
      li.querySelector(".gm-user-reset").addEventListener("click", function () {
        g.adminSend("POST", "/api/v1/admin/users/" + u.id + "/password").then(function (d) {
          if (d) g.showSecret(g.t("One-time password for {user}:", { user: u.name }), d.password);
          return g.loadUsers();
        });
      });
      list.appendChild(li);
    });
  };
  g.createUser = function () {
    var $ = function (id) { return document.getElementById(id); };
    var body = { name: $("gm-user-name").value.trim(), role: $("gm-user-role").value, agency: $("gm-user-agency").value.trim() || null };
    return g.adminSend("POST", "/api/v1/admin/users", body).then(function (d) {
      if (!d) return null;
      $("gm-user-name").value = "";
      g.showSecret(g.t("One-time password for {user}:", { user: d.name }), d.password);
      return g.loadUsers();
    });
  };

  // ---- devices ----
  g.loadDevices = function () {
    return g.getJson("/api/v1/admin/devices").then(function (d) { g.admin.devices = (d && d.devices) || []; g.renderDevices(); });
  };
  g.renderDevices = function () {
    var list = document.getElementById("gm-dev-list");
    list.innerHTML = "";
    g.admin.devices.forEach(function (d) {
      var li = document.createElement("li");
      li.id = "gm-dev-" + d.id;
      li.innerHTML = '<b class="gm-data">' + g.esc(d.name) + '</b> <small class="gm-data">' + g.esc(d.uid) + " · " + g.esc(d.kind) + " · " +
        g.esc(d.agency) + "</small> <small>" + g.esc(d.has_token ? g.t("has an ingest token") : g.t("no ingest token")) +
        '</small> <button type="button" class="gm-dev-token">' + g.esc(g.t("New token")) + "</button>";
      li.querySelector(".gm-dev-token").addEventListener("click", function () {
        g.adminSend("POST", "/api/v1/admin/devices/" + d.id + "/token").then(function (r) {
          if (r) g.showSecret(g.t("Ingest token for {device}:", { device: d.uid }), r.token);
          return g.loadDevices();
        });
      });
      list.appendChild(li);
    });
  };
  g.registerDevice = function () {
    var $ = function (id) { return document.getElementById(id); };
    var body = { uid: $("gm-dev-uid").value.trim(), kind: $("gm-dev-kind").value, name: $("gm-dev-name").value.trim() || null, token: true };
    return g.adminSend("POST", "/api/v1/admin/devices", body).then(function (d) {
      if (!d) return null;
      $("gm-dev-uid").value = ""; $("gm-dev-name").value = "";
      g.showSecret(g.t("Ingest token for {device}:", { device: d.uid }), d.token);
      return g.loadDevices();
    });
  };

  // ---- zones ----
  g.loadZones = function () {
    return g.getJson("/api/v1/zones?limit=1000").then(function (fc) {
      g.admin.zones = (fc && fc.features) || [];
      g.renderZones();
    });
  };
  g.renderZones = function () {
    var list = document.getElementById("gm-zone-list");
    list.innerHTML = "";
    g.admin.zones.forEach(function (f) {
      var p = f.properties, rules = (p.attrs && p.attrs.rules) || {};
      var li = document.createElement("li");
      li.id = "gm-zone-" + f.id;
      li.innerHTML = '<b class="gm-data">' + g.esc(p.name) + "</b> <small>" + g.esc(g.zoneKindText(p.kind)) +
        (rules.enter ? " · " + g.esc(g.t("on entry")) + ": " + g.esc(g.severityChoice(rules.enter)) : "") +
        (rules.exit ? " · " + g.esc(g.t("on exit")) + ": " + g.esc(g.severityChoice(rules.exit)) : "") +
        '</small> <button type="button" class="gm-zone-edit">' + g.esc(g.t("Edit")) + "</button>";
      li.querySelector(".gm-zone-edit").addEventListener("click", function () { g.editZone(f); });
      list.appendChild(li);
    });
  };
  g.zoneStatus = function (text) { document.getElementById("gm-zone-status").textContent = text; };
  g.cancelZone = function () {
    if (g.map.pm) { g.map.pm.disableDraw(); }
    g.admin.group.clearLayers();
    g.admin.drawn = null; g.admin.editing = null;
    document.getElementById("gm-zone-save").disabled = true;
    g.zoneStatus("");
  };
  g.drawZone = function () {
    if (!g.ensureDrawing()) return;
    g.cancelZone();
    g.map.once("pm:create", function (e) {
      g.map.pm.disableDraw();
      g.map.removeLayer(e.layer);
      g.admin.drawn = e.layer.addTo(g.admin.group);
      e.layer.pm.enable({ allowSelfIntersection: false });  // corners stay draggable until saved
      document.getElementById("gm-zone-save").disabled = false;
      g.zoneStatus(g.t("Drag the corners to adjust, then save"));
    });
    g.map.pm.enableDraw("Polygon", { snappable: false, allowSelfIntersection: false });
    g.zoneStatus(g.t("Click the corners on the map; click the first corner to close"));
  };
  g.editZone = function (f) {
    if (!g.ensureDrawing()) return;
    g.cancelZone();
    var $ = function (id) { return document.getElementById(id); }, p = f.properties, rules = (p.attrs && p.attrs.rules) || {};
    $("gm-zone-name").value = p.name; $("gm-zone-kind").value = p.kind;
    $("gm-zone-enter").value = rules.enter || ""; $("gm-zone-exit").value = rules.exit || "";
    var layer = null;
    L.geoJSON(f.geometry).eachLayer(function (l) { layer = layer || l; });
    if (!layer) return;
    L.PM.reInitLayer(layer);
    g.admin.drawn = layer.addTo(g.admin.group);
    g.admin.editing = f;
    layer.pm.enable({ allowSelfIntersection: false });
    g.map.fitBounds(layer.getBounds(), { maxZoom: 13, animate: false });
    $("gm-zone-save").disabled = false;
    g.zoneStatus(g.t("Editing {zone}: drag the corners, then save", { zone: p.name }));
  };
  g.saveZone = function () {
    var $ = function (id) { return document.getElementById(id); }, a = g.admin;
    if (!a.drawn) return Promise.resolve(null);
    var feature = a.drawn.toGeoJSON(), base = a.editing ? a.editing.properties.attrs || {} : {};
    var attrs = Object.assign({}, base, { rules: Object.assign({}, base.rules || {}, g.zoneRules($("gm-zone-enter").value, $("gm-zone-exit").value)) });
    if (!$("gm-zone-enter").value) delete attrs.rules.enter;
    if (!$("gm-zone-exit").value) delete attrs.rules.exit;
    var body = { name: $("gm-zone-name").value.trim(), kind: $("gm-zone-kind").value, geometry: feature.geometry, attrs: attrs };
    var req = a.editing ? g.adminSend("PATCH", "/api/v1/zones/" + a.editing.id, body) : g.adminSend("POST", "/api/v1/zones", body);
    return req.then(function (z) {
      if (!z) return null;
      g.cancelZone();
      L.geoJSON(z, { style: { color: "#1b7837", weight: 2, fillOpacity: 0.15 } }).bindTooltip(z.properties.name).addTo(a.group);
      g.zoneStatus(g.t("Zone {zone} saved", { zone: z.properties.name }));
      return g.loadZones();
    });
  };

  if (typeof window !== "undefined" && g.start && !g.start.withAdmin) {
    var start = g.start;
    g.start = function () { start.apply(g, arguments); g.initAdmin(); };
    g.start.withAdmin = true;
  }
})(geomon);
