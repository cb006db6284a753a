// One tab owns a session: a second tab of the same browser, for the same respondent, is told
// the recording is open elsewhere, and neither resumes nor ends it (issue 20, item 2).

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
import { strings } from "../src/i18n.js";
import { driveTo, FakeLocks, FakeServer, setup } from "./fakes.js";

test("a second tab is told the recording is open in another tab, and touches nothing", async () => {
  const browser = { chunkStore: new MemoryChunkStore(), locks: new FakeLocks() };
  const server = new FakeServer();
  server.ads[0].duration_s = 6;
  const a = setup({ server, env: browser });
  await driveTo(a, "ready");
  const playing = a.recorder.play();
  await a.clock.until(() => server.clipFor(101)?.chunks.size >= 2);

  const before = server.requests.length;
  const b = setup({ server, env: browser });
  assert.equal(await b.recorder.start(), true);
  assert.equal(b.recorder.state, "elsewhere");
  assert.equal(server.requests.length, before, "no start, no resume, no end from tab B");
  assert.equal(b.recorder.returnUrl, null, "tab B sends the survey no status");
  assert.equal(b.camera.calls.length, 0);
  assert.equal(await b.recorder.withdraw(), false, "nothing to withdraw from tab B");

  // Tab A goes on as if B had never opened: every chunk arrives, one status, "complete".
  await a.clock.until(() => a.recorder.state === "done");
  await playing;
  assert.equal(server.session.id, "s1");
  assert.equal(server.session.status, "complete");
  assert.equal(server.clipFor(101).status, "queued");
  assert.equal(server.clipFor(101).chunkCount, a.MediaRecorder.instances[0].emitted);
  assert.deepEqual(a.seen.errors, []);

  // A's session is over: a tab opened now starts afresh.
  const c = setup({ server, env: browser });
  await driveTo(c, "consent");
  assert.equal(c.recorder.session.session_id, "s2");
});

test("a tab closed mid-ad lets the next one resume (the browser frees its lock)", async () => {
  const browser = { chunkStore: new MemoryChunkStore(), locks: new FakeLocks() };
  const server = new FakeServer();
  server.ads[0].duration_s = 6;
  const a = setup({ server, env: browser });
  await driveTo(a, "ready");
  a.recorder.play();
  await a.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  a.recorder.uploads.abortAll();
  a.recorder.cameraOff();
  a.clock.timers = [];
  browser.locks.releaseAll();

  const b = setup({ server, env: browser });
  await driveTo(b, "consent");
  assert.equal(b.recorder.session.session_id, "s1", "resumed by the only tab left");
});

test("the 'elsewhere' screen's words exist in every locale", () => {
  for (const locale of ["en", "fr"]) {
    assert.ok(strings(locale).elsewhereTitle && strings(locale).elsewhereExplain, locale);
  }
});

test("a session erased by the server mid-ad (another browser took over): camera off within a chunk", async () => {
  const server = new FakeServer();
  server.ads[0].duration_s = 20;
  const t = setup({ server });
  await driveTo(t, "ready");
  t.recorder.play();
  await t.clock.until(() => server.clipFor(101)?.chunks.size >= 2);
  const erasedAt = t.clock.now();
  server.session.status = "withdrawn"; // erased on the server: its clips are gone
  server.clips.clear();
  await t.clock.until(() => t.recorder.state === "failed");
  const after = t.clock.now() - erasedAt;
  assert.ok(after <= 2000, `failed ${after} ms after the erasure`);
  assert.equal(t.camera.live, 0);
  assert.equal(t.recorder.recording, false);
  assert.equal(t.recorder.status, "failed");
});
