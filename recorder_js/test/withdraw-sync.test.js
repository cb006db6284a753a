import assert from "node:assert/strict";
import { test } from "node:test";

import { SYNC_TAG, prepareWithdrawalSync, requestWithdrawalSync } from "../src/withdraw-sync.js";

function fakeWindow({ sync = true, origin } = {}) {
  const registered = [];
  const registration = {
    active: {},
    sync: { register: async (tag) => registered.push(tag) },
  };
  return {
    registered,
    win: {
      isSecureContext: true,
      SyncManager: sync ? function SyncManager() {} : undefined,
      location: { origin: origin || new URL(import.meta.url).origin },
      navigator: { serviceWorker: { register: async () => registration } },
    },
  };
}

test("no Background Sync, no service worker: the recorder is told it cannot promise", async () => {
  const { win } = fakeWindow({ sync: false });
  assert.equal(await prepareWithdrawalSync({ window: win, setTimeout }), null);
  assert.equal(await requestWithdrawalSync(Promise.resolve(null)), false);
});

test("the recorder on another origin than Candor's registers nothing", async () => {
  const { win } = fakeWindow({ origin: "https://survey.example" });
  assert.equal(await prepareWithdrawalSync({ window: win, setTimeout }), null);
});

test("a registration that takes the sync makes the promise; one that refuses does not", async () => {
  const { win, registered } = fakeWindow();
  const ready = prepareWithdrawalSync({ window: win, setTimeout });
  assert.equal(await requestWithdrawalSync(ready), true);
  assert.deepEqual(registered, [SYNC_TAG]);
  const refusing = { sync: { register: async () => Promise.reject(new Error("denied")) } };
  assert.equal(await requestWithdrawalSync(Promise.resolve(refusing)), false);
});
