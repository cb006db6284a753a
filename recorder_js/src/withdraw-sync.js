// Background Sync for kept withdrawals: a withdrawal made offline reaches the server even if
// the panelist closes the tab and never opens the recorder again.
//
// Where the browser offers Background Sync (Chromium-based browsers), the recorder page
// registers a small service worker from Candor's own origin (withdraw-sw.js) once the panelist
// agrees (a panelist who declines has nothing to withdraw and gets none), while the network is
// there to fetch it. Its scope is `/recorder/withdrawals/`, where no page
// lives: it controls no page and sees no request of any; it only answers the `sync` event, by
// sending the withdrawals kept in IndexedDB (withdrawals.js), and the browser fires that event
// once the network is back, tab open or not, retrying with backoff while the server does not
// answer. A withdrawal the page could not send asks for that event (`requestWithdrawalSync`).
//
// Nothing of it can work where the recorder runs on another origin than Candor's (loaded by a
// script tag into the survey page: a service worker must come from the page's own origin),
// where the browser has no Background Sync (Firefox, Safari), where service workers are off
// (a private window, a policy), or where a third-party iframe's storage is partitioned and the
// browser refuses either. Then `requestWithdrawalSync` says false, and the recorder says so in
// plain words: the withdrawal goes while the page stays open, or from the next page of this
// origin that loads the recorder; the receipt code erases from any device (the /erase page).

export const SYNC_TAG = "candor-withdrawals";
const WORKER_FILE = "./withdraw-sw.js";
const WORKER_SCOPE = "./withdrawals/";
const ACTIVATION_TIMEOUT_MS = 10000;

/**
 * Register the withdrawal service worker if Background Sync can work here; resolves to its
 * registration once active, or null (with no error: the recorder falls back). Never rejects.
 */
export async function prepareWithdrawalSync({ window: win, setTimeout: set } = {}) {
  try {
    const nav = win && win.navigator;
    const container = nav && nav.serviceWorker;
    if (!container || !win.isSecureContext || typeof win.SyncManager !== "function") return null;
    const script = new URL(WORKER_FILE, import.meta.url);
    if (script.origin !== win.location.origin) return null; // only from Candor's own origin
    const registration = await container.register(script.href, {
      scope: new URL(WORKER_SCOPE, import.meta.url).href,
      type: "module",
      updateViaCache: "none",
    });
    if (!registration.sync) return null;
    return await activated(registration, set || setTimeout);
  } catch {
    return null;
  }
}

/** The registration once its worker is active (sync.register needs one), or null in time. */
function activated(registration, set) {
  if (registration.active) return Promise.resolve(registration);
  const worker = registration.installing || registration.waiting;
  if (!worker) return Promise.resolve(null);
  return new Promise((resolve) => {
    set(() => resolve(registration.active ? registration : null), ACTIVATION_TIMEOUT_MS);
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(registration);
      if (worker.state === "redundant") resolve(null);
    });
  });
}

/** Ask the browser to send the kept withdrawals once it is online, even with the tab closed.
 * True if it promised to; false where it cannot (see the top of this file). */
export async function requestWithdrawalSync(ready) {
  try {
    const registration = await ready;
    if (!registration) return false;
    await registration.sync.register(SYNC_TAG);
    return true;
  } catch {
    return false;
  }
}
