// The withdrawal service worker (withdraw-sync.js registers it; its scope holds no page, and it
// has no fetch handler: it never sees a page's requests). On the browser's `sync` event it sends
// every withdrawal kept in this origin's IndexedDB, exactly as a recorder page would
// (withdrawals.js: the session's own token, else its receipt code; an acknowledged or final
// answer drops the record). If any is still unsent, the event fails and the browser tries again
// later, with backoff; a recorder page opened meanwhile sends it too (the server's answer to a
// second withdrawal of the same session is the same).

import { fetchTransport } from "./api.js";
import { openChunkStore } from "./chunk-store.js";
import { Sent, sendKeptWithdrawals } from "./withdrawals.js";
import { SYNC_TAG } from "./withdraw-sync.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sendKept() {
  const store = await openChunkStore(self.indexedDB);
  const outcomes = await sendKeptWithdrawals(store, { transport: fetchTransport(), sleep });
  if (Object.values(outcomes).includes(Sent.LATER)) {
    throw new Error("a withdrawal could not be sent yet; the browser tries again later");
  }
}

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(sendKept());
});
