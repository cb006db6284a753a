// On-device mode, the page's half: the face is read in a Web Worker (face-worker.js), and what
// the ad run records is a stream of 192-byte face records instead of video. `FaceRecorder` has
// MediaRecorder's shape (start/pause/resume/stop, `dataavailable` every timeslice, `stop`), so
// the ad run, the uploader, IndexedDB, retries and acknowledgements are the video path's own.
//
// Honest limits, checked before the first ad (`OnDeviceAnalyser.check`): WebAssembly SIMD (the
// only build Candor serves) and speed (the median frame must leave room for the analysis rate).
// A browser that fails either is told so, and the study's fallback applies; never a silent
// slower or sparser analysis.

import { MIME_TYPE } from "./records.js";

// wasm-feature-detect's SIMD probe: a module using a v128 instruction.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);
// The preflight passes when the median frame leaves room for at least this many frames a second
// (the analysis rate is 15; a slower machine reads fewer, and a second counts only with half the
// frames its clip's own rate gives: below 10 a second of ad risks being marked sparse).
export const MIN_FPS = 10;

export class OnDeviceUnavailable extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.name = "OnDeviceUnavailable";
    this.reason = reason; // no_simd | no_worker | too_slow | assets | load
  }
}

export function simdSupported(wasm = globalThis.WebAssembly) {
  try {
    return Boolean(wasm && wasm.validate(SIMD_PROBE));
  } catch {
    return false;
  }
}

function workerFor(url) {
  const absolute = new URL(url, globalThis.location && globalThis.location.href);
  if (!globalThis.location || absolute.origin === globalThis.location.origin) {
    return new Worker(absolute, { type: "module" });
  }
  // Embedded in a survey on another origin: a worker must be same-origin, so a one-line blob
  // module imports Candor's (served with CORS).
  const shim = new Blob([`import ${JSON.stringify(absolute.href)};`], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(shim), { type: "module" });
}

export class OnDeviceAnalyser {
  /**
   * @param {object} o
   * @param {string} o.baseUrl   Candor's origin ("" for the page's own)
   * @param {object} o.config    the session's `on_device`: {assets, model, model_sha256, fps}
   */
  constructor({ baseUrl, config }) {
    const root = (baseUrl || "").replace(/\/$/, "");
    this.assets = new URL(root + config.assets, globalThis.location.href).href;
    this.model = new URL(root + config.model, globalThis.location.href).href;
    this.modelSha256 = config.model_sha256;
    this.fps = config.fps || 15;
    this.worker = null;
    this.loading = null;
    this.pending = new Map();
    this.nextId = 1;
    this.loadMs = null;
    this.frameMs = []; // recent per-frame costs, for the figures
  }

  /** Start the worker and the model once; resolves when ready, rejects OnDeviceUnavailable. */
  load() {
    if (this.loading) return this.loading;
    this.loading = new Promise((resolve, reject) => {
      if (!simdSupported()) {
        reject(new OnDeviceUnavailable("no_simd", "this browser lacks WebAssembly SIMD"));
        return;
      }
      if (typeof Worker !== "function" || typeof OffscreenCanvas !== "function") {
        reject(new OnDeviceUnavailable("no_worker", "this browser cannot run the face reader"));
        return;
      }
      try {
        this.worker = workerFor(new URL("./face-worker.js", import.meta.url));
      } catch (error) {
        reject(new OnDeviceUnavailable("no_worker", String(error && error.message)));
        return;
      }
      this.worker.onmessage = (event) => this.onMessage(event.data, resolve, reject);
      this.worker.onerror = (event) => {
        reject(new OnDeviceUnavailable("load", String(event.message || "worker error")));
      };
      this.worker.postMessage({
        type: "init",
        assets: this.assets,
        model: this.model,
        modelSha256: this.modelSha256,
      });
    });
    return this.loading;
  }

  onMessage(message, resolve, reject) {
    if (message.type === "ready") {
      this.loadMs = message.loadMs;
      resolve(this);
    } else if (message.type === "failed") {
      reject(new OnDeviceUnavailable(message.reason, message.message));
    } else if (message.type === "record") {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.error) waiting.reject(new Error(message.error));
      else {
        this.frameMs.push(message.ms);
        if (this.frameMs.length > 300) this.frameMs.shift();
        waiting.resolve(message);
      }
    }
  }

  /** Read one frame (an ImageBitmap, transferred) taken at `t` seconds of recorded time. */
  analyse(bitmap, t) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: "frame", id, t, bitmap }, [bitmap]);
    });
  }

  /**
   * The preflight: a few frames of the preview through the model. Resolves {light, face, fast,
   * frameMs, faces, brightness}; rejects OnDeviceUnavailable when the model cannot load.
   */
  async check(
    video,
    { frames = 8, minLuma = 60, pause = (ms) => new Promise((r) => setTimeout(r, ms)) } = {},
  ) {
    await this.load();
    const results = [];
    for (let i = 0; i < frames; i += 1) {
      if (!video.videoWidth) {
        await pause(100);
        continue;
      }
      const bitmap = await createImageBitmap(video);
      const answer = await this.analyse(bitmap, 0);
      const view = new DataView(answer.record);
      results.push({ ms: answer.ms, faces: answer.faces, brightness: view.getFloat32(8, true) });
      await pause(1000 / this.fps);
    }
    // The first frame pays for the model's warm-up: judge the speed on the rest.
    const timed = results
      .slice(1)
      .map((r) => r.ms)
      .sort((a, b) => a - b);
    const frameMs = timed.length ? timed[timed.length >> 1] : Infinity;
    const majority = (test) => results.filter(test).length * 2 > results.length;
    return {
      light: results.length > 0 && majority((r) => r.brightness >= minLuma),
      face: results.length > 0 && majority((r) => r.faces === 1),
      fast: frameMs <= 1000 / Math.min(MIN_FPS, this.fps),
      frameMs,
    };
  }

  close() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.loading = null;
    for (const waiting of this.pending.values()) waiting.reject(new Error("closed"));
    this.pending.clear();
  }
}

/**
 * MediaRecorder's shape over the face reader: while "recording", a frame every 1/fps s of the
 * camera is read in the worker and becomes a record stamped with the recorded time (the clock
 * of the playback events' clip_ms); every `timeslice` ms the records so far are one Blob.
 */
export class FaceRecorder extends EventTarget {
  constructor(stream, { analyser, now, setTimer, clearTimer, document, grab = null }) {
    super();
    // (video) => Promise<ImageBitmap>: the frame in hand; injectable for tests.
    this.grab = grab || ((video) => createImageBitmap(video));
    this.stream = stream;
    this.analyser = analyser;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.state = "inactive";
    this.mimeType = MIME_TYPE;
    this.records = [];
    this.recordedMs = 0;
    this.activeSince = null;
    this.busy = null; // the frame being read
    this.frameTimer = null;
    this.sliceTimer = null;
    this.skipped = 0; // frames not read because the previous one was still being read
    this.due = false; // a frame is due while one is being read
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = stream;
    const playing = this.video.play();
    if (playing && playing.catch) playing.catch(() => {});
  }

  clipMs() {
    return this.recordedMs + (this.activeSince === null ? 0 : this.now() - this.activeSince);
  }

  start(timeslice = 1000) {
    this.state = "recording";
    this.activeSince = this.now();
    this.timeslice = timeslice;
    this.tick();
    this.slice();
  }

  pause() {
    if (this.state !== "recording") return;
    this.recordedMs = this.clipMs();
    this.activeSince = null;
    this.state = "paused";
  }

  resume() {
    if (this.state !== "paused") return;
    this.activeSince = this.now();
    this.state = "recording";
  }

  async stop() {
    if (this.state === "inactive") return;
    this.recordedMs = this.clipMs();
    this.activeSince = null;
    this.state = "inactive";
    if (this.frameTimer !== null) this.clearTimer(this.frameTimer);
    if (this.sliceTimer !== null) this.clearTimer(this.sliceTimer);
    this.frameTimer = this.sliceTimer = null;
    if (this.busy) await this.busy.catch(() => {});
    this.flush();
    this.video.srcObject = null;
    this.dispatchEvent(new Event("stop"));
  }

  tick() {
    if (this.state === "inactive") return;
    const period = 1000 / this.analyser.fps;
    this.frameTimer = this.setTimer(() => this.tick(), period);
    if (this.state !== "recording" || !this.video.videoWidth) return;
    if (this.busy) {
      // Read as soon as the frame in hand is done; a second tick meanwhile is a frame dropped.
      if (this.due) this.skipped += 1;
      this.due = true;
      return;
    }
    this.capture();
  }

  capture() {
    this.due = false;
    const t = this.clipMs() / 1000;
    this.busy = this.grab(this.video)
      .then((bitmap) => this.analyser.analyse(bitmap, t))
      .then((answer) => {
        if (answer && answer.record) this.records.push(answer.record);
      })
      .catch((error) => {
        if (this.state !== "inactive") {
          const event = new Event("error");
          event.error = error;
          this.dispatchEvent(event);
        }
      })
      .finally(() => {
        this.busy = null;
        if (this.due && this.state === "recording") this.capture();
      });
  }

  slice() {
    if (this.state === "inactive") return;
    this.sliceTimer = this.setTimer(() => {
      this.flush();
      this.slice();
    }, this.timeslice);
  }

  flush() {
    if (!this.records.length) return;
    const event = new Event("dataavailable");
    event.data = new Blob(this.records, { type: MIME_TYPE });
    this.records = [];
    this.dispatchEvent(event);
  }
}

/** A MediaRecorder class bound to the analyser, for the ad run. */
export function faceRecorderClass(analyser, env) {
  return class BoundFaceRecorder extends FaceRecorder {
    constructor(stream) {
      super(stream, {
        analyser,
        now: env.now,
        setTimer: env.setTimeout,
        clearTimer: env.clearTimeout,
        document: env.document,
      });
    }
  };
}
