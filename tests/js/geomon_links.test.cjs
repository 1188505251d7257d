// The link chart's pure helpers (api/static/geomon-links.js): timeline times and what is shown
// up to a time. Run: node --test tests/js/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const g = require("../../api/static/geomon-links.js");

const ELEMENTS = {
  nodes: [
    { data: { id: "entity-1", type: "person" } },
    { data: { id: "entity-2", type: "vehicle" } },
    { data: { id: "case-7", type: "case", at: "2025-10-02T03:30:00Z" } },
    { data: { id: "observation-9", type: "observation", at: "2026-01-05T10:00:00Z" } },
  ],
  edges: [
    { data: { id: "link-1", source: "entity-1", target: "entity-2", valid_from: "2024-05-01T00:00:00Z" } },
    { data: { id: "link-2", source: "entity-2", target: "case-7" } },
    { data: { id: "link-3", source: "entity-2", target: "observation-9", valid_from: "2026-01-05T10:00:00Z" } },
  ],
};

test("timeline times are the distinct node and link times, ascending", () => {
  assert.deepEqual(g.chartTimes(ELEMENTS), [
    Date.parse("2024-05-01T00:00:00Z"), Date.parse("2025-10-02T03:30:00Z"), Date.parse("2026-01-05T10:00:00Z"),
  ]);
});

test("up to a time, later nodes and links are hidden, and links to hidden nodes too", () => {
  const all = g.shownUpTo(ELEMENTS, null);
  assert.equal(Object.keys(all).length, 7);
  const before = g.shownUpTo(ELEMENTS, Date.parse("2025-01-01T00:00:00Z"));
  assert.deepEqual(Object.keys(before).sort(), ["entity-1", "entity-2", "link-1"]);
  const mid = g.shownUpTo(ELEMENTS, Date.parse("2025-10-02T03:30:00Z"));
  assert.deepEqual(Object.keys(mid).sort(), ["case-7", "entity-1", "entity-2", "link-1", "link-2"]);
});

test("network URLs for an entity and for a case", () => {
  assert.equal(g.networkUrl({ kind: "entity", id: 5 }, 2, "i2"), "/api/v1/entities/5/network?depth=2&format=i2");
  assert.equal(g.networkUrl({ kind: "case", id: 7 }, 1, "graphml"), "/api/v1/network?case=7&depth=1&format=graphml");
});

test("plate reads are asked for the last days, up to a minute from now", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  assert.deepEqual(g.linkReadsBody(now, 90), {
    since: "2025-12-01T12:00:00.000Z", until: "2026-03-01T12:01:00.000Z", limit: 1000,
  });
});
