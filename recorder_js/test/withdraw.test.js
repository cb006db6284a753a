// "Stop and delete my recording": the camera goes off at once, then the server erases.

import assert from "node:assert/strict";
import { test } from "node:test";

import { driveTo, FakeServer, setup } from "./fakes.js";

test("withdraw mid-ad stops every track synchronously, before any request", async () => {
  const t = setup();
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 1.5);
  assert.equal(t.camera.live, 1);
  const liveAtRequest = [];
  t.server.onRequest = ({ path }) => liveAtRequest.push([path, t.camera.live]);
  const withdrawing = t.recorder.withdraw();
  // No await yet: the camera is already off, and it was off before the withdraw call went out.
  assert.equal(t.camera.live, 0);
  assert.equal(t.recorder.recording, false);
  assert.deepEqual(liveAtRequest, [["/sessions/s1/withdraw", 0]]);
  assert.equal(t.video.paused, true);
  assert.equal(await withdrawing, true);
  assert.equal(t.recorder.state, "withdrawn");
  assert.equal(t.server.session.status, "withdrawn");
  assert.equal(t.server.clips.size, 0);
  const after = t.server.requests.length;
  await t.clock.tick(10000);
  assert.equal(t.server.requests.length, after, "no upload goes on after withdrawal");
  // The "Recording deleted" screen stays until the panelist clicks on (as "complete" does).
  assert.equal(t.seen.navigations.length, 0);
  t.recorder.returnToSurvey();
  assert.equal(t.seen.navigations.at(-1).status, "withdrawn");
  assert.match(t.seen.navigations.at(-1).url, /status=withdrawn/);
});

test("withdraw during the preview switches it off; withdraw while the browser asks drops the late stream", async () => {
  const t = setup();
  await driveTo(t, "preflight");
  assert.equal(t.camera.live, 1);
  const withdrawing = t.recorder.withdraw();
  assert.equal(t.camera.live, 0);
  await withdrawing;
  assert.equal(t.recorder.state, "withdrawn");

  const u = setup();
  u.camera.pending = "hold";
  await driveTo(u, "camera");
  const enabling = u.recorder.enableCamera();
  await u.clock.flush();
  assert.equal(u.recorder.detail.asking, true);
  await u.recorder.withdraw();
  u.camera.release(); // the panelist answers the browser's prompt after withdrawing
  await enabling;
  await u.clock.flush();
  assert.equal(u.camera.live, 0);
  assert.equal(u.recorder.state, "withdrawn");
});

test("withdraw while draining aborts uploads; after done it still erases", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.equal(await t.recorder.withdraw(), true);
  assert.equal(t.recorder.state, "withdrawn");
  assert.equal(t.server.session.status, "withdrawn");
  assert.equal(await t.recorder.withdraw(), false, "only once");
});

test("withdraw when the server cannot be reached: camera off anyway, status withdrawn, receipt kept", async () => {
  const server = new FakeServer();
  const t = setup({ server, options: { retryDelays: [100] } });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.recorder.recording);
  server.offline = true;
  const withdrawing = t.recorder.withdraw();
  assert.equal(t.camera.live, 0);
  await t.clock.until(() => t.recorder.state === "withdrawn");
  await withdrawing;
  assert.equal(t.recorder.detail.erased, false);
  assert.equal(t.seen.errors.at(-1).code, "withdraw_failed");
  t.recorder.returnToSurvey();
  assert.equal(t.seen.navigations.at(-1).receipt, "RC-7Q2X");
});

test("no withdraw control before consent: declining is the way out there", async () => {
  const t = setup();
  await driveTo(t, "consent");
  assert.equal(await t.recorder.withdraw(), false);
  assert.equal(t.seen.errors.at(-1).code, "invalid_state");
});

test("a withdrawal with no return URL tells a framing page at once: nothing to click through to", async () => {
  const t = setup({ server: new FakeServer({ returnUrlTemplate: "" }) });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.recorder.recording);
  await t.recorder.withdraw();
  assert.equal(t.seen.navigations.at(-1).status, "withdrawn");
  assert.equal(t.seen.navigations.at(-1).url, null);
});

test("a preview run never navigates: the last screen says where a panelist would have gone", async () => {
  const t = setup({ options: { preview: true } });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.equal(t.recorder.returnToSurvey(), "preview");
  assert.equal(t.seen.navigations.length, 0);
});
