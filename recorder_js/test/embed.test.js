// Options read from a script tag's data-* attributes, as Candor's embed snippets write them.

import assert from "node:assert/strict";
import { test } from "node:test";

import { optionsFromDataset } from "../src/candor-recorder.js";

test("data-vars carries pass-through variables in query form, names kept exact", () => {
  const options = optionsFromDataset({
    integration: "KEY",
    respondentId: "R_1",
    vars: "ageBand=25-34&country=FR&note=a%26b%3Dc",
  });
  assert.deepEqual(options.passthrough, { ageBand: "25-34", country: "FR", note: "a&b=c" });
  assert.equal(options.integration, "KEY");
  assert.equal(options.respondentId, "R_1");
  assert.equal(options.locale, null);
});

test("data-passthrough JSON is accepted too, and a malformed one is a clear error", () => {
  assert.deepEqual(optionsFromDataset({ passthrough: '{"age": "18-24"}' }).passthrough, {
    age: "18-24",
  });
  assert.throws(() => optionsFromDataset({ passthrough: "age=18" }), /JSON object/);
  assert.throws(() => optionsFromDataset({ passthrough: "[1]" }), /JSON object/);
});

test("no variables gives an empty object", () => {
  assert.deepEqual(optionsFromDataset({ integration: "K" }).passthrough, {});
});

test("data-preview marks the designer's preview run; anything else is a panelist's", () => {
  assert.equal(optionsFromDataset({ integration: "K", preview: "1" }).preview, true);
  assert.equal(optionsFromDataset({ integration: "K", preview: "true" }).preview, true);
  assert.equal(optionsFromDataset({ integration: "K" }).preview, false);
  assert.equal(optionsFromDataset({ integration: "K", preview: "0" }).preview, false);
});
