// One tab owns a session where the browser has no Web Locks: a heartbeat in localStorage
// (tab-hold.js) keeps a second tab out, frees the session when the owner ends or goes away,
// and lets only one of two tabs claiming at the same moment win.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryChunkStore } from "../src/chunk-store.js";
import { CLAIM_SETTLE_MS, STALE_MS, holdTab } from "../src/tab-hold.js";
import { FakeClock, FakeServer, FakeStorage, driveTo, setup } from "./fakes.js";

function tab(server, browser, id) {
  return setup({ server, env: { ...browser, locks: null, randomId: () => id } });
}

test("without Web Locks a second tab is kept out by the heartbeat, and touches nothing", async () => {
  const browser = { chunkStore: new MemoryChunkStore(), localStorage: new FakeStorage() };
  const server = new FakeServer();
  server.ads[0].duration_s = 6;
  const a = tab(server, browser, "tab-a");
  await driveTo(a, "ready");
  const playing = a.recorder.play();
  await a.clock.until(() => server.clipFor(101)?.chunks.size >= 2);

  const before = server.requests.length;
  const b = tab(server, browser, "tab-b");
  assert.equal(await b.recorder.start(), true);
  assert.equal(b.recorder.state, "elsewhere");
  assert.equal(server.requests.length, before, "no start, no resume, no end from tab B");
  assert.equal(b.camera.calls.length, 0);

  await a.clock.until(() => a.recorder.state === "done");
  await playing;
  assert.equal(server.session.status, "complete");
  assert.equal(browser.localStorage.items.size, 0, "the ended session's hold is gone");

  const c = tab(server, browser, "tab-c");
  await driveTo(c, "consent");
  assert.equal(c.recorder.session.session_id, "s2", "a tab opened after the end starts afresh");
});

test("a closed owner frees the session at once; a crashed one after the heartbeat goes stale", async () => {
  const browser = { chunkStore: new MemoryChunkStore(), localStorage: new FakeStorage() };
  const server = new FakeServer();
  const a = tab(server, browser, "tab-a");
  await driveTo(a, "consent");
  a.win.dispatchEvent(Object.assign(new Event("pagehide"), { persisted: false }));
  const b = tab(server, browser, "tab-b");
  await driveTo(b, "consent");
  assert.equal(b.recorder.session.session_id, "s1", "the reload resumes the session");

  // Tab B crashes: no pagehide, its last beat stays behind and goes stale.
  b.clock.timers = [];
  const crashedAt = b.clock.now();
  const early = tab(server, browser, "tab-c");
  early.clock.t = crashedAt + 1000;
  assert.equal(await early.recorder.start(), true);
  assert.equal(early.recorder.state, "elsewhere", "a beat 1 s old still holds");
  const late = tab(server, browser, "tab-d");
  late.clock.t = crashedAt + STALE_MS + 1;
  await driveTo(late, "consent");
  assert.equal(late.recorder.session.session_id, "s1");
});

test("two tabs claiming at the same moment: exactly one holds", async () => {
  const clock = new FakeClock();
  const storage = new FakeStorage();
  const env = (id) => ({
    locks: null,
    localStorage: storage,
    wallNow: () => 1_700_000_000_000 + clock.now(),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    window: null,
    randomId: () => id,
  });
  const first = holdTab("k", env("one"));
  const second = holdTab("k", env("two"));
  await clock.tick(CLAIM_SETTLE_MS);
  const held = [await first, await second].filter(Boolean);
  assert.equal(held.length, 1);
  held[0]();
  assert.equal(storage.getItem("candor-recorder:k"), null, "released: the entry is removed");
  const third = holdTab("k", env("three"));
  await clock.tick(CLAIM_SETTLE_MS);
  assert.equal(typeof (await third), "function", "free again for the next tab");
});

test("a page whose localStorage throws is not held back", async () => {
  const blocked = {
    get localStorage() {
      throw new Error("SecurityError");
    },
  };
  const release = await holdTab("k", {
    locks: null,
    get localStorage() {
      return blocked.localStorage;
    },
    randomId: () => "x",
  });
  assert.equal(typeof release, "function");
});
