// geomon situation map: team markers stacked on one spot spread out on click. Clicking a team
// whose marker covers others (within a few pixels at this zoom) shows each of them on a small
// circle around the spot, joined to it by a leg; clicking one opens that team's popup and
// follows it; a click on the map or a zoom folds them back. The real markers never move (live
// updates go on underneath). Pure helper spreadOffsets is tested with node:test in tests/js/.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : require("./geomon-i18n.js"));
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.STACK_PX = 12;  // markers closer than this on screen cannot be told apart
  // Pixel offsets of n markers on a circle around their spot, the first one straight up.
  g.spreadOffsets = function (n) {
    var r = Math.max(30, n * 7), out = [];
    for (var i = 0; i < n; i++) {
      var a = 2 * Math.PI * i / n - Math.PI / 2;
      out.push([Math.round(r * Math.cos(a)), Math.round(r * Math.sin(a))]);
    }
    return out;
  };

  // Ids of the team markers on the map within STACK_PX of team ``id``'s marker (itself first).
  g.stackedWith = function (id) {
    var map = g.map, m = g.teamLayers[id];
    if (!map || !m || !map.hasLayer(m)) return [];
    var p0 = map.latLngToLayerPoint(m.getLatLng()), out = [String(id)];
    Object.keys(g.teamLayers).forEach(function (k) {
      var other = g.teamLayers[k];
      if (String(k) === String(id) || !map.hasLayer(other)) return;
      if (map.latLngToLayerPoint(other.getLatLng()).distanceTo(p0) <= g.STACK_PX) out.push(String(k));
    });
    return out;
  };

  g.unspread = function () {
    if (g.spreadGroup) { g.spreadGroup.remove(); g.spreadGroup = null; }
  };

  // Spread the teams ``ids`` around the first one's spot.
  g.spread = function (ids) {
    g.unspread();
    var map = g.map, centre = g.teamLayers[ids[0]].getLatLng(), c = map.latLngToLayerPoint(centre);
    var group = L.layerGroup().addTo(map), offsets = g.spreadOffsets(ids.length);
    ids.forEach(function (id, i) {
      var m = g.teamLayers[id], p = m.feature.properties;
      var at = map.layerPointToLatLng(c.add(L.point(offsets[i][0], offsets[i][1])));
      L.polyline([centre, at], { color: "#333", weight: 1, opacity: 0.8, interactive: false }).addTo(group);
      var ghost = L.marker(at, { icon: g.teamIcon(p, g.isSilent(p, g.config.silentAfterS)), pane: "gm-teams",
        title: String(p.name), zIndexOffset: 1000 });
      ghost.gmTeamId = id;
      ghost.bindTooltip(String(p.name), { direction: "right" });
      ghost.on("click", function () { g.unspread(); g.follow(m.feature.id); m.openPopup(); });
      ghost.addTo(group);
    });
    g.spreadGroup = group;
    map.once("click zoomstart", g.unspread);
    return group;
  };

  // Called by a team marker's click (geomon-map.js): true when it spread a stack instead.
  g.spreadIfStacked = function (id, marker) {
    var ids = g.stackedWith(id);
    if (ids.length < 2) return false;
    marker.closePopup();
    g.spread(ids);
    return true;
  };
})(geomon);
