// Nothing of the video stays in the browser: every ending clears the session's chunks, an
// acknowledged chunk leaves the store at once, and what a closed tab left is swept at the next
// page load once older than MAX_AGE_MS (issue 20, item 3).

import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_AGE_MS, MemoryChunkStore } from "../src/chunk-store.js";
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
  const second = setup({ server, env: { chunkStore: store } });
  const starting = second.recorder.start();
  await second.clock.until(() => second.recorder.state === "closed");
  await starting;
  assert.equal(await store.countChunks(), 0);
  assert.equal(store.resumes.size, 0);
});

test("a tab closed offline: its chunks stay for a reload within the bound, and go after it", async () => {
  let wall = 1_800_000_000_000;
  const store = new MemoryChunkStore({ now: () => wall });
  const server = longAdServer();
  const first = setup({ server, env: { chunkStore: store, wallNow: () => wall } });
  const kept = await recordOffline(first);
  closeTab(first);
  server.offline = false;

  wall += MAX_AGE_MS - 60_000; // a page load just inside the bound keeps them (a reload resumes)
  const { sweepStore } = await import("../src/chunk-store.js");
  await sweepStore(store, wall);
  assert.equal(await store.countChunks(), kept);

  wall += 120_000; // the next load of any page with the recorder, past the bound
  server.studyClosed = true; // whatever that page does: here, a study that takes no one
  const other = setup({
    server,
    options: { respondentId: "someone else" },
    env: { chunkStore: store, wallNow: () => wall },
  });
  const starting = other.recorder.start();
  await other.clock.until(() => other.recorder.state === "closed");
  await starting;
  assert.equal(await store.countChunks(), 0, "swept at the page load past the bound");
});

test("the consent screen states the bound the store keeps", () => {
  assert.equal(MAX_AGE_MS, 15 * 60 * 1000);
  assert.match(strings("en").storageNote, /15 minutes/);
  assert.match(strings("fr").storageNote, /15 minutes/);
});
