// geomon situation map: today's patrol coverage of the highest-risk ground.
// Uses the newest risk or incident-density (KDE) surface the user may see (/api/v1/surfaces) and /api/v1/coverage for
// today (UTC): cells of the top 10 % risk that no team's track came within 500 m of are
// "uncovered" (red), the others "covered" (green). Refreshed every minute while shown.
"use strict";
window.geomon = window.geomon || {};

(function (g) {
  var STYLE = {
    covered: { color: "#1a9850", weight: 0.5, fillColor: "#1a9850", fillOpacity: 0.35 },
    uncovered: { color: "#d73027", weight: 0.5, fillColor: "#d73027", fillOpacity: 0.5 },
  };

  g.coverageUrl = function (surfaceId, now) {
    var end = now || new Date();
    var start = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()));
    return "/api/v1/coverage?surface_id=" + encodeURIComponent(surfaceId) +
      "&since=" + encodeURIComponent(start.toISOString()) +
      "&until=" + encodeURIComponent(end.toISOString()) + "&distance_m=500&top_pct=10";
  };

  g.coverageSummary = function (body) {
    var t = body.total || {};
    var share = t.share == null ? "–" : new Intl.NumberFormat(g.i18n.locale, { style: "percent" }).format(t.share);
    return g.t("High-risk ground covered today: {share}", { share: share });
  };

  g.initCoverage = function (map, layerControl) {
    var group = L.featureGroup();
    group.geomonLoaded = false;
    g.coverageLayer = group;
    if (layerControl) layerControl.addOverlay(group, g.t("Patrol coverage today (top 10 % risk)"));

    function load() {
      fetch("/api/v1/surfaces", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { surfaces: [] }; })
        .then(function (body) {
          // a risk surface, or an incident-density (KDE) surface: higher = riskier
          var risk = (body.surfaces || []).filter(function (s) {
            return s.kind === "risk" || s.kind === "kde";
          });
          if (!risk.length) { group.geomonStatus = g.t("no risk surface"); return null; }
          return fetch(g.coverageUrl(risk[0].id), { credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : null; });
        })
        .then(function (body) {
          if (!body || !body.layer) return;
          group.clearLayers();
          L.geoJSON(body.layer, {
            style: function (f) { return STYLE[f.properties.status] || STYLE.uncovered; },
          }).bindTooltip(g.coverageSummary(body)).addTo(group);
          group.geomonLoaded = true;
          group.geomonStatus = g.coverageSummary(body);
        })
        .catch(function () { group.geomonStatus = g.t("coverage unavailable"); });
    }
    var timer = null;
    map.on("overlayadd", function (e) {
      if (e.layer !== group) return;
      load();
      timer = setInterval(load, 60000);
    });
    map.on("overlayremove", function (e) {
      if (e.layer === group && timer) { clearInterval(timer); timer = null; }
    });
    return group;
  };
})(window.geomon);
