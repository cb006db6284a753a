// Codec choice by isTypeSupported, and every camera failure with its own help and a way on.

import assert from "node:assert/strict";
import { test } from "node:test";

import { strings } from "../src/i18n.js";
import { chooseMimeType, classifyCameraError, MIME_CANDIDATES } from "../src/media.js";
import {
  CHROME_TYPES,
  driveTo,
  FakeServer,
  FIREFOX_TYPES,
  SAFARI_TYPES,
  setup,
} from "./fakes.js";

const offering = (types) => ({ isTypeSupported: (type) => types.includes(type) });

test("mime type: VP9 on a Chrome-like browser, VP8 on a Firefox-like one, mp4 on Safari", () => {
  assert.equal(chooseMimeType(offering(CHROME_TYPES)), "video/webm;codecs=vp9");
  assert.equal(chooseMimeType(offering(FIREFOX_TYPES)), "video/webm;codecs=vp8");
  assert.equal(chooseMimeType(offering(SAFARI_TYPES)), "video/mp4;codecs=avc1");
  assert.equal(chooseMimeType(offering(["video/mp4"])), "video/mp4");
  assert.equal(chooseMimeType(offering([])), null);
  assert.equal(chooseMimeType(undefined), null, "no MediaRecorder at all");
  assert.equal(
    chooseMimeType(function Old() {}),
    null,
    "no isTypeSupported",
  );
  const throwing = {
    isTypeSupported: (t) => {
      if (t.includes("codecs")) throw new Error("syntax");
      return t === "video/webm";
    },
  };
  assert.equal(chooseMimeType(throwing), "video/webm");
  assert.ok(
    MIME_CANDIDATES.every((t) => t.startsWith("video/")),
    "video only, no audio codec",
  );
});

for (const [name, types, expected] of [
  ["Chrome", CHROME_TYPES, "video/webm;codecs=vp9"],
  ["Firefox", FIREFOX_TYPES, "video/webm;codecs=vp8"],
  ["Safari", SAFARI_TYPES, "video/mp4;codecs=avc1"],
]) {
  test(`a ${name}-like browser records and uploads as ${expected}`, async () => {
    const t = setup({ supported: types });
    await driveTo(t, "ready");
    const playing = t.recorder.play();
    await t.clock.until(() => t.recorder.state === "done");
    await playing;
    assert.equal(t.MediaRecorder.instances[0].mimeType, expected);
    assert.equal(t.server.clipFor(101).mime, expected);
    assert.equal(
      JSON.parse(t.server.requests.find((r) => r.path === "/sessions/s1/clips").body).mime_type,
      expected,
    );
  });
}

test("getUserMedia errors map to the help the panelist needs", () => {
  const kind = (name) => classifyCameraError(new DOMException("x", name));
  assert.equal(kind("NotAllowedError"), "denied");
  assert.equal(kind("SecurityError"), "denied");
  assert.equal(kind("NotFoundError"), "not_found");
  assert.equal(kind("OverconstrainedError"), "not_found");
  assert.equal(kind("NotReadableError"), "busy");
  assert.equal(kind("AbortError"), "busy");
  assert.equal(kind("TypeError"), "other");
  assert.equal(classifyCameraError(undefined), "other");
});

const CASES = [
  { label: "NotAllowedError", fail: "NotAllowedError", kind: "denied" },
  { label: "NotFoundError", fail: "NotFoundError", kind: "not_found" },
  { label: "NotReadableError", fail: "NotReadableError", kind: "busy" },
  { label: "no MediaRecorder", env: { MediaRecorder: undefined }, kind: "unsupported" },
  { label: "MediaRecorder with no usable codec", supported: ["audio/ogg"], kind: "unsupported" },
  {
    label: "no mediaDevices",
    env: { mediaDevices: undefined, getUserMedia: undefined },
    kind: "unsupported",
  },
  { label: "an http:// page", env: { isSecureContext: false }, kind: "insecure" },
];

for (const c of CASES) {
  test(`camera error path: ${c.label} → its own message and steps, retry, or continue as no_camera`, async () => {
    const t = setup({ env: c.env || {}, supported: c.supported });
    if (c.fail) t.camera.failWith = c.fail;
    await driveTo(t, "camera");
    await t.recorder.enableCamera();
    assert.equal(t.recorder.state, "no_camera");
    assert.equal(t.recorder.cameraError, c.kind);
    assert.equal(t.recorder.detail.kind, c.kind);
    for (const locale of ["en", "fr"]) {
      const s = strings(locale);
      assert.ok(s.noCameraTitle[c.kind], `${locale} title for ${c.kind}`);
      assert.ok(s.noCameraSteps[c.kind].length >= 1, `${locale} steps for ${c.kind}`);
    }
    if (c.fail) {
      assert.equal(t.seen.errors.at(-1).code, `camera_${c.kind}`);
      assert.equal(t.camera.calls.length, 1);
    } else {
      assert.equal(
        t.camera.calls.length,
        0,
        "no permission prompt when recording is impossible anyway",
      );
    }
    const continuing = t.recorder.continueWithoutCamera();
    await t.clock.until(() => t.recorder.ended);
    await continuing;
    assert.equal(t.server.session.status, "no_camera");
    assert.equal(t.seen.navigations.at(-1).status, "no_camera");
    assert.match(t.seen.navigations.at(-1).url, /status=no_camera&r=RC-7Q2X$/);
    assert.equal(await t.recorder.retryCamera(), false, "no retry after the session ended");
  });
}

test("after a denied camera, Try again asks again and can succeed", async () => {
  const t = setup();
  t.camera.failWith = "NotAllowedError";
  await driveTo(t, "camera");
  await t.recorder.enableCamera();
  assert.equal(t.recorder.state, "no_camera");
  t.camera.failWith = null;
  const retrying = t.recorder.retryCamera();
  await t.clock.until(() => t.recorder.state === "preflight");
  assert.equal(await retrying, true);
  assert.equal(t.camera.live, 1);
});

test("the camera lost mid-ad: camera off, what was recorded is finished, the next try skips that ad", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 1.5);
  t.camera.streams.at(-1).getTracks()[0].dispatchEvent(new Event("ended"));
  await t.clock.until(() => t.recorder.state === "no_camera");
  await playing;
  assert.equal(t.recorder.cameraError, "lost");
  assert.equal(t.camera.live, 0);
  assert.equal(t.recorder.adIndex, 1);
  await t.clock.until(() => t.server.clipFor(101).status === "queued");
  const retrying = t.recorder.retryCamera();
  assert.equal(t.recorder.state, "ready");
  await retrying;
  const again = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await again;
  assert.deepEqual(t.video.played, ["/ads/101.webm", "/ads/102.webm"]);
});

test("a camera track stopped without an `ended` event is noticed within a few chunks", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 1.5);
  // What Chromium does on track.stop(): readyState "ended", no event at all.
  t.camera.streams.at(-1).getTracks()[0].stop();
  const stoppedAt = t.clock.now();
  await t.clock.until(() => t.recorder.state === "no_camera");
  await playing;
  assert.ok(t.clock.now() - stoppedAt <= 2000, "noticed within two chunk periods");
  assert.equal(t.recorder.cameraError, "lost");
  assert.equal(t.recorder.adIndex, 1, "the next try starts at the next ad");
  await t.clock.until(() => t.server.clipFor(101).status === "queued");
});

test("a MediaRecorder that goes inactive or silent by itself means the camera is lost", async () => {
  for (const how of ["inactive", "silent"]) {
    const server = new FakeServer();
    server.ads[0].duration_s = 10; // longer than the silence it takes to call the camera lost
    const t = setup({ server });
    await driveTo(t, "ready");
    const playing = t.recorder.play();
    await t.clock.until(() => t.recorder.recording);
    const recorder = t.MediaRecorder.instances[0];
    if (how === "inactive") {
      recorder.state = "inactive"; // the track under it ended; no event reached us
      t.clock.clearTimeout(recorder.timer);
    } else {
      recorder.emitChunk = () => {}; // still "recording", but no frame comes any more
    }
    await t.clock.until(() => t.recorder.state === "no_camera");
    await playing;
    assert.equal(t.recorder.cameraError, "lost", how);
    assert.equal(t.camera.live, 0, `${how}: camera off`);
  }
});

test("the camera failing when an ad starts: no_camera, then continue sends what was recorded", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.detail.phase === "between");
  t.camera.failWith = "NotReadableError";
  await t.clock.until(() => t.recorder.state === "no_camera");
  await playing;
  assert.equal(t.recorder.cameraError, "busy");
  const continuing = t.recorder.continueWithoutCamera();
  await t.clock.until(() => t.recorder.ended);
  await continuing;
  assert.equal(t.server.clipFor(101).status, "queued", "the first ad's clip was finished");
  assert.equal(t.server.session.status, "no_camera");
  assert.equal(t.recorder.state, "no_camera");
  // The first ad was recorded and is analysed: the panelist stays to read the receipt.
  assert.equal(t.seen.navigations.length, 0, "no navigation before the click");
  assert.equal(t.recorder.receiptCode, "RC-7Q2X");
  assert.equal(t.recorder.returnToSurvey(), "navigated");
  assert.equal(t.seen.navigations[0].status, "no_camera");
  assert.equal(t.seen.navigations[0].receipt, "RC-7Q2X");
});

test("MediaRecorder failing mid-ad: the camera goes off and the session fails", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.recording);
  const error = new Event("error");
  error.error = new DOMException("encoder died", "UnknownError");
  t.MediaRecorder.instances[0].dispatchEvent(error);
  await t.clock.until(() => t.recorder.state === "failed");
  await playing;
  assert.equal(t.camera.live, 0);
  assert.match(t.seen.errors.find((e) => e.code === "failed").message, /encoder died/);
  assert.equal(t.server.session.status, "failed");
});
