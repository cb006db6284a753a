// The preflight's light and face checks on synthetic frames whose answer is known.

import assert from "node:assert/strict";
import { test } from "node:test";

import { frameStats, judgeFaces, judgeStats, PREFLIGHT_DEFAULTS } from "../src/preflight.js";

const W = 80;
const H = 60;
const SKIN = [224, 172, 140]; // a light skin tone: Cb ≈ 104, Cr ≈ 155, inside the skin cluster
const WALL = [90, 110, 140]; // bluish grey: outside the cluster

/** A frame of `background` with an ellipse of `blob` (plus texture) centred at (cx, cy). */
function frame({ background = WALL, blob = null, cx = W / 2, cy = H / 2, scale = 1 }) {
  const data = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y += 1) {
    for (let x = 0; x < W; x += 1) {
      const i = (y * W + x) * 4;
      const inside = blob && ((x - cx) / 14) ** 2 + ((y - cy) / 18) ** 2 <= 1;
      let [r, g, b] = inside ? blob : background;
      if (inside && (x + y) % 5 === 0) [r, g, b] = [r * 0.7, g * 0.7, b * 0.7]; // eyes, shadows
      data.set([r * scale, g * scale, b * scale, 255], i);
    }
  }
  return data;
}

test("a lit face-coloured, textured blob in the middle passes both checks", () => {
  const stats = frameStats(frame({ blob: SKIN }), W, H);
  assert.deepEqual(judgeStats(stats), { light: true, face: true });
  assert.ok(stats.centreSkin > 0.5);
  assert.equal(stats.borderSkin, 0);
});

test("the same scene too dark fails the light check", () => {
  const stats = frameStats(frame({ blob: SKIN, scale: 0.3 }), W, H);
  assert.equal(judgeStats(stats).light, false);
  assert.ok(stats.meanLuma < PREFLIGHT_DEFAULTS.minLuma);
});

test("an empty room fails the face check; so does a face at the edge", () => {
  assert.equal(judgeStats(frameStats(frame({}), W, H)).face, false);
  assert.equal(judgeStats(frameStats(frame({ blob: SKIN, cx: 8, cy: 10 }), W, H)).face, false);
});

test("a skin-coloured wall everywhere is not a face in the middle", () => {
  const stats = frameStats(frame({ background: SKIN }), W, H);
  assert.equal(judgeStats(stats).face, false);
  assert.ok(stats.borderSkin > 0.9);
});

test("a flat skin-coloured patch without texture does not pass", () => {
  const data = frame({});
  for (let y = 15; y < 45; y += 1)
    for (let x = 20; x < 60; x += 1) data.set([...SKIN, 255], (y * W + x) * 4);
  const stats = frameStats(data, W, H);
  assert.equal(judgeStats(stats).face, false);
  assert.ok(stats.centreContrast < PREFLIGHT_DEFAULTS.minCentreContrast);
});

test("FaceDetector answers: one face of fair size near the middle", () => {
  const face = (x, y, w) => ({ boundingBox: { x, y, width: w, height: w } });
  assert.equal(judgeFaces([face(250, 160, 140)], 640, 480), true);
  assert.equal(judgeFaces([], 640, 480), false);
  assert.equal(
    judgeFaces([face(250, 160, 140), face(20, 20, 100)], 640, 480),
    false,
    "a bystander",
  );
  assert.equal(judgeFaces([face(10, 10, 140)], 640, 480), false, "in a corner");
  assert.equal(judgeFaces([face(300, 220, 30)], 640, 480), false, "too far away");
});

test("a frame shorter than its size is refused", () => {
  assert.throws(() => frameStats(new Uint8ClampedArray(10), W, H), /shorter/);
});
