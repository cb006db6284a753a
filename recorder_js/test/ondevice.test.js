// The browser's port of the server's measures passes the shared test vectors
// (tests/shared/ondevice_vectors.json, also checked by tests/worker/analysis/test_ondevice.py),
// and writes records byte for byte as the server's encoder does.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  RAW_MEASURES,
  brightness,
  eyesHiddenDelta,
  measure,
  mouthSkinShare,
} from "../src/ondevice/measures.js";
import { RECORD_BYTES, encodeRecord, readRecord } from "../src/ondevice/records.js";

const vectors = JSON.parse(
  readFileSync(new URL("../../tests/shared/ondevice_vectors.json", import.meta.url), "utf8"),
);

function rgba(vector) {
  const rgb = Buffer.from(vector.rgb_base64, "base64");
  const data = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    data[j] = rgb[i];
    data[j + 1] = rgb[i + 1];
    data[j + 2] = rgb[i + 2];
    data[j + 3] = 255;
  }
  return { data, width: vector.width, height: vector.height };
}

// Angles in degrees, the rest in canonical cm or ratios: float64 on both sides.
const TOLERANCE = { yaw: 1e-6, pitch: 1e-6, roll: 1e-6 };

for (const vector of vectors.faces) {
  test(`measures of ${vector.name} equal the server's`, () => {
    const got = measure(vector.landmarks);
    RAW_MEASURES.forEach((name, i) => {
      const tolerance = TOLERANCE[name] ?? 1e-7;
      assert.ok(
        Math.abs(got[i] - vector.measures[i]) <= tolerance,
        `${name}: ${got[i]} vs ${vector.measures[i]}`,
      );
    });
  });

  test(`occlusion of ${vector.name} equals the server's`, () => {
    const image = rgba(vector);
    // OpenCV's 8-bit CIELAB uses fixed-point tables: a channel may differ by one step.
    assert.ok(
      Math.abs(mouthSkinShare(image, vector.landmarks) - vector.mouth_skin) <= 1 / 15 + 1e-9,
    );
    assert.ok(Math.abs(eyesHiddenDelta(image, vector.landmarks) - vector.eyes_delta) <= 1.0);
  });
}

test("a covered mouth reads as skin, an open one does not", () => {
  const covered = vectors.faces.find((vector) => vector.name.endsWith("mouth covered"));
  assert.ok(mouthSkinShare(rgba(covered), covered.landmarks) >= 0.75);
  assert.ok(mouthSkinShare(rgba(vectors.faces[0]), vectors.faces[0].landmarks) < 0.75);
});

test("brightness is the mean luma", () => {
  const image = { data: new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255]) };
  assert.equal(brightness(image), 127.5);
});

test("records are written byte for byte as the server's encoder writes them", () => {
  const [frame, empty] = vectors.records.frames;
  frame.occlusion = frame.occlusion.map((value) => (value === null ? NaN : value));
  const bytes = [frame, empty].map((f) => Buffer.from(encodeRecord(f)));
  assert.equal(bytes[0].length, RECORD_BYTES);
  assert.equal(Buffer.concat(bytes).toString("hex"), vectors.records.hex);
  const back = readRecord(new DataView(bytes[0].buffer, bytes[0].byteOffset, RECORD_BYTES));
  assert.equal(back.faces, 1);
  assert.ok(Math.abs(back.blendshapes.jawOpen - frame.blendshapes.jawOpen) < 1 / 65534);
});
