// Leaving the page: a beacon tells the server the panelist left, so a closed tab's clip is
// finished at once (its recording over, every chunk acknowledged) or by the server's left rule
// soon after (cut off mid-ad, chunks held back), instead of after its long idle wait; a hidden
// tab shown again says it is back, until that arrives.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
import { driveTo, FakeServer, setup } from "./fakes.js";

function longAdServer() {
  const server = new FakeServer();
  server.ads[0].duration_s = 8;
  return server;
}

async function midAd(t, chunks = 2) {
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.server.clipFor(101)?.chunks.size >= chunks);
  // Let the chunk in flight be acknowledged: every recorded chunk is on the server.
  await t.clock.until(() => t.recorder.uploads.items[0].pendingChunks().length === 0);
}

test("closing the tab mid-ad: the cut-off clip is not listed (a reload may offer the ad again)", async () => {
  const t = setup({ server: longAdServer() });
  await midAd(t);
  const clip = t.server.clipFor(101);

  t.doc.setHidden(true); // a closing tab is hidden first...
  t.win.pageHide(); // ...then unloaded

  const [hidden, leaving] = t.server.beacons;
  assert.equal(hidden.path, "/sessions/s1/presence");
  assert.deepEqual(hidden.message, {
    token: "tok-s1",
    seq: hidden.message.seq,
    present: false,
    clips: [],
  });
  assert.deepEqual(leaving.message.clips, [], "still recording: the server's left rule decides");
  assert.equal(leaving.message.token, "tok-s1", "authenticated by the session's bearer token");
  assert.ok(leaving.message.seq > hidden.message.seq, "each message newer than the last");
  assert.equal(t.server.session.left, true);
  assert.equal(clip.status, "uploading");
});

test("closing the tab once the recording is over, every chunk acknowledged: finished at once", async () => {
  const t = setup({ server: longAdServer() });
  await midAd(t);
  const clip = t.server.clipFor(101);
  const upload = t.recorder.uploads.items[0];
  const recorded = upload.chunkCount;

  t.doc.setHidden(true);
  upload.close(); // the recording ended (the ad, or the camera) and "finish" is not sent yet
  t.win.pageHide();

  const leaving = t.server.beacons.at(-1);
  const [listed] = leaving.message.clips;
  assert.deepEqual(
    { ...listed, events: undefined },
    { clip_id: clip.id, chunk_count: recorded, events: undefined },
  );
  // The tab's "hidden", logged as it closed and not sent yet, goes with it for the analysis.
  assert.deepEqual(
    listed.events.map((e) => e.kind),
    ["hidden"],
  );
  assert.equal(clip.events.get(listed.events[0].seq).kind, "hidden");
  assert.equal(clip.status, "queued");
  assert.equal(clip.chunkCount, recorded);
});

test("Chromium's order (pagehide, then hidden): the final beacon is the last one sent", async () => {
  const t = setup({ server: longAdServer() });
  await midAd(t);
  t.recorder.uploads.items[0].close();
  t.win.pageHide();
  t.doc.setHidden(true);
  assert.equal(t.server.beacons.length, 1, "nothing after the page began to unload");
  assert.equal(t.server.beacons[0].message.clips.length, 1);
  assert.equal(t.server.clipFor(101).status, "queued");
});

test("the beacon is a plain text body: a cross-origin beacon needs no preflight", async () => {
  const sent = [];
  const t = setup({
    server: longAdServer(),
    env: { sendBeacon: (url, body) => sent.push({ url, body }) > 0 },
  });
  await midAd(t);
  t.win.pageHide();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].url, "http://candor.test/api/v1/panel/sessions/s1/presence");
  assert.equal(typeof sent[0].body, "string", "sendBeacon sends a string as text/plain");
  assert.equal(JSON.parse(sent[0].body).present, false);
});

test("chunks still held back (offline): the clip is not listed, a reload will send them", async () => {
  const server = longAdServer();
  const t = setup({ server, env: { chunkStore: new MemoryChunkStore() } });
  await midAd(t);
  server.offline = true;
  t.win.goOffline();
  await t.clock.tick(2500); // chunks recorded meanwhile wait in the store
  assert.ok(t.recorder.uploads.items[0].pendingChunks().length > 0);
  server.offline = false; // the beacon gets through as the page goes
  t.win.pageHide();
  const [leaving] = server.beacons;
  assert.deepEqual(leaving.message.clips, []);
  assert.deepEqual(leaving.answer.body, { taken: true, queued: 0, abandoned: 0 });
  assert.equal(server.clipFor(101).status, "uploading");
});

test("a hidden tab shown again says it is back; the recording goes on and ends normally", async () => {
  const t = setup({ server: longAdServer() });
  await midAd(t);
  t.doc.setHidden(true);
  await t.clock.tick(1500);
  t.doc.setHidden(false);
  await t.clock.flush();
  assert.equal(t.server.beacons.length, 1, "hidden: one beacon, no clip listed");
  assert.deepEqual(t.server.beacons[0].message.clips, []);
  const back = t.server.requests.filter((r) => r.path === "/sessions/s1/presence");
  assert.equal(back.length, 1, "shown again: one call, with the bearer header");
  assert.equal(back[0].headers.Authorization, "Bearer tok-s1");
  const body = JSON.parse(back[0].body);
  assert.equal(body.present, true);
  assert.ok(body.seq > t.server.beacons[0].message.seq);
  assert.equal(t.server.session.left, false);
  await t.clock.until(() => t.recorder.state === "done");
  assert.equal(t.server.clipFor(101).status, "queued");
  assert.equal(t.seen.errors.length, 0, JSON.stringify(t.seen.errors));
});

test("no beacon before the session exists, and none once it ended", async () => {
  const t = setup();
  t.doc.setHidden(true);
  t.win.pageHide();
  assert.equal(t.server.beacons.length, 0, "nothing to tell before the session started");
  t.doc.setHidden(false);
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  t.doc.setHidden(true);
  t.win.pageHide();
  assert.equal(t.server.beacons.length, 0, "the session ended: nothing to tell");
});

test("into the back/forward cache: a hint only, no clip listed; shown again: back", async () => {
  const t = setup({ server: longAdServer() });
  await midAd(t);
  t.win.pageHide({ persisted: true });
  assert.deepEqual(t.server.beacons[0].message.clips, []);
  assert.equal(t.server.clipFor(101).status, "uploading");
  t.win.pageShow({ persisted: true });
  await t.clock.flush();
  assert.equal(t.server.session.left, false);
});

test("sequence numbers keep rising across a reload even if the clock stands still", async () => {
  const server = longAdServer();
  const store = new MemoryChunkStore();
  const frozen = { wallNow: () => 1_700_000_000_000 };
  const first = setup({ server, env: { chunkStore: store, ...frozen } });
  await midAd(first);
  first.doc.setHidden(true);
  first.doc.setHidden(false);
  first.doc.setHidden(true);
  await first.clock.flush();
  const seqs = [
    ...server.beacons.map((b) => b.message.seq),
    ...server.requests
      .filter((r) => r.path === "/sessions/s1/presence")
      .map((r) => JSON.parse(r.body).seq),
  ].sort();
  assert.equal(new Set(seqs).size, 3, "three messages, three numbers");
  assert.deepEqual(
    server.presence.map((p) => p.taken),
    [true, true, true],
  );
  // A replay of the first beacon changes nothing on the server.
  const replay = server.beacon(
    "http://candor.test/api/v1/panel/sessions/s1/presence",
    JSON.stringify(server.beacons[0].message),
  );
  assert.equal(replay, true);
  assert.equal(server.beacons.at(-1).answer.body.taken, false);
});

test("a 'back' that cannot get through is sent again when the network returns", async () => {
  const server = longAdServer();
  const t = setup({ server, env: { chunkStore: new MemoryChunkStore() } });
  await midAd(t);
  t.doc.setHidden(true);
  await t.clock.tick(500);
  server.offline = true;
  t.win.goOffline();
  t.doc.setHidden(false); // shown again while offline: the server still believes it hidden
  await t.clock.tick(3000);
  assert.equal(server.session.left, true);
  server.offline = false;
  t.win.goOnline();
  await t.clock.until(() => server.session.left === false);
  await t.clock.until(() => t.recorder.state === "done");
  assert.equal(server.clipFor(101).status, "queued");
});
