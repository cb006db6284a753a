// Knowing when uploads can go on again: ask the server itself. The browser's `online` event
// only says a network interface came back; when the server alone was down (a restart, a proxy
// error) it never fires, and when a network is back the server may still be unreachable.

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
   * @param {Function} [o.probe]  (signal) => Promise<boolean>: did the server answer?
   * @param {number[]} o.probeDelays  ms before each probe; the last one repeats
   * @param {number} o.fallbackMs  the longest pause between two probes (or tries, without probe)
   */
  constructor({ win, sleep, probe = null, probeDelays = [1000, 2000, 4000], fallbackMs }) {
    this.win = win;
    this.sleep = sleep;
    this.probe = probe;
    this.probeDelays = probeDelays.length ? probeDelays : [fallbackMs];
    this.fallbackMs = fallbackMs;
    this.waiters = 0; // uploads waiting now
    this.serverDown = false; // the network is up (as far as the browser knows), the server is not
  }

  get offline() {
    const nav = this.win && this.win.navigator;
    return Boolean(nav) && nav.onLine === false;
  }

  /** Resolve once the server answers a probe (tried at probeDelays and on `online`). */
  async wait(signal) {
    this.waiters += 1;
    try {
      for (let attempt = 0; ; attempt += 1) {
        this.serverDown = !this.offline;
        const delay = Math.min(
          this.probeDelays[Math.min(attempt, this.probeDelays.length - 1)],
          this.fallbackMs,
        );
        await this.pause(delay, signal);
        if (!this.probe) return;
        let answered = false;
        try {
          answered = await this.probe(signal);
        } catch (error) {
          if (error instanceof AbortedError || (signal && signal.aborted)) throw error;
        }
        if (answered) return;
      }
    } finally {
      this.waiters -= 1;
      if (!this.waiters) this.serverDown = false;
    }
  }

  /** Sleep `ms`, cut short by the browser's `online` event. */
  pause(ms, signal) {
    if (!this.win || typeof this.win.addEventListener !== "function") {
      return this.sleep(ms, signal);
    }
    const local = new AbortController();
    const stop = () => local.abort();
    if (signal) signal.addEventListener("abort", stop, { once: true });
    const online = new Promise((resolve) => {
      this.win.addEventListener("online", resolve, { once: true, signal: local.signal });
    });
    const timer = this.sleep(ms, local.signal).catch(() => {});
    return Promise.race([online, timer]).then(() => {
      const aborted = signal && signal.aborted;
      local.abort();
      if (signal) signal.removeEventListener("abort", stop);
      if (aborted) throw new AbortedError();
    });
  }
}
