// Pure helpers of the basemap and layer control (geomon-basemap.js, geomon-layers.js).
// Run: node --test tests/js/   (tests/unit/test_map_js.py runs it under pytest)
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
require("../../api/static/geomon-basemap.js");
const g = require("../../api/static/geomon-layers.js");

test("labels use name_ru in Russian, the name otherwise", () => {
  assert.deepEqual(g.labelProps("ru"), ["name_ru", "name"]);
  assert.deepEqual(g.labelProps("ru-RU"), ["name_ru", "name"]);
  assert.deepEqual(g.labelProps("en"), ["name"]);
  assert.deepEqual(g.labelProps("kk"), ["name"]);
});

test("layers fall in the four groups", () => {
  assert.equal(g.layerGroupOf({ gmGroup: "context" }, true), "context");
  assert.equal(g.layerGroupOf({}, false), "base");
  assert.equal(g.layerGroupOf({}, true), "analysis");  // added later by our JS: runs, coverage
  assert.deepEqual(g.LAYER_GROUPS, ["base", "live", "analysis", "context"]);
});

test("a colour ramp as a CSS gradient with three values under it", () => {
  assert.equal(g.rampCss(["#000000", "#ffffff"]), "linear-gradient(to right, #000000, #ffffff)");
  assert.deepEqual(g.rampTicks(0, 3), [0, 1.5, 3]);
});

test("stacked markers spread on a circle, the first straight up", () => {
  const s = require("../../api/static/geomon-spread.js");
  assert.deepEqual(s.spreadOffsets(2), [[0, -30], [0, 30]]);
  assert.deepEqual(s.spreadOffsets(4), [[0, -30], [30, 0], [0, 30], [-30, 0]]);
  assert.equal(s.spreadOffsets(10).length, 10);
  assert.ok(Math.abs(Math.hypot(...s.spreadOffsets(10)[3]) - 70) <= 1);  // wider for more teams
});
