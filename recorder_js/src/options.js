// The recorder's options, their defaults, and the browser environment it runs in.

import { fetchTransport, sha256Hex } from "./api.js";
import { MIME_CANDIDATES } from "./media.js";
import { PREFLIGHT_DEFAULTS, canvasFrameAnalyzer } from "./preflight.js";
import { goBack, parentOriginOf } from "./return-url.js";

export const MIN_CHUNK_MS = 250;

export const DEFAULTS = Object.freeze({
  baseUrl: "", // Candor's origin; "" means the page's own origin
  integration: null, // the integration's public key (required)
  respondentId: null, // the survey's respondent id; a random one when absent
  locale: null, // e.g. "fr"; the browser's language when absent
  passthrough: {}, // survey variables passed to the study (age band, country…)
  preview: false, // the designer trying the flow on themselves: analysed, never counted
  transport: null, // (request) => Promise<{status, body}>; fetch when null
  retryDelays: [500, 1000, 2000, 4000, 8000], // ms before each retry of a failed request
  // While uploads wait, the server is probed (GET /ping) after each of these delays (the last
  // repeats, capped by offlineRetryMs) and at once on the browser's `online` event.
  probeDelays: [1000, 2000, 3000],
  offlineRetryMs: 15000, // the longest pause between two probes
  parallelUploads: 2,
  chunkMs: 1000, // MediaRecorder timeslice: one chunk per second (at least MIN_CHUNK_MS)
  videoBitsPerSecond: 1000000,
  mimeCandidates: MIME_CANDIDATES,
  preflightMaxTries: 3, // failed checks before "continue without camera" is offered
  preflight: PREFLIGHT_DEFAULTS,
  betweenAdsMs: 1000, // camera off, "next ad" shown, between two ads
  drainTimeoutMs: 5 * 60 * 1000, // give up sending the last chunks after this
  parentOrigin: null, // postMessage target when framed; the referrer's origin when null
  onStateChange: null, // (state, previous, detail)
  onProgress: null, // ({chunksAcked, chunksTotal, bytesAcked, bytesTotal, waiting})
  onError: null, // ({code, message, error, state})
  onShouldRetry: null, // (error, attempt, defaultDecision) => boolean
  onReturn: null, // ({status, url, receipt}) => void; replaces the default navigation
  env: {}, // injected browser pieces, see browserEnv()
});

/** The real browser's pieces; every one can be replaced through options.env for tests. */
export function browserEnv(overrides = {}) {
  const g = globalThis;
  const nav = g.navigator;
  const env = {
    mediaDevices: nav && nav.mediaDevices,
    MediaRecorder: g.MediaRecorder,
    isSecureContext: g.isSecureContext,
    window: g.window || null,
    document: g.document || null,
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (id) => g.clearTimeout(id),
    now: () => (g.performance ? g.performance.now() : Date.now()),
    randomId: () =>
      g.crypto && g.crypto.randomUUID
        ? g.crypto.randomUUID()
        : `anon-${Math.random().toString(36).slice(2)}`,
    analyzeFrame: null,
    navigate: null,
    digest: sha256Hex,
    indexedDB: g.indexedDB || null, // keeps unacknowledged chunks across a reload
    locks: (nav && nav.locks) || null, // Web Locks: one tab of this browser owns a session
    localStorage: pageStorage(g), // else a heartbeat there does (tab-hold.js)
    wallNow: () => Date.now(), // the wall clock, for the sequence of "left the page" messages
    // A request that outlives the page: the beacon, else a keepalive fetch; true if queued.
    sendBeacon: (url, text) => {
      if (nav && typeof nav.sendBeacon === "function" && nav.sendBeacon(url, text)) return true;
      if (typeof g.fetch !== "function") return false;
      g.fetch(url, {
        method: "POST",
        body: text,
        keepalive: true,
        credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
      }).catch(() => {});
      return true;
    },
    ...overrides,
  };
  if (!env.getUserMedia) {
    env.getUserMedia = (constraints) => env.mediaDevices.getUserMedia(constraints);
  }
  if (!env.analyzeFrame && env.document) {
    let analyzer = null;
    env.analyzeFrame = (video, thresholds) => {
      analyzer = analyzer || canvasFrameAnalyzer(env.document, thresholds);
      return analyzer(video);
    };
  }
  if (!env.navigate) {
    env.navigate = ({ url, status, receipt, parentOrigin }) =>
      env.window
        ? goBack(env.window, {
            url,
            status,
            receipt,
            parentOrigin: parentOrigin || parentOriginOf(env.document),
          })
        : "blocked";
  }
  return env;
}

export function resolveOptions(options) {
  const merged = { ...DEFAULTS, ...options };
  if (!merged.integration) throw new TypeError("CandorRecorder: `integration` is required");
  if (!Array.isArray(merged.retryDelays) || merged.retryDelays.some((d) => !(d >= 0))) {
    throw new TypeError("CandorRecorder: `retryDelays` must be an array of delays in ms");
  }
  // The server takes at most 4 chunks per second of the ad (settings.clip_max_chunks_per_s).
  if (!(merged.chunkMs >= MIN_CHUNK_MS)) {
    throw new TypeError(`CandorRecorder: \`chunkMs\` must be at least ${MIN_CHUNK_MS}`);
  }
  merged.preflight = { ...PREFLIGHT_DEFAULTS, ...(options.preflight || {}) };
  merged.transport = merged.transport || fetchTransport();
  return merged;
}

/** The page's localStorage, or null where reading it throws (storage blocked for the frame). */
function pageStorage(g) {
  try {
    return g.localStorage || null;
  } catch {
    return null;
  }
}
