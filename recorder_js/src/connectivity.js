// Knowing when the network is back: the `online` event, or a fallback timer because a server
// that is down (or a captive portal) never fires `online`.

import { AbortedError } from "./api.js";

/** Sleep that rejects with AbortedError when the signal aborts. */
export function makeSleep(setTimeoutFn, clearTimeoutFn) {
  return function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) {
        reject(new AbortedError());
        return;
      }
      const timer = setTimeoutFn(() => {
        if (signal) signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      function onAbort() {
        clearTimeoutFn(timer);
        reject(new AbortedError());
      }
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });
  };
}

export class Connectivity {
  /**
   * @param {object} o
   * @param {EventTarget|null} o.win  the window (fires online/offline); null outside a browser
   * @param {Function} o.sleep
   * @param {number} o.fallbackMs  how long to wait for `online` before trying anyway
   */
  constructor({ win, sleep, fallbackMs }) {
    this.win = win;
    this.sleep = sleep;
    this.fallbackMs = fallbackMs;
  }

  get offline() {
    const nav = this.win && this.win.navigator;
    return Boolean(nav) && nav.onLine === false;
  }

  /** Resolve when the browser says it is online again, or after the fallback delay. */
  wait(signal) {
    if (!this.win || typeof this.win.addEventListener !== "function") {
      return this.sleep(this.fallbackMs, signal);
    }
    const local = new AbortController();
    const stop = () => local.abort();
    if (signal) signal.addEventListener("abort", stop, { once: true });
    const online = new Promise((resolve) => {
      this.win.addEventListener("online", resolve, { once: true, signal: local.signal });
    });
    const timer = this.sleep(this.fallbackMs, local.signal).catch(() => {});
    return Promise.race([online, timer]).then(() => {
      const aborted = signal && signal.aborted;
      local.abort();
      if (signal) signal.removeEventListener("abort", stop);
      if (aborted) throw new AbortedError();
    });
  }
}
