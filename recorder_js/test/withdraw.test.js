// "Stop and delete my recording": the camera goes off at once, then the server erases.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
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
  // No await yet: the camera is already off, before the withdrawal is even kept or sent.
  assert.equal(t.camera.live, 0);
  assert.equal(t.recorder.recording, false);
  assert.equal(t.video.paused, true);
  assert.equal(await withdrawing, true);
  assert.deepEqual(liveAtRequest, [["/sessions/s1/withdraw", 0]]);
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

// ---- a withdrawal that cannot be sent at once is kept, and sent until it arrives (issue 20) ----

/** The page goes away: its timers stop, its camera is released, nothing more is sent. */
function closeTab(t) {
  t.recorder.uploads.abortAll();
  t.recorder.cameraOff();
  t.clock.timers = [];
}

async function withdrawOffline(t) {
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.server.clipFor(101)?.chunks.size >= 2);
  t.server.offline = true;
  t.win.goOffline();
  // The screen must not speak before the withdrawal is kept in this browser.
  const keptWhenShown = [];
  t.recorder.on("state", () => keptWhenShown.push(t.recorder.store.withdrawals.has("s1")));
  const withdrawing = t.recorder.withdraw();
  await t.clock.until(() => t.recorder.state === "withdrawn");
  assert.equal(await withdrawing, true);
  assert.ok(keptWhenShown.length && keptWhenShown.every(Boolean), `${keptWhenShown}`);
  assert.equal(t.recorder.state, "withdrawn");
  assert.equal(t.recorder.detail.erased, false);
  assert.equal(t.server.erasures.length, 0);
  assert.equal(await t.recorder.store.countChunks(), 0, "no video kept in the browser");
}

test("withdrawn offline: sent as soon as the network is back, and the screen then says deleted", async () => {
  const t = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await withdrawOffline(t);
  await t.clock.tick(5000);
  t.server.offline = false;
  t.win.goOnline();
  await t.clock.until(() => t.server.erasures.length > 0, 2000);
  assert.deepEqual(t.server.erasures, [{ session: "s1", how: "withdrawn", clips: 1 }]);
  assert.equal(t.server.session.status, "withdrawn");
  await t.clock.flush();
  assert.equal(t.recorder.detail.erased, true);
  assert.deepEqual(await t.recorder.store.loadWithdrawals(), []);
  const after = t.server.requests.length;
  await t.clock.tick(60000);
  assert.equal(t.server.requests.length, after, "nothing more is sent once acknowledged");
});

test("withdrawn offline with no online event: the periodic probe finds the server back", async () => {
  const t = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await withdrawOffline(t);
  t.server.offline = false; // the server alone was down: the browser fires no `online`
  t.win.navigator.onLine = true;
  await t.clock.until(() => t.server.erasures.length > 0, 20000);
  assert.equal(t.server.erasures[0].how, "withdrawn");
});

test("withdrawn offline, tab closed: the next page that loads the recorder sends it first", async () => {
  const store = new MemoryChunkStore();
  const server = new FakeServer();
  const first = setup({ server, env: { chunkStore: store } });
  await withdrawOffline(first);
  closeTab(first);
  server.offline = false;

  const second = setup({ server, env: { chunkStore: store } });
  await driveTo(second, "consent");
  assert.deepEqual(server.erasures, [{ session: "s1", how: "withdrawn", clips: 1 }]);
  const starts = server.requests.map((r) => r.path);
  assert.ok(
    starts.lastIndexOf("/sessions/s1/withdraw") < starts.lastIndexOf("/sessions"),
    "the withdrawal goes before the new session starts",
  );
  assert.equal(second.recorder.session.session_id, "s2", "the withdrawn session is not resumed");
  assert.deepEqual(await store.loadWithdrawals(), []);
});

test("a kept withdrawal whose token expired erases by its receipt code; a 404 is not retried", async () => {
  const store = new MemoryChunkStore();
  const server = new FakeServer();
  const first = setup({ server, env: { chunkStore: store } });
  await withdrawOffline(first);
  closeTab(first);
  server.offline = false;
  server.session.token = "rotated"; // the old token is refused with 401
  const second = setup({ server, env: { chunkStore: store } });
  await driveTo(second, "consent");
  assert.deepEqual(server.erasures, [{ session: "s1", how: "erased", clips: 1 }]);
  assert.deepEqual(await store.loadWithdrawals(), []);

  // A 4xx is the server's last word (here: no such session): dropped, never sent again; a 5xx
  // keeps it for the next try.
  await store.saveWithdrawal({ session: "s7", baseUrl: "http://candor.test", token: "t7" });
  await store.saveWithdrawal({ session: "s8", baseUrl: "http://candor.test", token: "t8" });
  server.script(({ path }) => path === "/sessions/s7/withdraw", 404);
  server.script(({ path }) => path === "/sessions/s8/withdraw", 503);
  const third = setup({ server, env: { chunkStore: store } });
  await driveTo(third, "consent");
  assert.deepEqual(
    (await store.loadWithdrawals()).map((w) => w.session),
    ["s8"],
    "a refused withdrawal is not sent again; one the server could not take is",
  );
});

test("a tab closed with its withdrawal still unsent makes the withdrawal its last beacon", async () => {
  const store = new MemoryChunkStore();
  const t = setup({ env: { chunkStore: store } });
  await withdrawOffline(t);
  // The network is back but the page's next probe has not come yet when the tab is closed.
  t.server.offline = false;
  t.win.pageHide();
  assert.deepEqual(
    t.server.beacons.map((b) => [b.path, b.message.withdraw, b.answer.status]),
    [["/sessions/s1/presence", true, 200]],
  );
  assert.deepEqual(t.server.erasures, [{ session: "s1", how: "withdrawn", clips: 1 }]);
  // Its answer never reaches a closed page: the next page load sends it again, harmlessly.
  assert.equal((await store.loadWithdrawals()).length, 1);
});

test("a tab closed while its withdrawal is in flight sends the withdrawal, not 'left'", async () => {
  const store = new MemoryChunkStore();
  const t = setup({ env: { chunkStore: store } });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.server.clipFor(101)?.chunks.size >= 2);
  // The withdrawal request leaves and gets no answer before the tab closes.
  const real = t.recorder.options.transport;
  let inFlight = false;
  t.recorder.options.transport = (request) => {
    if (!request.url.endsWith("/withdraw")) return real(request);
    inFlight = true;
    return new Promise(() => {});
  };
  t.recorder.withdraw();
  await t.clock.until(() => inFlight);
  t.win.pageHide();
  // "Left the page" would have the server finish the clip and analyse it.
  assert.deepEqual(
    t.server.beacons.map((b) => [b.path, b.message.withdraw]),
    [["/sessions/s1/presence", true]],
  );
  assert.deepEqual(t.server.erasures, [{ session: "s1", how: "withdrawn", clips: 1 }]);
  assert.equal((await store.loadWithdrawals()).length, 1, "kept until acknowledged");
});
