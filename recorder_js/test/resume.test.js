// A reload or a long network drop: chunks the server has not acknowledged stay in the chunk
// store (IndexedDB in a browser) until it has them, and the same respondent resumes their session.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
import { driveTo, FakeServer, setup } from "./fakes.js";

function longAdServer() {
  const server = new FakeServer();
  server.ads[0].duration_s = 8;
  return server;
}

/** The page goes away: its timers stop, its camera is released, nothing more is sent. */
function closeTab(t) {
  t.recorder.uploads.abortAll();
  t.recorder.cameraOff();
  t.clock.timers = [];
}

test("unacknowledged chunks are kept in the store, and leave it once the server has them", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const t = setup({ server, env: { chunkStore: store } });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  server.offline = true;
  t.win.goOffline();
  await t.clock.tick(3000);
  const [kept] = await store.load("s1");
  assert.equal(kept.adId, 101);
  assert.ok(kept.chunks.size >= 2, `${kept.chunks.size} chunks kept while offline`);
  for (const index of kept.chunks.keys()) {
    assert.ok(!server.clipFor(101).chunks.has(index), `chunk ${index} kept only if not acked`);
  }
  server.offline = false;
  t.win.goOnline();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  await t.clock.flush();
  assert.deepEqual(await store.load("s1"), [], "nothing is left once every clip is finished");
});

test("a reload mid-ad: the same respondent resumes, the kept chunks are sent, that ad is not shown again", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const first = setup({ server, env: { chunkStore: store } });
  await driveTo(first, "ready");
  first.recorder.play();
  await first.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  server.offline = true; // the last chunks before the reload never reach the server
  first.win.goOffline();
  await first.clock.tick(3000);
  const recorded = first.MediaRecorder.instances[0].emitted;
  const onServer = server.clipFor(101).chunks.size;
  assert.ok(recorded > onServer + 1, `${recorded} recorded, ${onServer} on the server`);
  closeTab(first);
  server.offline = false;

  const second = setup({ server, env: { chunkStore: store } });
  await driveTo(second, "consent");
  assert.equal(second.recorder.session.session_id, "s1", "the same session, resumed");
  await second.clock.until(() => server.clipFor(101).status === "queued");
  const clip = server.clipFor(101);
  assert.equal(clip.chunkCount, recorded, "every chunk recorded before the reload arrived");
  assert.equal(server.duplicatePuts, 0);
  await driveTo(second, "ready");
  assert.equal(second.recorder.adIndex, 1, "the interrupted ad is not played again");
  const playing = second.recorder.play();
  await second.clock.until(() => second.recorder.state === "done");
  await playing;
  assert.deepEqual(second.video.played, ["/ads/102.webm"]);
  assert.equal(server.clipFor(102).status, "queued");
  assert.equal(second.recorder.receiptCode, "RC-7Q2X", "the same receipt as before the reload");
  assert.deepEqual(await store.load("s1"), []);
});

test("a clip the server closed while chunks were held: reported as lost, not dropped quietly", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const t = setup({ server, env: { chunkStore: store } });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  server.offline = true;
  t.win.goOffline();
  await t.clock.tick(3000);
  server.clipFor(101).status = "queued"; // finished by the server from what it had
  server.offline = false;
  t.win.goOnline();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  const lost = t.seen.errors.filter((e) => e.code === "chunks_lost");
  assert.equal(lost.length, 1);
  assert.match(lost[0].message, /^\d+ recorded chunks never reached the server$/);
  assert.deepEqual(await store.load("s1"), [], "and the store lets them go");
});

test("withdrawing empties the store", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const t = setup({ server, env: { chunkStore: store } });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => server.clipFor(101)?.chunks.size >= 1);
  server.offline = true;
  await t.clock.tick(2000);
  assert.equal((await store.load("s1")).length, 1);
  server.offline = false;
  await t.recorder.withdraw();
  assert.deepEqual(await store.load("s1"), []);
});
