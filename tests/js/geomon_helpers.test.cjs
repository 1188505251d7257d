// Pure helpers of the situation map's JS, checked with node:test against hand-worked values.
// Run: node --test tests/js/   (tests/unit/test_map_js.py runs it under pytest)
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const g = require("../../api/static/geomon-events.js");

const R = 6378137;  // Leaflet's sphere

test("speeds are shown in km/h from m/s", () => {
  assert.equal(g.kmh(25), "90 km/h");
  assert.equal(g.kmh(0), "0 km/h");
  assert.equal(g.kmh(null), "–");
});

test("fix age reads in seconds, minutes, hours", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  // Intl.RelativeTimeFormat (short style) words it in the page's language
  assert.equal(g.ageText("2026-01-01T11:59:30Z", now), "30 sec. ago");
  assert.equal(g.ageText("2026-01-01T11:50:00Z", now), "10 min. ago");
  assert.equal(g.ageText("2026-01-01T09:00:00Z", now), "3 hr. ago");
  assert.equal(g.ageText("2026-01-01T12:00:05Z", now), "0 sec. ago");  // clock skew never negative
});

test("a team is silent only after silentAfterS without a fix", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  assert.equal(g.isSilent({ fix_time: "2026-01-01T11:55:01Z" }, 300, now), false);
  assert.equal(g.isSilent({ fix_time: "2026-01-01T11:54:59Z" }, 300, now), true);
});

test("popup text is escaped and shows battery and signal when known", () => {
  const html = g.popupHtml({ name: "<b>x</b>", uid: "U1", agency: "KAZ-BS", kind: "phone",
    speed_mps: 10, course_deg: 89.6, fix_time: "2026-01-01T11:59:00Z", battery: 71, gsm_signal: 3 },
    Date.parse("2026-01-01T12:00:00Z"));
  assert.ok(html.includes("&lt;b&gt;x&lt;/b&gt;"));
  assert.ok(!html.includes("<b>x</b>"));
  assert.ok(html.includes("36 km/h") && html.includes("course 90°"));
  assert.ok(html.includes("battery 71") && html.includes("signal 3") && html.includes("60 sec. ago"));
});

test("messages, numbers and times follow the page's language and the user's zone", () => {
  const now = Date.parse("2026-12-06T21:30:23Z");
  g.setI18n({ locale: "ru", timeZone: "Asia/Bishkek", messages: {
    "{speed} km/h": "{speed} км/ч", "speed {speed}": "скорость {speed}", "{n} km": "{n} км",
    "fix {time} ({ago})": "координаты {time} ({ago})", "phone": "телефон" } });
  try {
    assert.equal(g.kmh(25), "90 км/ч");
    assert.equal(g.distanceText(12345), "12,35 км");           // Russian decimal comma
    assert.equal(g.t("no such message {x}", { x: 1 }), "no such message 1");  // falls back to English
    assert.equal(g.fmtDateTime("2026-12-06T21:26:23.789000+00:00"), "07.12.2026, 03:26:23");  // UTC+6
    assert.equal(g.ageText("2026-12-06T21:26:23Z", now), "4 мин. назад");
    const html = g.popupHtml({ name: "A", uid: "U", agency: "KGZ-BS", kind: "phone", speed_mps: 10,
      fix_time: "2026-12-06T21:26:23Z" }, now);
    assert.ok(html.includes("скорость 36 км/ч") && html.includes("телефон"), html);
    assert.ok(html.includes("координаты 07.12.2026, 03:26:23 (4 мин. назад)"), html);
    g.setI18n({ locale: "ru", timeZone: "Asia/Tashkent", messages: {} });  // UTC+5
    assert.equal(g.fmtDateTime("2026-12-06T21:26:23Z"), "07.12.2026, 02:26:23");
  } finally {
    g.setI18n({ locale: "en", timeZone: "UTC", messages: {} });
  }
});

test("agency colours are stable and spread", () => {
  assert.equal(g.agencyColour("KAZ-BS"), g.agencyColour("KAZ-BS"));
  const codes = ["KAZ-BS", "KGZ-BS", "TJK-BS", "TKM-BS", "UZB-BS"];
  assert.ok(new Set(codes.map(g.agencyColour)).size >= 3);
});

test("great-circle distances on Leaflet's sphere", () => {
  // one degree of latitude = 2πR/360
  assert.ok(Math.abs(g.haversineM([40, 70], [41, 70]) - 2 * Math.PI * R / 360) < 1e-6);
  // one degree of longitude at 60° N = 2πR·cos60°/360
  assert.ok(Math.abs(g.haversineM([60, 10], [60, 11]) - Math.PI * R / 360) < 1.5);  // chord vs arc: < 2 m
  // a quarter meridian
  assert.ok(Math.abs(g.haversineM([0, 0], [90, 0]) - Math.PI * R / 2) < 1e-6);
  assert.equal(g.pathLengthM([[0, 0]]), 0);
  assert.ok(Math.abs(g.pathLengthM([[0, 0], [1, 0], [2, 0]]) - 2 * 2 * Math.PI * R / 360) < 1e-6);
  assert.equal(g.distanceText(950), "950 m");
  assert.equal(g.distanceText(12345), "12.35 km");
});

test("place search matches names and alternative names, ignoring case and accents", () => {
  const places = [
    { id: 1, name: "Dostyk", alt_names: ["Druzhba", "Достық"] },
    { id: 2, name: "Nizhny Panj", alt_names: ["Panji Poyon"] },
    { id: 3, name: "Khorgos", alt_names: [] },
  ];
  assert.deepEqual(g.matchPlaces(places, "druzh").map((h) => h.place.id), [1]);
  assert.equal(g.matchPlaces(places, "druzh")[0].matched, "Druzhba");
  assert.deepEqual(g.matchPlaces(places, "PÁNJ").map((h) => h.place.id), [2]);
  assert.deepEqual(g.matchPlaces(places, "Достық").map((h) => h.place.id), [1]);
  assert.deepEqual(g.matchPlaces(places, "  "), []);
  assert.equal(g.matchPlaces(places, "o", 2).length, 2);
});

test("replay position interpolates linearly in time and clamps at the ends", () => {
  const fixes = [[1000, 40, 70], [2000, 41, 72], [4000, 41, 74]];
  assert.deepEqual(g.positionAt(fixes, 0), [40, 70]);
  assert.deepEqual(g.positionAt(fixes, 1500), [40.5, 71]);
  assert.deepEqual(g.positionAt(fixes, 3000), [41, 73]);
  assert.deepEqual(g.positionAt(fixes, 9999), [41, 74]);
  assert.equal(g.positionAt([], 5), null);
});

test("nearest place and URL templates", () => {
  const places = [{ name: "A", lat: 40, lon: 70 }, { name: "B", lat: 41, lon: 70 }];
  const hit = g.nearestPlace(places, 40.9, 70);
  assert.equal(hit.place.name, "B");
  assert.ok(Math.abs(hit.distanceM - 0.1 * 2 * Math.PI * R / 360) < 1e-3);
  assert.equal(g.fillUrl("/api/v1/events/{id}/acknowledge", 42), "/api/v1/events/42/acknowledge");
});

test("an event feature from the live stream becomes a panel row", () => {
  g.teamLayers[7] = { feature: { properties: { uid: "TEAM-07", name: "Team 7" } } };
  const row = g.eventFromFeature({ type: "Feature", id: 9, geometry: { type: "Point", coordinates: [70.5, 40.25] },
    properties: { kind: "zone_enter", severity: "warning", state: "new", occurred_at: "2026-01-01T12:00:00+00:00",
      device_id: 7, zone_id: 3, agency: "KAZ-BS" } });
  assert.equal(row.id, 9);
  assert.equal(row.lat, 40.25);
  assert.equal(row.lon, 70.5);
  assert.equal(row.device, "Team 7");
  assert.equal(g.eventTitle(row), "zone enter · Team 7 · zone 3");
  delete g.teamLayers[7];
});

test("plate events name the plate in their title", () => {
  const hit = g.eventFromFeature({ type: "Feature", id: 10, geometry: null,
    properties: { kind: "watchlist_hit", severity: "critical", state: "new",
      occurred_at: "2026-01-01T12:00:00+00:00", attrs: { plate_norm: "777KZA02" } } });
  assert.equal(g.eventTitle(hit), "watchlist hit · 777KZA02");
  const convoy = { kind: "plate_convoy", attrs: { plates: ["512ABK05", "513ABK05"] } };
  assert.equal(g.eventTitle(convoy), "plate convoy · 512ABK05 + 513ABK05");
});

test("the event desk's filters become the events query", () => {
  const d = require("../../api/static/geomon-desk.js");
  const now = Date.parse("2026-01-01T12:00:00Z");
  assert.equal(
    d.deskQuery({ kind: "border_cross", severity: "critical", state: "open", agency: "KGZ-BS, TJK-BS", hours: 6 }, now),
    "kind=border_cross&severity=critical&state=new&state=acknowledged&agency=KGZ-BS&agency=TJK-BS" +
      "&since=2026-01-01T06%3A00%3A00.000Z&limit=200");
  assert.equal(d.deskQuery({ state: "", hours: 0 }, now), "limit=200");
  d.me = { user: "duty-1" };
  assert.equal(d.deskQuery({ mine: true, state: "resolved" }, now), "state=resolved&assigned_to=duty-1&limit=200");
  assert.equal(d.historyText({ action: "assign", by: "a", note: "go", detail: { assigned_to: "b" } }), "a assigned it to b: go");
  assert.equal(d.historyText({ action: "resolve", by: "a", note: "" }), "resolved by a");
});

test("the dashboard's buckets and the incidents filter", () => {
  const d = require("../../api/static/geomon-dashboard.js");
  const now = Date.parse("2026-01-10T12:34:56Z");
  const hours = d.hourStarts(3, now);
  assert.deepEqual(hours, ["2026-01-10T10:00:00.000Z", "2026-01-10T11:00:00.000Z", "2026-01-10T12:00:00.000Z"]);
  const s = d.bucketSeries([
    { at: "2026-01-10T10:00:00+00:00", kind: "silent", count: 1 },
    { at: "2026-01-10T12:00:00+00:00", kind: "border_cross", count: 4 },
    { at: "2026-01-10T12:00:00+00:00", kind: "silent", count: 2 },
    { at: "2026-01-09T12:00:00+00:00", kind: "silent", count: 9 },  // outside the window
  ], "kind", hours);
  assert.deepEqual(s.keys, ["border_cross", "silent"]);
  assert.deepEqual(s.series.silent, [1, 0, 2]);
  assert.deepEqual(s.series.border_cross, [0, 0, 4]);
  const row = (cat, day) => [0, 0, cat, null, null, day];
  assert.equal(d.incidentPasses(row("seizure", "2026-01-10"), 1, "", now), true);
  assert.equal(d.incidentPasses(row("seizure", "2026-01-09"), 1, "", now), false);
  assert.equal(d.incidentPasses(row("seizure", "2026-01-04"), 7, "seizure", now), true);
  assert.equal(d.incidentPasses(row("seizure", "2026-01-03"), 7, "seizure", now), false);
  assert.equal(d.incidentPasses(row("detention", "2020-01-01"), 0, "seizure", now), false);
  assert.equal(d.incidentPasses(row("detention", "2020-01-01"), 0, "", now), true);
  // Bishkek is UTC+6: at 12:34:56 UTC it is 18:34:56 there; midnight was at 18:00 UTC the day before
  assert.equal(d.secondsIntoDay(now, "Asia/Bishkek"), 18 * 3600 + 34 * 60 + 56);
  assert.equal(d.localMidnight(now, "Asia/Bishkek").toISOString(), "2026-01-09T18:00:00.000Z");
});

test("a run from the map: its request body and EHSA colours", () => {
  const a = require("../../api/static/geomon-analysis.js");
  const area = { type: "Polygon", coordinates: [[[69, 37], [70, 37], [70, 38], [69, 37]]] };
  assert.deepEqual(a.runBody({ kind: "gistar", since: "2026-01-01", until: "2026-12-08", cellKm: 10, area: area, bbox: [1, 2, 3, 4] }), {
    kind: "gistar", cell_size: 10000,
    filter: { layer: "incidents", since: "2026-01-01T00:00:00Z", until: "2026-12-08T00:00:00Z", aoi: area } });
  assert.deepEqual(a.runBody({ kind: "ehsa", cellKm: 5, bbox: [1, 2, 3, 4] }),
    { kind: "ehsa", cell_size: 5000, step: "month", filter: { layer: "incidents", bbox: [1, 2, 3, 4] } });
  assert.equal(a.ehsaColour("no pattern"), null);
  assert.equal(a.ehsaColour("persistent hot spot"), "#de2d26");
  assert.equal(a.ehsaColour("persistent cold spot"), "#3182bd");
});

test("a zone's rules from the admin form", () => {
  const a = require("../../api/static/geomon-admin.js");
  assert.deepEqual(a.zoneRules("critical", ""), { enter: "critical" });
  assert.deepEqual(a.zoneRules("", "off"), { exit: "off" });
  assert.deepEqual(a.zoneRules("", ""), {});
});
