// Uploading while recording: every chunk arrives once, across 5xx, lost answers, offline spells
// and a server that reports chunks missing at finish; playback events line up with ad time.

import assert from "node:assert/strict";
import { test } from "node:test";

import { driveTo, FakeServer, setup } from "./fakes.js";

async function runToEnd(
  t,
  until = () => ["done", "failed", "withdrawn"].includes(t.recorder.state),
) {
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(until);
  return playing;
}

/** Every chunk MediaRecorder produced is on the server, in its index, exactly as recorded. */
function assertEveryChunkArrived(t) {
  const recorders = t.MediaRecorder.instances;
  assert.equal(recorders.length, t.server.ads.length);
  t.server.ads.forEach((ad, i) => {
    const clip = t.server.clipFor(ad.id);
    assert.ok(clip, `a clip for ad ${ad.id}`);
    assert.equal(clip.status, "queued");
    assert.equal(clip.chunkCount, recorders[i].emitted);
    for (let index = 0; index < recorders[i].emitted; index += 1) {
      assert.match(clip.chunks.get(index), new RegExp(`^rec${recorders[i].id}-chunk${index}-`));
    }
  });
}

function puts(server) {
  return server.requests.filter((r) => r.method === "PUT");
}

test("the happy path uploads ~1 s chunks once each, with the chosen mime type", async () => {
  const t = setup();
  await runToEnd(t);
  assert.equal(t.recorder.state, "done");
  assertEveryChunkArrived(t);
  assert.equal(t.MediaRecorder.instances[0].timeslice, 1000);
  assert.equal(t.server.clipFor(101).mime, "video/webm;codecs=vp9");
  assert.equal(t.server.duplicatePuts, 0);
  const total = [...t.server.clips.values()].reduce((n, clip) => n + clip.chunkCount, 0);
  assert.equal(puts(t.server).length, total);
  const last = t.seen.progress.at(-1);
  assert.equal(last.chunksAcked, total);
  assert.equal(last.chunksTotal, total);
  assert.equal(last.clipsFinished, 2);
});

test("5xx and network errors on chunks are retried with backoff; nothing is lost", async () => {
  const server = new FakeServer();
  server.script(({ method, path }) => method === "PUT" && path.endsWith("/chunks/1"), 500, 2);
  server.script(({ method, path }) => method === "PUT" && path.endsWith("/chunks/2"), "network", 1);
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "done");
  assertEveryChunkArrived(t);
  assert.equal(server.duplicatePuts, 0);
});

test("a chunk whose answer was lost is not sent again: the clip's status says it arrived", async () => {
  const server = new FakeServer();
  server.script(({ method, path }) => method === "PUT" && path === "/clips/1/chunks/1", "lost", 1);
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "done");
  assertEveryChunkArrived(t);
  const putsOfChunk1 = puts(server).filter((r) => r.path === "/clips/1/chunks/1");
  assert.equal(putsOfChunk1.length, 1, "asked GET /clips/1 instead of resending");
  assert.ok(server.requests.some((r) => r.method === "GET" && r.path === "/clips/1"));
  assert.equal(server.duplicatePuts, 0);
});

test("offline mid-ad: uploads wait for `online`, resync, resume, never duplicate", async () => {
  const server = new FakeServer({
    ads: [
      {
        id: 201,
        title: "Long",
        duration_s: 8,
        width: 640,
        height: 360,
        video_url: "/ads/201.webm",
        poster_url: null,
      },
    ],
  });
  // The answer to the PUT in flight when the network drops is lost after the server stored it.
  server.script(({ method, path }) => method === "PUT" && path === "/clips/1/chunks/2", "lost", 1);
  const t = setup({ server });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => server.clipFor(201)?.chunks.has(2));
  server.offline = true;
  t.win.goOffline();
  const offlineRequests = server.requests.length;
  await t.clock.tick(4000);
  assert.equal(t.recorder.state, "playing", "the ad keeps playing and recording offline");
  assert.ok(t.recorder.progress.waiting, "the uploader knows it is waiting for the network");
  assert.ok(server.requests.length - offlineRequests <= 6, "no hammering while offline");
  server.offline = false;
  t.win.goOnline();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assertEveryChunkArrived(t);
  assert.equal(server.duplicatePuts, 0);
  assert.ok(!t.recorder.progress.waiting);
});

test("server down, network fine: the recorder probes the server and resumes within a probe delay", async () => {
  const server = new FakeServer();
  const t = setup({
    server,
    options: { retryDelays: [100, 200], probeDelays: [1000, 2000], offlineRetryMs: 15000 },
  });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => server.clipFor(101)?.chunks.size >= 1);
  server.offline = true; // navigator.onLine stays true, as when only the server is unreachable
  const from = t.clock.now();
  await t.clock.tick(8000);
  assert.ok(t.recorder.progress.waiting);
  assert.ok(t.recorder.connectivity.serverDown, "the server, not the network, is down");
  const probes = server.requests.filter((r) => r.at >= from && r.path === "/ping");
  assert.ok(probes.length >= 3 && probes.length <= 6, `${probes.length} probes in 8 s`);
  // No `online` event ever comes: before, the recorder slept offlineRetryMs (15 s) after its
  // retries; now it goes on at the first probe the server answers.
  server.offline = false;
  const back = t.clock.now();
  await t.clock.until(() => server.requests.some((r) => r.at >= back && r.method === "PUT"));
  assert.ok(t.clock.now() - back <= 2000, `resumed ${t.clock.now() - back} ms after the server`);
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assertEveryChunkArrived(t);
  assert.equal(server.duplicatePuts, 0);
  assert.ok(!t.recorder.connectivity.serverDown);
});

test("finish answered 409 with missing chunks: they are sent again and finish retried", async () => {
  const server = new FakeServer();
  let forgot = false;
  const original = server.handle.bind(server);
  server.handle = async (method, path, request) => {
    if (!forgot && method === "POST" && path === "/clips/1/finish") {
      forgot = true;
      server.clips.get(1).chunks.delete(0); // e.g. a chunk the server had to drop
      server.clips.get(1).chunks.delete(2);
    }
    return original(method, path, request);
  };
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "done");
  assertEveryChunkArrived(t);
  const finishes = server.requests.filter((r) => r.path === "/clips/1/finish");
  assert.equal(finishes.length, 2);
  const resent = puts(server).filter(
    (r) => r.path === "/clips/1/chunks/0" || r.path === "/clips/1/chunks/2",
  );
  assert.equal(resent.length, 4, "chunks 0 and 2: sent, reported missing, sent again");
});

test("a chunk refused with a 4xx (413) fails the session without retrying it", async () => {
  const server = new FakeServer();
  server.script(({ method, path }) => method === "PUT" && path === "/clips/1/chunks/0", 413, 1);
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "failed");
  assert.equal(puts(server).filter((r) => r.path === "/clips/1/chunks/0").length, 1);
  assert.ok(t.seen.errors.some((e) => e.code === "upload_failed" && /413/.test(e.message)));
  assert.equal(server.session.status, "failed");
  assert.equal(t.camera.live, 0);
});

test("drain timeout: if the last chunks cannot be sent in time, the session fails", async () => {
  const server = new FakeServer();
  const t = setup({ server, options: { drainTimeoutMs: 30000 } });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.detail.phase === "recording");
  server.offline = true;
  t.win.goOffline();
  await t.clock.until(() => t.recorder.state === "draining");
  assert.ok(t.seen.progress.at(-1).chunksAcked < t.seen.progress.at(-1).chunksTotal);
  server.offline = false; // the server is back but the browser never says `online`…
  await t.clock.until(() => t.recorder.state === "failed" || t.recorder.state === "done");
  await playing;
  // …and offlineRetryMs (15 s) < drainTimeoutMs (30 s), so the fallback timer saves the day.
  assert.equal(t.recorder.state, "done");
  const stuck = setup({ options: { drainTimeoutMs: 10000 } });
  await driveTo(stuck, "ready");
  const stuckPlaying = stuck.recorder.play();
  await stuck.clock.until(() => stuck.recorder.detail.phase === "recording");
  stuck.server.offline = true;
  stuck.win.goOffline();
  await stuck.clock.until(() => stuck.recorder.state === "failed");
  await stuckPlaying;
  assert.match(
    stuck.seen.errors.find((e) => e.code === "failed").message,
    /could not be sent in time/,
  );
});

test("playback events: start, stall, resume, hidden, visible, end with clip time and ad time", async () => {
  const server = new FakeServer({
    ads: [
      {
        id: 301,
        title: "Stally",
        duration_s: 4,
        width: 640,
        height: 360,
        video_url: "/ads/301.webm",
        poster_url: null,
      },
    ],
  });
  const t = setup({ server, video: { stalls: [{ url: "/ads/301.webm", at: 1.5, ms: 2000 }] } });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 2.5);
  t.doc.setHidden(true);
  await t.clock.tick(500);
  t.doc.setHidden(false);
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  const events = [...server.clipFor(301).events.values()].sort((a, b) => a.seq - b.seq);
  assert.deepEqual(
    events.map((e) => e.kind),
    ["start", "stall", "resume", "hidden", "visible", "end"],
  );
  assert.deepEqual(
    events.map((e) => e.seq),
    [0, 1, 2, 3, 4, 5],
  );
  const [start, stall, resume, , , end] = events;
  assert.equal(start.clip_ms, 0);
  assert.equal(stall.ad_ms, 1500);
  assert.equal(resume.ad_ms, 1500);
  // Recording paused during the 2 s stall: clip time does not advance, so the recorded video
  // is 4 s long although 6 s of wall time passed.
  assert.equal(resume.clip_ms, stall.clip_ms);
  assert.equal(end.ad_ms, 4000);
  assert.ok(Math.abs(end.clip_ms - 4000) <= 20, `end.clip_ms ${end.clip_ms}`);
  assert.ok(Math.abs(end.clip_ms - stall.clip_ms - (end.ad_ms - stall.ad_ms)) <= 20);
});

test("no seeking: a jump of the playhead is put back; playback goes on to the end", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 1);
  const before = t.video.currentTime;
  t.video.seekTo(2.9);
  assert.equal(t.video.currentTime, before);
  assert.equal(t.video.controls, false);
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
});

test("a tab closed mid-ad keeps what was sent: chunks are PUT as they come, not at the end", async () => {
  const t = setup();
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => t.video.currentTime >= 2.5);
  const clip = t.server.clipFor(101);
  assert.ok(clip.chunks.size >= 2, `${clip.chunks.size} chunks on the server 2.5 s into the ad`);
  assert.ok(clip.events.has(0), "the start event is sent at once");
});

test("each chunk carries its SHA-256, so the server can refuse damaged bytes", async () => {
  const t = setup();
  await runToEnd(t);
  const sent = puts(t.server);
  assert.ok(sent.length > 0);
  for (const request of sent) assert.match(request.headers["X-Chunk-Sha256"], /^[0-9a-f]{64}$/);
});

test("a clip the server closed itself (it took a long drop for a closed tab) ends quietly", async () => {
  const server = new FakeServer();
  // When chunk 2 of the first clip arrives, the server has already finished that clip from
  // chunks 0..1, as its idle job does: later chunks and events are answered 409.
  server.script(({ method, path }) => {
    if (method === "PUT" && path === "/clips/1/chunks/2") server.clips.get(1).status = "queued";
    return false;
  }, 500);
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "done", "the session completes; the first clip was analysed");
  assert.ok(server.requests.some((r) => r.method === "GET" && r.path === "/clips/1"));
  const putsAfterClose = puts(server).filter(
    (r) => r.path.startsWith("/clips/1/chunks/") && Number(r.path.split("/").at(-1)) > 2,
  );
  assert.equal(putsAfterClose.length, 0, "nothing more is sent for a closed clip");
  assert.equal(server.clipFor(102).status, "queued", "the next ad's clip uploads as usual");
});

test("a 409 for other bytes on an open clip still fails the session, after one status check", async () => {
  const server = new FakeServer();
  server.script(({ method, path }) => method === "PUT" && path === "/clips/1/chunks/1", 409, 1);
  const t = setup({ server });
  await runToEnd(t);
  assert.equal(t.recorder.state, "failed");
  assert.equal(server.requests.filter((r) => r.method === "GET" && r.path === "/clips/1").length, 1);
});
