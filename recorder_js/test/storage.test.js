// No video outlives the page: unsent chunks are held in the page's memory only, an acknowledged
// chunk leaves it at once, every ending clears the session's chunks, and a closed tab takes its
// unsent chunks with it (the next page, reloaded or not, holds none).

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
import { strings } from "../src/i18n.js";
import { driveTo, FakeServer, setup } from "./fakes.js";

function longAdServer() {
  const server = new FakeServer();
  server.ads[0].duration_s = 8;
  return server;
}

function closeTab(t) {
  t.recorder.uploads.abortAll();
  t.recorder.cameraOff();
  t.clock.timers = [];
}

/** Record with the server unreachable, so chunks pile up in the store; returns how many. */
async function recordOffline(t) {
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.server.clipFor(101)?.chunks.size >= 1);
  t.server.offline = true;
  t.win.goOffline();
  await t.clock.tick(3000);
  const kept = await t.recorder.store.countChunks();
  assert.ok(kept >= 2, `${kept} chunks kept while offline`);
  return kept;
}

test("an acknowledged chunk leaves the store at once", async () => {
  const t = setup({ server: longAdServer(), env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.server.clipFor(101)?.chunks.size >= 3);
  await t.clock.flush();
  const onServer = t.server.clipFor(101).chunks;
  for (const row of t.recorder.store.rows.values()) {
    assert.ok(!onServer.has(row.index), `chunk ${row.index} acknowledged but still kept`);
  }
});

test("failed: the chunks it could not send are not kept", async () => {
  const t = setup({ server: longAdServer(), env: { chunkStore: new MemoryChunkStore() } });
  await recordOffline(t);
  t.video.fire("error"); // the ad cannot be played: the session fails
  await t.clock.until(() => t.recorder.state === "failed");
  assert.equal(t.recorder.status, "failed");
  assert.equal(await t.recorder.store.countChunks(), 0);
});

test("no_camera after the camera was lost mid-ad: sent, then nothing kept", async () => {
  const t = setup({ server: longAdServer(), env: { chunkStore: new MemoryChunkStore() } });
  await recordOffline(t);
  t.camera.streams.at(-1).tracks[0].dispatchEvent(new Event("ended"));
  await t.clock.until(() => t.recorder.state === "no_camera");
  t.server.offline = false;
  t.win.goOnline();
  const going = t.recorder.continueWithoutCamera();
  await t.clock.until(() => t.recorder.ended);
  await going;
  assert.equal(t.recorder.status, "no_camera");
  assert.equal(await t.recorder.store.countChunks(), 0);
});

test("complete, declined: nothing kept", async () => {
  const done = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(done, "ready");
  const playing = done.recorder.play();
  await done.clock.until(() => done.recorder.state === "done");
  await playing;
  assert.equal(await done.recorder.store.countChunks(), 0);

  const declined = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(declined, "consent");
  await declined.recorder.decline("not_now");
  assert.equal(declined.recorder.state, "declined");
  assert.equal(await declined.recorder.store.countChunks(), 0);
});

test("closed: a study that closed meanwhile takes no kept chunks, so none stay", async () => {
  const store = new MemoryChunkStore();
  const server = longAdServer();
  const first = setup({ server, env: { chunkStore: store } });
  await recordOffline(first);
  closeTab(first);
  server.offline = false;
  server.studyClosed = true;
  const reloaded = store.reloaded();
  const second = setup({ server, env: { chunkStore: reloaded } });
  const starting = second.recorder.start();
  await second.clock.until(() => second.recorder.state === "closed");
  await starting;
  assert.equal(await reloaded.countChunks(), 0);
  assert.equal(reloaded.resumes.size, 0);
});

test("a tab closed offline: its unsent chunks go with the page, the next page holds none", async () => {
  const store = new MemoryChunkStore();
  const server = longAdServer();
  const first = setup({ server, env: { chunkStore: store } });
  const kept = await recordOffline(first);
  assert.ok(kept >= 2);
  closeTab(first);
  server.offline = false;

  const reloaded = store.reloaded(); // the same browser: its tokens and withdrawals, no chunk
  assert.equal(await reloaded.countChunks(), 0);
  const second = setup({ server, env: { chunkStore: reloaded } });
  await driveTo(second, "consent");
  assert.equal(second.recorder.session.session_id, "s1", "the token still resumes the session");
  // Cut off early (what arrived is too little to count): the ad is offered again, once.
  assert.deepEqual([...second.recorder.restartAds], [101]);
  assert.equal(await second.recorder.store.countChunks(), 0);
});

test("the consent screen says unsent video does not stay on this device", () => {
  assert.match(strings("en").storageNote, /never stored on this device/);
  assert.match(strings("fr").storageNote, /jamais enregistrée sur cet appareil/);
});
