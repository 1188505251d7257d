// geomon situation map: small helpers the folium page calls (kept here, tested in a browser).
"use strict";
window.geomon = window.geomon || {};

(function (g) {
  // Knots are not used anywhere in the UI: speeds arrive in m/s and are shown in km/h.
  g.kmh = function (mps) { return mps == null ? "–" : (mps * 3.6).toFixed(0) + " km/h"; };

  g.ageText = function (iso, now) {
    var s = Math.max(0, Math.round(((now || Date.now()) - Date.parse(iso)) / 1000));
    if (s < 90) return s + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    return Math.round(s / 3600) + " h ago";
  };

  g.isSilent = function (props, silentAfterS, now) {
    return ((now || Date.now()) - Date.parse(props.fix_time)) / 1000 > silentAfterS;
  };

  g.popupHtml = function (p) {
    var esc = function (v) {
      return String(v == null ? "–" : v).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    };
    return "<b>" + esc(p.name) + "</b><br>" + esc(p.agency) + " · " + esc(p.kind) +
      "<br>speed " + esc(g.kmh(p.speed_mps)) + (p.course_deg == null ? "" : " · course " + esc(Math.round(p.course_deg)) + "°") +
      "<br>fix " + esc(p.fix_time) + " (" + esc(g.ageText(p.fix_time)) + ")";
  };

  g.teamStyle = function (p, silentAfterS) {
    var silent = g.isSilent(p, silentAfterS);
    return { radius: 7, weight: 2, color: silent ? "#666" : "#08306b",
             fillColor: silent ? "#bbb" : g.agencyColour(p.agency), fillOpacity: 0.9 };
  };

  var palette = ["#e6550d", "#31a354", "#756bb1", "#3182bd", "#de2d26", "#636363", "#fd8d3c", "#17becf"];
  g.agencyColour = function (agency) {
    var h = 0, s = String(agency || "");
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return palette[h % palette.length];
  };

  // Realtime hooks: markers are keyed by device id; popups are refreshed from the feature on
  // every update (Leaflet.Realtime only moves the marker by default).
  g.teamLayers = {};
  g.pointToLayer = function (silentAfterS) {
    return function (feature, latlng) {
      var m = L.circleMarker(latlng, g.teamStyle(feature.properties, silentAfterS));
      m.bindPopup(g.popupHtml(feature.properties));
      m.bindTooltip(String(feature.properties.name), { direction: "top" });
      g.teamLayers[feature.id] = m;
      return m;
    };
  };
  g.updateFeature = function (silentAfterS) {
    return function (feature, oldLayer) {
      if (!oldLayer) return undefined;
      var c = feature.geometry.coordinates;
      oldLayer.setLatLng([c[1], c[0]]);
      oldLayer.setStyle(g.teamStyle(feature.properties, silentAfterS));
      oldLayer.setPopupContent(g.popupHtml(feature.properties));
      oldLayer.feature = feature;
      g.teamLayers[feature.id] = oldLayer;
      return oldLayer;
    };
  };
})(window.geomon);
