// Uploads one clip: its ~1 s chunks by index, its playback events by seq, then "finish".
//
// Every chunk is kept in memory until the server has acknowledged the finished clip, so a chunk
// the server reports missing can be sent again; an unacknowledged one is also kept in the
// chunk store (IndexedDB), so a reload resumes it (`restore`). A chunk is PUT again only if no answer came back
// for it, and only after asking the server (GET /clips/{id}) which indices it already holds: an
// acknowledged or reported chunk is never sent twice.

import { AbortedError, HttpError, NetworkError, isRetryable } from "./api.js";

const MAX_FINISH_ROUNDS = 5;
const MAX_BEACON_EVENTS = 100; // what the server takes per clip in a "left the page" beacon

export class ClipUpload {
  /**
   * @param {object} o
   * @param {import("./api.js").PanelApi} o.api
   * @param {Function} o.createClip  (signal) => Promise<{clip_id, received}>
   * @param {import("./connectivity.js").Connectivity} o.connectivity
   * @param {number[]} o.retryDelays
   * @param {Function} [o.onShouldRetry]
   * @param {number} o.parallel  chunk PUTs in flight at once
   * @param {Function} o.onChange  called after every acknowledged chunk and state change
   * @param {object} [o.store]  chunk store (chunk-store.js) for chunks not yet acknowledged
   * @param {object} [o.storeKey]  {session, ad, mimeType}: where this clip's chunks are stored
   */
  constructor({
    api,
    createClip,
    connectivity,
    retryDelays,
    onShouldRetry,
    parallel,
    onChange,
    store = null,
    storeKey = null,
  }) {
    this.api = api;
    this.createClip = createClip;
    this.connectivity = connectivity;
    this.retryDelays = retryDelays;
    this.onShouldRetry = onShouldRetry;
    this.parallel = Math.max(1, parallel);
    this.onChange = onChange || (() => {});
    this.store = store && storeKey ? store : null;
    this.storeKey = storeKey;
    this.restored = false; // its chunks came from the store after a reload
    this.lost = 0; // chunks recorded that can no longer reach the server (it closed the clip)
    this.controller = new AbortController();
    this.clipId = null;
    this.chunks = []; // index → {blob, bytes, acked}
    this.events = []; // {seq, kind, clip_ms, ad_ms, sent}
    this.closed = false;
    this.finished = false;
    // The server closed the clip itself (a long network drop looked like a closed tab to it, so it
    // analysed what had arrived): what is recorded after that has nowhere to go.
    this.closedByServer = false;
    this.waiting = false; // true while waiting for the network
    this.error = null;
    this.wakeUp = null;
    this.done = this.run();
    // An unobserved rejection must not crash the page; the recorder awaits `done` itself.
    this.done.catch(() => {});
  }

  /** Queue a chunk; returns its index. Empty blobs carry nothing and get no index. */
  add(blob) {
    if (this.closed) throw new Error("clip is closed");
    if (!blob || !blob.size || this.closedByServer) return -1;
    this.chunks.push({ blob, bytes: blob.size, acked: false });
    const index = this.chunks.length - 1;
    if (this.store) {
      const { session, ad, mimeType } = this.storeKey;
      this.store.save(session, ad, index, blob, mimeType);
    }
    this.wake();
    return index;
  }

  /**
   * After a reload: the chunks the store kept for this clip (index → Blob). Holes are chunks
   * acknowledged before the reload, or lost with it; the server's list tells them apart.
   */
  restore(saved) {
    const last = Math.max(-1, ...saved.keys());
    for (let index = 0; index <= last; index += 1) {
      const blob = saved.get(index);
      this.chunks[index] = blob
        ? { blob, bytes: blob.size, acked: false }
        : { blob: null, bytes: 0, acked: false };
    }
    this.restored = true;
    this.close();
  }

  /** A restored clip: take the server's chunks as acked, and end it before its first hole. */
  adoptReceived(indices) {
    for (const index of indices) {
      if (!this.chunks[index]) this.chunks[index] = { blob: null, bytes: 0, acked: true };
    }
    this.markReceived(indices);
    const hole = this.chunks.findIndex((chunk) => !chunk || (!chunk.acked && !chunk.blob));
    if (hole >= 0) {
      // What follows a missing chunk cannot be decoded: the clip is what came before it.
      for (let index = hole; index < this.chunks.length; index += 1) this.forget(index);
      this.chunks.length = hole;
    }
  }

  /** The server has this chunk (or will never take it): out of the store. */
  forget(index) {
    if (this.store) this.store.drop(this.storeKey.session, this.storeKey.ad, index);
  }

  addEvent(kind, clipMs, adMs) {
    if (this.closedByServer) return;
    const event = { seq: this.events.length, kind, clip_ms: round(clipMs), ad_ms: round(adMs) };
    this.events.push({ ...event, sent: false });
    this.wake();
  }

  /** No more chunks: finish once everything is acknowledged. */
  close() {
    this.closed = true;
    this.wake();
  }

  abort() {
    this.controller.abort();
  }

  get chunkCount() {
    return this.chunks.length;
  }

  get progress() {
    let bytesAcked = 0;
    let chunksAcked = 0;
    let bytesTotal = 0;
    for (const chunk of this.chunks) {
      bytesTotal += chunk.bytes;
      if (chunk.acked) {
        bytesAcked += chunk.bytes;
        chunksAcked += 1;
      }
    }
    return {
      chunksTotal: this.chunks.length,
      chunksAcked,
      bytesTotal,
      bytesAcked,
      finished: this.finished,
      waiting: this.waiting,
    };
  }

  wake() {
    if (this.wakeUp) {
      const resolve = this.wakeUp;
      this.wakeUp = null;
      resolve();
    }
  }

  sleepUntilWoken() {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  /**
   * The recording is over (the ad ended, the camera stopped), every chunk of it is on the
   * server and the clip is not finished yet: if the page goes away now, the server can finish
   * it at once from what it has, since nothing more can come for it from here. The events not
   * sent yet go along. Null otherwise: chunks still held (a reload sends them), or the ad cut
   * off mid-way (a reload may offer it again; the server's left rule finishes it otherwise).
   */
  get settledClip() {
    if (this.clipId === null || this.finished || this.error || this.closedByServer) return null;
    if (!this.closed) return null;
    if (this.chunks.some((chunk) => !chunk.acked)) return null;
    const events = this.events
      .filter((e) => !e.sent)
      .map(({ seq, kind, clip_ms, ad_ms }) => ({ seq, kind, clip_ms, ad_ms }));
    if (events.length > MAX_BEACON_EVENTS) return null;
    return { clip_id: this.clipId, chunk_count: this.chunks.length, events };
  }

  pendingChunks() {
    const pending = [];
    this.chunks.forEach((chunk, index) => {
      if (!chunk.acked) pending.push(index);
    });
    return pending;
  }

  async run() {
    const signal = this.controller.signal;
    let failures = 0;
    let resync = false;
    let finishRounds = 0;
    let conflict = null; // a 409 on a chunk or event, until the clip's status explains it
    try {
      for (;;) {
        if (signal.aborted) throw new AbortedError();
        try {
          if (this.clipId === null) {
            const created = await this.createClip(signal);
            this.clipId = created.clip_id;
            if (created.status && created.status !== "uploading") return this.endedByServer();
            if (this.restored) this.adoptReceived(created.received || []);
            else this.markReceived(created.received || []);
          }
          if (resync) {
            const status = await this.api.clipStatus(this.clipId, signal);
            resync = false;
            if (status.status && status.status !== "uploading") return this.endedByServer();
            this.markReceived(status.received || []);
            if (conflict) throw Object.assign(conflict, { confirmed: true });
          }
          await this.sendEvents(signal);
          const pending = this.pendingChunks();
          if (pending.length) {
            await this.sendChunks(pending.slice(0, this.parallel), signal);
          } else if (!this.closed) {
            await this.sleepUntilWoken();
          } else if (this.events.some((e) => !e.sent)) {
            continue;
          } else {
            const response = await this.api.finish(this.clipId, this.chunks.length, signal);
            if (response.status !== 409) {
              this.finished = true;
              this.chunks.forEach((chunk) => {
                chunk.blob = null; // the server has the clip; free the memory
              });
              if (this.store) this.store.dropClip(this.storeKey.session, this.storeKey.ad);
              this.onChange();
              return { clipId: this.clipId, chunkCount: this.chunks.length };
            }
            finishRounds += 1;
            if (finishRounds >= MAX_FINISH_ROUNDS) {
              throw new HttpError(409, response.body, "POST", `/clips/${this.clipId}/finish`);
            }
            this.markMissing((response.body && response.body.missing) || []);
          }
          failures = 0;
          if (this.waiting) {
            this.waiting = false;
            this.onChange();
          }
        } catch (error) {
          if (error instanceof AbortedError || signal.aborted) throw new AbortedError();
          if (error instanceof HttpError && error.status === 409 && !error.confirmed) {
            // Either the server closed this clip (then stop quietly) or the bytes conflict.
            conflict = error;
            resync = true;
            continue;
          }
          conflict = null;
          if (!this.isTransient(error, failures + 1)) throw error;
          failures += 1;
          // After a network error we do not know what arrived: ask before sending again.
          if (error instanceof NetworkError && this.clipId !== null) resync = true;
          if (this.connectivity.offline || failures > this.retryDelays.length) {
            this.waiting = true;
            this.onChange();
            await this.connectivity.wait(signal);
            failures = 0;
            if (this.clipId !== null) resync = true;
          } else {
            await this.api.sleep(this.retryDelays[failures - 1], signal);
          }
        }
      }
    } catch (error) {
      this.error = error;
      this.onChange();
      throw error;
    }
  }

  /** The server finished the clip from what it had: free the chunks and end this upload. */
  endedByServer() {
    this.closedByServer = true;
    this.finished = true;
    // Not dropped quietly: the recorder says how many recorded chunks never reached the server.
    this.lost = this.chunks.filter((chunk) => !chunk.acked).length;
    this.chunks.forEach((chunk) => {
      chunk.blob = null;
    });
    if (this.store) this.store.dropClip(this.storeKey.session, this.storeKey.ad);
    this.onChange();
    const acked = this.chunks.filter((chunk) => chunk.acked).length;
    return { clipId: this.clipId, chunkCount: acked, closedByServer: true, lost: this.lost };
  }

  isTransient(error, attempt) {
    const byDefault = isRetryable(error);
    if (typeof this.onShouldRetry === "function") {
      return byDefault && Boolean(this.onShouldRetry(error, attempt, byDefault));
    }
    return byDefault;
  }

  markReceived(indices) {
    let changed = false;
    for (const index of indices) {
      const chunk = this.chunks[index];
      if (chunk && !chunk.acked) {
        chunk.acked = true;
        changed = true;
        this.forget(index);
      }
    }
    if (changed) this.onChange();
  }

  markMissing(indices) {
    for (const index of indices) {
      const chunk = this.chunks[index];
      if (!chunk) continue;
      if (!chunk.blob) throw new Error(`chunk ${index} reported missing but no longer held`);
      chunk.acked = false;
    }
    this.onChange();
  }

  async sendEvents(signal) {
    const batch = this.events.filter((e) => !e.sent);
    if (!batch.length) return;
    const payload = batch.map(({ seq, kind, clip_ms, ad_ms }) => ({ seq, kind, clip_ms, ad_ms }));
    await this.api.postEvents(this.clipId, payload, signal);
    for (const event of batch) event.sent = true;
  }

  /** PUT a few chunks at once; every answered chunk is recorded before any error is raised. */
  async sendChunks(indices, signal) {
    const results = await Promise.allSettled(
      indices.map((index) =>
        this.api.putChunk(this.clipId, index, this.chunks[index].blob, signal).then(() => {
          this.chunks[index].acked = true;
          this.forget(index);
          this.onChange();
        }),
      ),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

function round(ms) {
  return Math.max(0, Math.round(ms));
}

/** The clips of one session: one ClipUpload per recorded ad, and their progress together. */
export class UploadSet {
  constructor() {
    this.items = [];
  }

  get length() {
    return this.items.length;
  }

  /** The ad's upload if it never took a chunk (autoplay was refused): it can be used again. */
  reusable(adId) {
    return this.items.find((u) => u.adId === adId && !u.closed && u.chunkCount === 0) || null;
  }

  add(upload) {
    this.items.push(upload);
    return upload;
  }

  /** Forget an upload that recorded nothing. */
  drop(upload) {
    upload.abort();
    this.items = this.items.filter((u) => u !== upload);
  }

  abortAll() {
    for (const upload of this.items) upload.abort();
  }

  /** The clips the server could finish at once if the page went away now (see settledClip). */
  settledClips() {
    return this.items.map((u) => u.settledClip).filter(Boolean);
  }

  /** Resolves when every clip is finished; rejects with the first failure. */
  allDone() {
    return Promise.all(this.items.map((u) => u.done));
  }

  get progress() {
    const total = { chunksAcked: 0, chunksTotal: 0, bytesAcked: 0, bytesTotal: 0, waiting: false };
    for (const upload of this.items) {
      const p = upload.progress;
      total.chunksAcked += p.chunksAcked;
      total.chunksTotal += p.chunksTotal;
      total.bytesAcked += p.bytesAcked;
      total.bytesTotal += p.bytesTotal;
      total.waiting = total.waiting || p.waiting;
    }
    total.clipsFinished = this.items.filter((u) => u.finished).length;
    total.clips = this.items.length;
    return total;
  }
}
