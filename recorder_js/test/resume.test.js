// A reload or a long network drop: chunks the server has not acknowledged stay in the page's
// memory until it has them (never in the browser's storage: no video outlives the page), and the
// same respondent resumes their session after a reload, with what the server holds.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore, openChunkStore } from "../src/chunk-store.js";
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

test("a reload late in an ad: what the page had not sent goes with it, the server's part is finished, that ad is not shown again", async () => {
  const server = new FakeServer();
  server.ads[0].duration_s = 10;
  const store = new MemoryChunkStore();
  const first = setup({ server, env: { chunkStore: store } });
  await driveTo(first, "ready");
  first.recorder.play();
  await first.clock.until(() => server.clipFor(101)?.chunks.size >= 8);
  server.offline = true; // the last chunks before the reload never reach the server
  first.win.goOffline();
  await first.clock.tick(1500);
  const recorded = first.MediaRecorder.instances[0].emitted;
  const onServer = server.clipFor(101).chunks.size;
  assert.ok(recorded > onServer, `${recorded} recorded, ${onServer} on the server`);
  assert.ok((await store.countChunks()) >= 1, "the unsent chunks are held by the page");
  closeTab(first);
  server.offline = false;

  const reloaded = store.reloaded();
  assert.equal(await reloaded.countChunks(), 0, "no chunk outlives the page");
  const second = setup({ server, env: { chunkStore: reloaded } });
  await driveTo(second, "consent");
  assert.equal(second.recorder.session.session_id, "s1", "the same session, resumed");
  await second.clock.until(() => server.clipFor(101).status === "queued");
  const clip = server.clipFor(101);
  assert.equal(clip.chunkCount, onServer, "finished with the chunks that had arrived");
  assert.equal(server.duplicatePuts, 0);
  await driveTo(second, "ready");
  assert.equal(second.recorder.adIndex, 1, "the interrupted ad is not played again");
  const playing = second.recorder.play();
  await second.clock.until(() => second.recorder.state === "done");
  await playing;
  assert.deepEqual(second.video.played, ["/ads/102.webm"]);
  assert.equal(server.clipFor(102).status, "queued");
  assert.equal(server.restartedTakes || 0, 0);
  assert.equal(second.recorder.receiptCode, "RC-7Q2X", "the same receipt as before the reload");
  assert.deepEqual(await reloaded.load("s1"), []);
});

test("a reload early in an ad: it is offered again from the start, once, its first take deleted", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const first = setup({ server, env: { chunkStore: store } });
  await driveTo(first, "ready");
  first.recorder.play();
  await first.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  server.offline = true;
  first.win.goOffline();
  await first.clock.tick(1500);
  closeTab(first);
  server.offline = false;

  const second = setup({ server, env: { chunkStore: store.reloaded() } });
  await driveTo(second, "ready");
  assert.equal(second.recorder.adIndex, 0, "the cut-off ad comes again");
  assert.deepEqual([...second.recorder.restartAds], [101]);
  const playing = second.recorder.play();
  await second.clock.until(() => second.recorder.state === "done");
  await playing;
  assert.deepEqual(second.video.played, ["/ads/101.webm", "/ads/102.webm"]);
  assert.equal(server.restartedTakes, 1);
  const retaken = server.clipFor(101);
  assert.equal(retaken.status, "queued");
  assert.equal(retaken.chunkCount, second.MediaRecorder.instances[0].emitted, "the second take");
  assert.equal(server.session.status, "complete");

  // Cut off again in the second take (a third page): not offered a third time.
  const again = new FakeServer();
  again.ads[0].duration_s = 8;
  const store2 = new MemoryChunkStore();
  const a = setup({ server: again, env: { chunkStore: store2 } });
  await driveTo(a, "ready");
  a.recorder.play();
  await a.clock.until(() => again.clipFor(101)?.chunks.size >= 2);
  closeTab(a);
  const b = setup({ server: again, env: { chunkStore: store2.reloaded() } });
  await driveTo(b, "ready");
  assert.equal(b.recorder.adIndex, 0);
  b.recorder.play();
  await b.clock.until(() => again.clipFor(101)?.chunks.size >= 2 && again.clipFor(101).restarted);
  closeTab(b);
  const c = setup({ server: again, env: { chunkStore: store2.reloaded() } });
  await driveTo(c, "ready");
  assert.equal(c.recorder.adIndex, 1, "offered once only: the second take is kept as it is");
  assert.equal(again.restartedTakes, 1);
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

// ---- the resume token: only this browser can resume the respondent's session ---------------

function startBody(server) {
  return JSON.parse(server.requests.filter((r) => r.path === "/sessions").at(-1).body);
}

test("the resume token the server gave is kept in the store and sent with the next start", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const first = setup({ server, env: { chunkStore: store } });
  await driveTo(first, "consent");
  assert.equal(startBody(server).resume_token, undefined, "a first visit has none to send");
  assert.deepEqual(await store.loadResume("pk_test|panel|resp 42/é"), {
    token: "resume-s1",
    session: "s1",
  });
  closeTab(first);

  const second = setup({ server, env: { chunkStore: store.reloaded() } });
  await driveTo(second, "consent");
  assert.equal(startBody(server).resume_token, "resume-s1");
  assert.equal(second.recorder.session.session_id, "s1", "resumed");
});

test("another browser (no token kept) starts afresh: a new session, a receipt of its own", async () => {
  const server = longAdServer();
  const first = setup({ server, env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(first, "ready");
  first.recorder.play();
  await first.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  const firstReceipt = first.recorder.receiptCode;
  closeTab(first);

  const other = setup({ server, env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(other, "ready");
  assert.equal(startBody(server).resume_token, undefined);
  assert.equal(other.recorder.session.session_id, "s2");
  assert.equal(other.recorder.adIndex, 0, "nothing of the first session is known here");
  assert.notEqual(other.recorder.receiptCode, firstReceipt);
});

test("a session the token no longer resumes: a fresh one, its token kept instead, no chunk carried over", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const first = setup({ server, env: { chunkStore: store } });
  await driveTo(first, "ready");
  first.recorder.play();
  await first.clock.until(() => server.clipFor(101)?.chunks.size >= 1);
  server.offline = true;
  await first.clock.tick(3000);
  assert.equal((await store.load("s1")).length, 1, "chunks held for s1 by the page");
  closeTab(first);
  server.offline = false;
  server.session.status = "complete"; // ended meanwhile (or superseded): not resumable

  const reloaded = store.reloaded();
  const second = setup({ server, env: { chunkStore: reloaded } });
  await driveTo(second, "consent");
  assert.equal(second.recorder.session.session_id, "s2");
  assert.equal(await reloaded.countChunks(), 0, "nothing of s1's video reached this page");
  assert.deepEqual(await reloaded.loadResume("pk_test|panel|resp 42/é"), {
    token: "resume-s2",
    session: "s2",
  });
});

test("the token is forgotten once the session ends or is withdrawn, kept after a decline", async () => {
  const key = "pk_test|panel|resp 42/é";
  const done = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(done, "ready");
  const playing = done.recorder.play();
  await done.clock.until(() => done.recorder.state === "done");
  await playing;
  assert.equal(await done.recorder.store.loadResume(key), null, "complete: nothing to resume");

  const withdrawn = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(withdrawn, "camera");
  await withdrawn.recorder.withdraw();
  assert.equal(await withdrawn.recorder.store.loadResume(key), null);

  const declined = setup({ env: { chunkStore: new MemoryChunkStore() } });
  await driveTo(declined, "consent");
  await declined.recorder.decline("not_now");
  // A mistaken "no thanks" can be taken back from the same browser.
  assert.equal((await declined.recorder.store.loadResume(key)).token, "resume-s1");
});

test("without a respondent id from the survey no token is kept (a random id resumes nothing)", async () => {
  const store = new MemoryChunkStore();
  const t = setup({ options: { respondentId: null }, env: { chunkStore: store } });
  await driveTo(t, "consent");
  assert.equal(store.resumes.size, 0);
});

test("a database held by a tab on an older recorder costs the resume, not the start", async () => {
  const request = {};
  const indexedDB = {
    open: () => {
      // The upgrade to this version waits on the other tab: the browser says "blocked".
      setImmediate(() => request.onblocked({ target: request }));
      return request;
    },
  };
  const errors = [];
  const store = await openChunkStore(indexedDB, { onError: (error) => errors.push(error) });
  assert.ok(store instanceof MemoryChunkStore);
  assert.match(errors[0].message, /held by another tab/);
});
