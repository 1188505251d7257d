// Pure helpers of the forecast layer and chart (api/static/geomon-forecast.js), hand-worked.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const g = require("../../api/static/geomon-forecast.js");

test("class breaks split the positive expected counts at their quartiles", () => {
  assert.deepEqual(g.forecastBreaks([null, 0, 1, 2, 3, 4, 5, 6, 7, 8]), [3, 5, 7, 8]);
  assert.deepEqual(g.forecastBreaks([2, 2, 2, 2]), [2]);  // ties collapse, breaks stay increasing
  assert.deepEqual(g.forecastBreaks([0, null]), []);
  assert.equal(g.forecastShade(2.5, [3, 5]), "#fee6ce");
  assert.equal(g.forecastShade(4, [3, 5]), "#fdae6b");
  assert.equal(g.forecastShade(9, [3, 5]), "#fd8d3c");
});

test("untrusted locations are hatched grey, those without data outlined only", () => {
  const ok = { status: "ok", trusted: true, forecast: [1, 9], expected_next: 1 };
  assert.equal(g.forecastStyle(ok, 1, [3, 5]).fillColor, "#fd8d3c");  // the chosen month's value
  assert.equal(g.forecastStyle(ok, 0, [3, 5]).fillColor, "#fee6ce");
  assert.equal(g.forecastStyle({ ...ok, trusted: false }, 1, [3, 5]).fillColor, "url(#gm-fc-hatch)");
  const none = g.forecastStyle({ status: "not_enough_data", trusted: false }, 0, []);
  assert.equal(none.fill, false);
  assert.equal(none.dashArray, "3 3");
});

test("forecast steps after the window: calendar months in UTC, or weeks", () => {
  assert.equal(g.forecastStepStart("2026-03-01T00:00:00Z", "month", 0), "2026-03-01T00:00:00.000Z");
  assert.equal(g.forecastStepStart("2026-11-01T00:00:00Z", "month", 3), "2027-02-01T00:00:00.000Z");
  assert.equal(g.forecastStepStart("2026-03-02T00:00:00Z", "week", 2), "2026-03-16T00:00:00.000Z");
  assert.equal(g.stepLabel("2026-05-01T00:00:00Z", "month"), "May 2026");
  assert.equal(g.peakText(6, "month"), "June");
});

test("a new forecast asks for whole months ending at the start of this month", () => {
  const now = Date.parse("2026-03-15T09:30:00Z");
  assert.deepEqual(g.forecastBody({ border: "AFG-TJK", sectorKm: 25, years: 6 }, now), {
    units: "border_sectors", border: "AFG-TJK", sector_km: 25, step: "month", horizon: 12,
    since: "2020-03-01T00:00:00Z", until: "2026-03-01T00:00:00Z" });
  // weeks: from Monday 00:00 UTC of this ISO week (2026-03-15 is a Sunday) back 52 weeks a year
  assert.deepEqual(g.forecastBody({ units: "grid", step: "week", cellKm: 10, years: 4 }, now), {
    units: "grid", cell_km: 10, step: "week", horizon: 12,
    since: "2022-03-14T00:00:00Z", until: "2026-03-09T00:00:00Z" });
  assert.deepEqual(g.forecastBody({ units: "crossing_points", step: "month", years: 5 }, now).units, "crossing_points");
});

test("the chart: the last history steps, then the forecast with its interval and baseline", () => {
  const cell = {
    series: { history: [1, 2, 3, 4], fitted: [1.1, 2.1, 2.9, 4.2], forecast: [5, 6], lower: [4, 4.5], upper: [6, 7.5], naive: [3, 4],
      outliers: [0, 2] },
    times: { history_starts: ["h0", "h1", "h2", "h3"], forecast_starts: ["f0", "f1"] },
  };
  const d = g.forecastChartData(cell, 3);
  assert.deepEqual(d.starts, ["h1", "h2", "h3", "f0", "f1"]);
  assert.deepEqual(d.history, [2, 3, 4, null, null]);
  assert.deepEqual(d.fitted, [2.1, 2.9, 4.2, null, null]);
  assert.deepEqual(d.forecast, [null, null, null, 5, 6]);
  assert.deepEqual(d.upper, [null, null, null, 6, 7.5]);
  assert.deepEqual(d.naive, [null, null, null, 3, 4]);
  assert.deepEqual(d.outliers, [null, 3, null, null, null]);  // step 0 is before the window shown
});
