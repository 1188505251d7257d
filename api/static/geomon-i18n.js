// geomon situation map, part 0: messages and locale formats (loaded before every other part).
// Messages come from the server's gettext catalogue (geomon/i18n/locales/<lang>/.../messages.po),
// emitted into the page's config as {msgid: msgstr}; `pybabel extract` finds every geomon.t("…")
// / g.t("…") call here and in the other api/static/*.js files. Placeholders are named: {name}.
// Numbers, dates and "N min ago" use Intl with the user's locale and IANA time zone.
"use strict";
var geomon = (typeof window !== "undefined" ? (window.geomon = window.geomon || {}) : {});
if (typeof module !== "undefined") module.exports = geomon;

(function (g) {
  g.i18n = { locale: "en", timeZone: "UTC", messages: {} };
  g.setI18n = function (cfg) {
    g.i18n = { locale: cfg.locale || "en", timeZone: cfg.timeZone || "UTC", messages: cfg.messages || {},
      eventTitles: cfg.eventTitles || {}, languages: cfg.languages || [] };
    if (typeof document !== "undefined" && document.documentElement) document.documentElement.lang = g.i18n.locale;
  };
  // The language switch (top right): saved as the user's setting, then the page reloads in it.
  g.addLanguageSwitch = function (map, url) {
    var ctl = L.control({ position: "topright" });
    ctl.onAdd = function () {
      var el = L.DomUtil.create("div", "gm-panel gm-lang");
      var sel = L.DomUtil.create("select", "", el);
      sel.id = "gm-lang"; sel.title = g.t("Language");
      sel.setAttribute("aria-label", g.t("Language"));
      (g.i18n.languages || []).forEach(function (l) {
        var o = document.createElement("option"); o.value = l.code; o.textContent = l.name;
        if (l.code === g.i18n.locale) o.selected = true;
        sel.appendChild(o);
      });
      L.DomEvent.disableClickPropagation(el);
      sel.addEventListener("change", function () {
        fetch(url, { method: "PUT", credentials: "same-origin", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ locale: sel.value }) })
          .then(function (r) { if (r.ok) window.location.reload(); else sel.title = g.t("could not save the language (HTTP {status})", { status: r.status }); });
      });
      return el;
    };
    ctl.addTo(map);
    return ctl;
  };

  // The translation of msgid (the English text itself when the catalogue has none).
  g.t = function (msgid, params) {
    var s = Object.prototype.hasOwnProperty.call(g.i18n.messages, msgid) ? g.i18n.messages[msgid] : msgid;
    if (!params) return s;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return Object.prototype.hasOwnProperty.call(params, k) ? String(params[k]) : m; });
  };
  // Intl formatters are costly to build (the page formats 20,000 incident popups and 500
  // teams at load): one per kind, locale, zone and digits, built on first use.
  var formatters = {};
  g.formatter = function (kind, key, make) {
    var k = kind + "|" + g.i18n.locale + "|" + g.i18n.timeZone + "|" + key;
    return formatters[k] || (formatters[k] = make());
  };
  g.fmtNumber = function (x, digits) {
    if (x == null || isNaN(x)) return "–";
    var n = digits || 0;
    return g.formatter("number", n, function () {
      return new Intl.NumberFormat(g.i18n.locale, { maximumFractionDigits: n, minimumFractionDigits: n });
    }).format(x);
  };
  // A UTC ISO-8601 instant as local date-time in the user's zone, e.g. "07.12.2026, 11:26:23".
  g.fmtDateTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "–";
    return g.formatter("datetime", "", function () {
      return new Intl.DateTimeFormat(g.i18n.locale, { timeZone: g.i18n.timeZone, year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    }).format(d);
  };
  g.fmtTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "–";
    return g.formatter("time", "", function () {
      return new Intl.DateTimeFormat(g.i18n.locale, { timeZone: g.i18n.timeZone, hour: "2-digit", minute: "2-digit",
        second: "2-digit", hour12: false });
    }).format(d);
  };
  // "5 min ago" / "5 мин. назад": Intl.RelativeTimeFormat handles plurals per language.
  g.fmtAgo = function (iso, now) {
    var s = Math.max(0, Math.round(((now || Date.now()) - Date.parse(iso)) / 1000));
    var rtf = g.formatter("ago", "", function () {
      return new Intl.RelativeTimeFormat(g.i18n.locale, { numeric: "always", style: "short" });
    });
    if (s < 90) return rtf.format(-s, "second");
    if (s < 5400) return rtf.format(-Math.round(s / 60), "minute");
    if (s < 172800) return rtf.format(-Math.round(s / 3600), "hour");
    return rtf.format(-Math.round(s / 86400), "day");
  };
})(geomon);
