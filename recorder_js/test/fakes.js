// Test doubles at the recorder's process boundaries: clock, camera, MediaRecorder, <video>,
// window/document, and the panelist API as an in-memory server behind the injected transport.
// (Not a test file itself; node --test runs it as one with no tests.)

import { createHash } from "node:crypto";

import { CandorRecorder } from "../src/recorder.js";

/** Virtual time: timers fire only when a test advances the clock. */
export class FakeClock {
  constructor() {
    this.t = 0;
    this.timers = [];
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.push({ id, at: this.t + Math.max(0, ms || 0), fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers = this.timers.filter((timer) => timer.id !== id);
    };
  }

  async flush() {
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
  }

  popNext(limit) {
    let best = null;
    for (const timer of this.timers) {
      if (
        timer.at <= limit &&
        (!best || timer.at < best.at || (timer.at === best.at && timer.id < best.id))
      )
        best = timer;
    }
    if (best) this.timers = this.timers.filter((timer) => timer !== best);
    return best;
  }

  /** Advance by ms, firing every due timer in order, letting promises settle in between. */
  async tick(ms) {
    const target = this.t + ms;
    for (;;) {
      await this.flush();
      const timer = this.popNext(target);
      if (!timer) break;
      this.t = timer.at;
      timer.fn();
    }
    this.t = target;
    await this.flush();
  }

  /** Advance until predicate() holds; fails on a deadlock or after maxMs of virtual time. */
  async until(predicate, maxMs = 600000) {
    const limit = this.t + maxMs;
    for (;;) {
      await this.flush();
      if (predicate()) return;
      const timer = this.popNext(limit);
      if (!timer) throw new Error(`clock.until: condition never met (t=${this.t} ms)`);
      this.t = timer.at;
      timer.fn();
    }
  }
}

export class FakeTrack extends EventTarget {
  constructor() {
    super();
    this.readyState = "live";
    this.kind = "video";
  }

  stop() {
    this.readyState = "ended"; // like browsers, stop() fires no "ended" event
  }
}

export class FakeStream {
  constructor() {
    this.tracks = [new FakeTrack()];
  }

  getTracks() {
    return this.tracks;
  }

  get live() {
    return this.tracks.some((track) => track.readyState === "live");
  }
}

/** getUserMedia double: fails with `failWith` (an error name) or hands out fake streams. */
export function fakeCamera() {
  const camera = {
    calls: [],
    streams: [],
    failWith: null,
    pending: null, // when set to "hold", getUserMedia waits until release()
    release: null,
    get live() {
      return camera.streams.filter((stream) => stream.live).length;
    },
    getUserMedia(constraints) {
      camera.calls.push(constraints);
      if (camera.failWith) {
        return Promise.reject(new DOMException("camera refused", camera.failWith));
      }
      const stream = new FakeStream();
      camera.streams.push(stream);
      if (camera.pending === "hold") {
        return new Promise((resolve) => {
          camera.release = () => resolve(stream);
        });
      }
      return Promise.resolve(stream);
    },
  };
  return camera;
}

/** A MediaRecorder class that emits one chunk per timeslice of virtual recording time. */
export function fakeMediaRecorderClass(clock, supported) {
  let counter = 0;
  return class FakeMediaRecorder extends EventTarget {
    static isTypeSupported(type) {
      return supported.includes(type);
    }

    static instances = [];

    constructor(stream, options = {}) {
      super();
      if (options.mimeType && !supported.includes(options.mimeType)) {
        throw new DOMException("unsupported", "NotSupportedError");
      }
      this.id = ++counter;
      this.stream = stream;
      this.mimeType = options.mimeType || supported[0];
      this.state = "inactive";
      this.emitted = 0;
      this.timer = null;
      FakeMediaRecorder.instances.push(this);
    }

    start(timeslice) {
      if (this.state !== "inactive") throw new DOMException("already started", "InvalidStateError");
      this.timeslice = timeslice;
      this.state = "recording";
      this.schedule();
    }

    schedule() {
      this.timer = clock.setTimeout(() => {
        if (this.state !== "recording") return;
        this.emitChunk();
        this.schedule();
      }, this.timeslice);
    }

    emitChunk() {
      const text = `rec${this.id}-chunk${this.emitted}-`.padEnd(300, "x");
      this.emitted += 1;
      const event = new Event("dataavailable");
      event.data = new Blob([text], { type: this.mimeType });
      this.dispatchEvent(event);
    }

    pause() {
      if (this.state !== "recording") throw new DOMException("not recording", "InvalidStateError");
      this.state = "paused";
      clock.clearTimeout(this.timer);
    }

    resume() {
      if (this.state !== "paused") throw new DOMException("not paused", "InvalidStateError");
      this.state = "recording";
      this.schedule();
    }

    stop() {
      if (this.state === "inactive") throw new DOMException("inactive", "InvalidStateError");
      this.state = "inactive";
      clock.clearTimeout(this.timer);
      clock.setTimeout(() => {
        this.emitChunk(); // the partial last chunk
        this.dispatchEvent(new Event("stop"));
      }, 0);
    }
  };
}

/** A <video> that plays `durations[url]` seconds in 250 ms steps, with scripted stalls. */
export class FakeVideo extends EventTarget {
  constructor(clock, { durations = {}, autoplayBlocked = false, stalls = [] } = {}) {
    super();
    this.clock = clock;
    this.durations = durations;
    this.autoplayBlocked = autoplayBlocked;
    this.stalls = stalls; // [{url, at (s), ms}]
    this.currentTime = 0;
    this.duration = NaN;
    this.paused = true;
    this.ended = false;
    this.seeking = false;
    this.controls = true;
    this._src = "";
    this.timer = null;
    this.stalled = false;
    this.played = [];
  }

  set src(url) {
    this._src = url;
    this.currentTime = 0;
    this.ended = false;
    this.duration = this.durations[url] ?? NaN;
  }

  get src() {
    return this._src;
  }

  removeAttribute(name) {
    if (name === "src") this._src = "";
  }

  fire(type) {
    this.dispatchEvent(new Event(type));
  }

  play() {
    if (this.autoplayBlocked) {
      return Promise.reject(new DOMException("play() needs a user gesture", "NotAllowedError"));
    }
    this.played.push(this._src);
    this.paused = false;
    this.clock.setTimeout(() => {
      this.fire("playing");
      this.step();
    }, 10);
    return Promise.resolve();
  }

  step() {
    this.timer = this.clock.setTimeout(() => {
      if (this.paused || this.stalled) return;
      this.currentTime = Math.min(this.duration, this.currentTime + 0.25);
      this.fire("timeupdate");
      const stall = this.stalls.find(
        (s) => s.url === this._src && !s.done && this.currentTime >= s.at,
      );
      if (stall) {
        stall.done = true;
        this.stalled = true;
        this.fire("waiting");
        this.clock.setTimeout(() => {
          this.stalled = false;
          this.fire("playing");
          this.step();
        }, stall.ms);
        return;
      }
      if (this.currentTime >= this.duration) {
        this.ended = true;
        this.paused = true;
        this.fire("pause");
        this.fire("ended");
        return;
      }
      this.step();
    }, 250);
  }

  pause() {
    if (this.paused) return;
    this.paused = true;
    this.clock.clearTimeout(this.timer);
    this.fire("pause");
  }

  /** A seek attempt, as the panelist would make with a keyboard or a script. */
  seekTo(seconds) {
    this.seeking = true;
    this.currentTime = seconds;
    this.fire("seeking");
    this.seeking = false;
  }
}

export class FakeWindow extends EventTarget {
  constructor() {
    super();
    this.navigator = { onLine: true };
  }

  /** The page goes away (closed, reloaded, navigated) or into the back/forward cache. */
  pageHide({ persisted = false } = {}) {
    this.dispatchEvent(Object.assign(new Event("pagehide"), { persisted }));
  }

  pageShow({ persisted = true } = {}) {
    this.dispatchEvent(Object.assign(new Event("pageshow"), { persisted }));
  }

  goOffline() {
    this.navigator.onLine = false;
    this.dispatchEvent(new Event("offline"));
  }

  goOnline() {
    this.navigator.onLine = true;
    this.dispatchEvent(new Event("online"));
  }
}

export class FakeDocument extends EventTarget {
  constructor() {
    super();
    this.visibilityState = "visible";
  }

  setHidden(hidden) {
    this.visibilityState = hidden ? "hidden" : "visible";
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

/** localStorage of one browser, shared by its tabs (synchronous, strings only). */
export class FakeStorage {
  constructor() {
    this.items = new Map();
  }

  getItem(name) {
    return this.items.has(name) ? this.items.get(name) : null;
  }

  setItem(name, value) {
    this.items.set(name, String(value));
  }

  removeItem(name) {
    this.items.delete(name);
  }
}

/** navigator.locks of one browser, shared by its tabs: exclusive locks, `ifAvailable` only. */
export class FakeLocks {
  constructor() {
    this.held = new Map(); // name → the tab that holds it
  }

  async request(name, options, callback) {
    if (this.held.has(name)) return callback(null);
    const owner = {};
    this.held.set(name, owner);
    try {
      return await callback({ name, mode: "exclusive" });
    } finally {
      if (this.held.get(name) === owner) this.held.delete(name);
    }
  }

  /** The browser releases a closed tab's locks. */
  releaseAll() {
    this.held.clear();
  }
}

const ROOT = "http://candor.test/api/v1/panel";

const CONSENT = {
  en: { text: "I agree to be filmed while the ads play.", sha256: "a".repeat(64), id: 11 },
  fr: { text: "J'accepte d'être filmé·e pendant les publicités.", sha256: "f".repeat(64), id: 12 },
};

/** The panelist API of docs/panelist-api.md, in memory, with scriptable faults. */
export class FakeServer {
  constructor({ ads, returnUrlTemplate } = {}) {
    this.ads = ads || [
      {
        id: 101,
        title: "First",
        duration_s: 3,
        width: 640,
        height: 360,
        video_url: "/ads/101.webm",
        poster_url: null,
      },
      {
        id: 102,
        title: "Second",
        duration_s: 2,
        width: 640,
        height: 360,
        video_url: "/ads/102.webm",
        poster_url: null,
      },
    ];
    this.returnUrlTemplate =
      returnUrlTemplate ??
      "https://survey.example/back?rid={respondent_id}&status={status}&r={receipt}";
    this.requests = [];
    this.offline = false;
    this.scripts = [];
    this.session = null;
    this.sessions = 0; // sessions started so far: the first is "s1"
    this.clips = new Map();
    this.nextClip = 1;
    this.beacons = []; // {path, message, at, answer}: what navigator.sendBeacon delivered
    this.presence = []; // answers to presence messages, beacon or not, in order
    this.erasures = []; // {session, how: "withdrawn" | "erased", clips}: what each erasure removed
    this.studyClosed = false; // new starts answer 409 study_closed
  }

  /** Erase the live session's clips, as withdrawal and erasure by receipt code do. */
  erase(how) {
    this.erasures.push({ session: this.session.id, how, clips: this.clips.size });
    this.session.status = "withdrawn";
    this.clips.clear();
  }

  /** navigator.sendBeacon's delivery: a POST with a text body and no headers at all. */
  beacon(url, text) {
    const path = url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
    const message = JSON.parse(text);
    const at = this.clock ? this.clock.now() : 0;
    const answer = this.offline ? null : this.presenceMessage(path, message, null);
    this.beacons.push({ path, message, at, answer });
    return true;
  }

  /** POST /sessions/{id}/presence, as web/panel/presence.py answers it. */
  presenceMessage(path, message, authorization) {
    const token = message.token || (authorization || "").replace(/^Bearer /, "");
    const m = path.match(/^\/sessions\/(\w+)\/presence$/);
    let answer;
    if (!m || !this.session || token !== this.session.token) {
      answer = { status: 401, body: { detail: "missing or bad token" } };
    } else if (m[1] !== this.session.id) {
      answer = { status: 403, body: { detail: "token for another session" } };
    } else if (message.withdraw) {
      this.erase("withdrawn");
      answer = { status: 200, body: { taken: true, queued: 0, abandoned: 0 } };
    } else if (
      !["started", "consented"].includes(this.session.status) ||
      message.seq <= (this.session.presenceSeq || 0)
    ) {
      answer = { status: 200, body: { taken: false, queued: 0, abandoned: 0 } };
    } else {
      this.session.presenceSeq = message.seq;
      this.session.left = !message.present;
      let queued = 0;
      for (const { clip_id: clipId, chunk_count: count, events = [] } of message.clips || []) {
        const clip = this.clips.get(clipId);
        if (!clip || clip.status !== "uploading") continue;
        for (const event of events) clip.events.set(event.seq, event);
        const indices = [...clip.chunks.keys()].sort((a, b) => a - b);
        if (indices.length !== count || indices.some((index, i) => index !== i)) continue;
        clip.status = "queued";
        clip.chunkCount = count;
        queued += 1;
      }
      answer = { status: 200, body: { taken: true, queued, abandoned: 0 } };
    }
    this.presence.push(answer.body || answer);
    return answer;
  }

  /** Apply `action` to the next `times` requests that match: a status, "network" or "lost". */
  script(match, action, times = 1) {
    this.scripts.push({ match, action, times });
  }

  clipFor(adId) {
    return [...this.clips.values()].find((clip) => clip.adId === adId);
  }

  /** PUTs that carried a chunk the server already held (it answers 200, but they were wasted). */
  get duplicatePuts() {
    let n = 0;
    for (const clip of this.clips.values()) n += clip.replays;
    return n;
  }

  get transport() {
    return async (request) => {
      const { method, url } = request;
      const path = url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
      const at = this.clock ? this.clock.now() : 0;
      this.requests.push({ method, path, body: request.body, headers: request.headers, at });
      if (this.onRequest) this.onRequest({ method, path });
      if (this.offline) throw new TypeError("Failed to fetch");
      const scripted = this.scripts.find((s) => s.times > 0 && s.match({ method, path }));
      let lost = false;
      if (scripted) {
        scripted.times -= 1;
        if (scripted.action === "network") throw new TypeError("Failed to fetch");
        if (scripted.action === "lost") lost = true;
        else return { status: scripted.action, body: { detail: `scripted ${scripted.action}` } };
      }
      const response = await this.handle(method, path, request);
      if (lost) throw new TypeError("connection reset after the server answered");
      return response;
    };
  }

  async handle(method, path, request) {
    const json = typeof request.body === "string" ? JSON.parse(request.body) : null;
    if (method === "POST" && path === "/sessions") return this.startSession(json);
    if (method === "POST" && path === "/erase") {
      if (!this.session || json.receipt_code !== this.session.receipt) {
        return { status: 404, body: { detail: "No session has this receipt code" } };
      }
      this.erase("erased");
      return { status: 200, body: { erased: true } };
    }
    if (method === "GET" && path === "/ping") return { status: 204, body: null };
    if (method === "POST" && /\/presence$/.test(path)) {
      return this.presenceMessage(path, json, request.headers.Authorization);
    }
    if (!this.session || request.headers.Authorization !== `Bearer ${this.session.token}`) {
      return { status: 401, body: { detail: "missing or bad token" } };
    }
    let m;
    if ((m = path.match(/^\/sessions\/(\w+)\/consent$/)) && method === "POST")
      return this.consent(json);
    if ((m = path.match(/^\/sessions\/(\w+)\/clips$/)) && method === "POST")
      return this.createClip(json);
    if ((m = path.match(/^\/sessions\/(\w+)\/end$/)) && method === "POST") {
      // Like the server: "complete" only with a usable clip (tests set endsIncomplete).
      const status = json.status === "complete" && this.endsIncomplete ? "incomplete" : json.status;
      this.session.status = status;
      return { status: 200, body: { status, receipt_code: this.session.receipt } };
    }
    if ((m = path.match(/^\/sessions\/(\w+)\/withdraw$/)) && method === "POST") {
      this.erase("withdrawn");
      return { status: 200, body: { status: "withdrawn" } };
    }
    if ((m = path.match(/^\/clips\/(\d+)$/)) && method === "GET") {
      const clip = this.clips.get(Number(m[1]));
      if (!clip) return { status: 404, body: { detail: "no such clip" } };
      return {
        status: 200,
        body: {
          clip_id: clip.id,
          status: clip.status,
          received: [...clip.chunks.keys()].sort((a, b) => a - b),
        },
      };
    }
    if ((m = path.match(/^\/clips\/(\d+)\/chunks\/(\d+)$/)) && method === "PUT") {
      return this.putChunk(
        Number(m[1]),
        Number(m[2]),
        request.body,
        request.headers["X-Chunk-Sha256"],
      );
    }
    if ((m = path.match(/^\/clips\/(\d+)\/events$/)) && method === "POST") {
      const clip = this.clips.get(Number(m[1]));
      if (!clip) return { status: 404, body: { detail: "no such clip" } };
      if (clip.status !== "uploading") {
        return { status: 409, body: { detail: `clip is ${clip.status}; it takes no more events` } };
      }
      for (const event of json.events) clip.events.set(event.seq, event);
      return { status: 200, body: { stored: json.events.length } };
    }
    if ((m = path.match(/^\/clips\/(\d+)\/finish$/)) && method === "POST") {
      const clip = this.clips.get(Number(m[1]));
      if (!clip) return { status: 404, body: { detail: "no such clip" } };
      const missing = [];
      for (let i = 0; i < json.chunk_count; i += 1) if (!clip.chunks.has(i)) missing.push(i);
      if (missing.length) return { status: 409, body: { detail: "chunks missing", missing } };
      clip.status = "queued";
      clip.chunkCount = json.chunk_count;
      return { status: 202, body: { status: "queued" } };
    }
    return { status: 404, body: { detail: `no route ${method} ${path}` } };
  }

  startSession(json) {
    if (!json.integration || json.integration !== "pk_test") {
      return { status: 404, body: { detail: "unknown integration" } };
    }
    if (this.studyClosed) {
      return {
        status: 409,
        body: { detail: "closed", code: "study_closed", intake: "closed", return_url_template: "" },
      };
    }
    // Like the server: the exact tag or its language part ("fr-CA" → fr), else the default.
    const locale = /^fr([-_]|$)/i.test(json.locale || "") ? "fr" : "en";
    const c = CONSENT[locale];
    const resumable = ["started", "consented", "declined"];
    if (
      this.session &&
      this.session.respondentId === json.respondent_id &&
      json.resume_token === this.session.resumeToken
    ) {
      // One respondent is one session: the same one again, if it is still going, for the
      // browser holding its resume token.
      if (resumable.includes(this.session.status)) return this.resumeSession(locale);
    }
    // Anyone else starts afresh: a live session of this respondent is superseded, erased.
    this.clips.clear();
    this.sessions += 1;
    const id = `s${this.sessions}`;
    this.session = {
      id,
      token: `tok-${id}`,
      resumeToken: `resume-${id}`,
      respondentId: json.respondent_id,
      passthrough: json.passthrough,
      status: "started",
      consent: null,
      receipt: this.sessions === 1 ? "RC-7Q2X" : `RC-${id}`,
    };
    return {
      status: 201,
      body: {
        session_id: id,
        token: this.session.token,
        resume_token: this.session.resumeToken,
        expires_at: "2030-01-01T00:00:00Z",
        locale,
        consent: {
          consent_text_id: c.id,
          version: 1,
          locale,
          text: c.text,
          instructions: "Sit facing the screen.",
          sha256: c.sha256,
        },
        ads: this.ads,
        return_url_template: this.returnUrlTemplate,
      },
    };
  }

  resumeSession(locale) {
    const c = CONSENT[locale];
    const resumed = (this.session.resumed = (this.session.resumed || 0) + 1);
    this.session.token = `tok-${this.session.id}-${resumed}`;
    const recorded = [...this.clips.values()]
      .filter((clip) => clip.chunks.size || clip.status !== "uploading")
      .map((clip) => clip.adId);
    return {
      status: 201,
      body: {
        session_id: this.session.id,
        token: this.session.token,
        resume_token: this.session.resumeToken,
        expires_at: "2030-01-01T00:00:00Z",
        locale,
        consent: {
          consent_text_id: c.id,
          version: 1,
          locale,
          text: c.text,
          instructions: "Sit facing the screen.",
          sha256: c.sha256,
        },
        ads: this.ads,
        return_url_template: this.returnUrlTemplate,
        recorded_ads: recorded,
        // Cut off by the reload (no "end" event), not restarted before: may be offered again.
        reoffer_ads: [...this.clips.values()]
          .filter(
            (clip) =>
              clip.status === "uploading" &&
              clip.chunks.size > 0 &&
              !clip.restarted &&
              ![...clip.events.values()].some((e) => e.kind === "end"),
          )
          .map((clip) => ({ ad_id: clip.adId, chunks: clip.chunks.size })),
      },
    };
  }

  consent(json) {
    const c = Object.values(CONSENT).find((x) => x.id === json.consent_text_id);
    if (!c || c.sha256 !== json.text_sha256)
      return { status: 400, body: { detail: "text sha256 mismatch" } };
    this.session.consent = json.decision;
    if (json.decision === "agree") {
      this.session.status = "consented";
      return { status: 200, body: { status: "consented", receipt_code: this.session.receipt } };
    }
    this.session.status = "declined";
    return { status: 200, body: { status: "declined" } };
  }

  createClip(json) {
    if (this.session.consent !== "agree") return { status: 403, body: { detail: "no consent" } };
    let clip = this.clipFor(json.ad_id);
    if (clip && json.restart && clip.chunks.size > 0) {
      const ended = [...clip.events.values()].some((e) => e.kind === "end");
      if (clip.restarted || ended || clip.status !== "uploading") {
        return { status: 409, body: { detail: "cannot restart", code: "no_restart" } };
      }
      // The first take is deleted; the clip starts afresh under a new id.
      this.clips.delete(clip.id);
      this.restartedTakes = (this.restartedTakes || 0) + 1;
      clip = null;
      this.restartedAd = json.ad_id;
    }
    if (!clip) {
      clip = {
        id: this.nextClip++,
        adId: json.ad_id,
        mime: json.mime_type,
        chunks: new Map(),
        events: new Map(),
        status: "uploading",
        replays: 0,
        restarted: this.restartedAd === json.ad_id,
      };
      this.clips.set(clip.id, clip);
    }
    return {
      status: 200,
      body: { clip_id: clip.id, status: clip.status, received: [...clip.chunks.keys()] },
    };
  }

  async putChunk(clipId, index, body, sha256) {
    const clip = this.clips.get(clipId);
    if (!clip) return { status: 404, body: { detail: "no such clip" } };
    if (clip.status !== "uploading") {
      return { status: 409, body: { detail: `clip is ${clip.status}; it takes no more chunks` } };
    }
    const text = await body.text();
    const actual = createHash("sha256").update(text).digest("hex");
    if (sha256 !== actual)
      return { status: 400, body: { detail: "X-Chunk-Sha256 does not match" } };
    if (clip.chunks.has(index)) {
      if (clip.chunks.get(index) !== text) return { status: 409, body: { detail: "other bytes" } };
      clip.replays += 1;
      return { status: 200, body: { index, bytes: text.length } };
    }
    clip.chunks.set(index, text);
    return { status: 201, body: { index, bytes: text.length } };
  }
}

export const CHROME_TYPES = [
  "video/webm;codecs=vp9",
  "video/webm;codecs=vp8",
  "video/webm",
  "video/mp4",
];
export const FIREFOX_TYPES = ["video/webm;codecs=vp8", "video/webm"];
export const SAFARI_TYPES = ["video/mp4;codecs=avc1", "video/mp4"];

/** A recorder wired to fakes, and the fakes, and what it emitted. */
export function setup({
  options = {},
  server,
  supported = CHROME_TYPES,
  video: videoOptions,
  env = {},
} = {}) {
  const clock = new FakeClock();
  server = server || new FakeServer();
  server.clock = clock;
  const camera = fakeCamera();
  const MediaRecorder = fakeMediaRecorderClass(clock, supported);
  const durations = Object.fromEntries(server.ads.map((ad) => [ad.video_url, ad.duration_s]));
  const video = new FakeVideo(clock, { durations, ...videoOptions });
  const preview = new FakeVideo(clock);
  preview.srcObject = null;
  const win = new FakeWindow();
  const doc = new FakeDocument();
  const seen = { states: [], errors: [], returns: [], progress: [], navigations: [] };
  const frameVerdicts = [];
  const recorder = new CandorRecorder({
    baseUrl: "http://candor.test",
    integration: "pk_test",
    respondentId: "resp 42/é",
    locale: "en",
    passthrough: { age: "25-34" },
    transport: server.transport,
    onStateChange: (state, previous, detail) => seen.states.push({ state, previous, detail }),
    onError: (error) => seen.errors.push(error),
    onProgress: (progress) => seen.progress.push(progress),
    ...options,
    env: {
      getUserMedia: camera.getUserMedia,
      mediaDevices: { getUserMedia: camera.getUserMedia },
      MediaRecorder,
      isSecureContext: true,
      window: win,
      document: doc,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
      now: clock.now,
      randomId: () => "random-id",
      wallNow: () => 1_700_000_000_000 + clock.now(),
      sendBeacon: (url, text) => server.beacon(url, text),
      localStorage: null, // no tab hold unless a test gives locks or a storage
      // Web Crypto digests finish on a thread pool, outside the virtual clock: hash in-line.
      digest: async (blob) =>
        createHash("sha256")
          .update(Buffer.from(await blob.arrayBuffer()))
          .digest("hex"),
      analyzeFrame: async () => frameVerdicts.shift() ?? { light: true, face: true },
      navigate: (payload) => {
        seen.navigations.push(payload);
        return "navigated";
      },
      ...env,
    },
  });
  recorder.on("return", (payload) => seen.returns.push(payload));
  recorder.attachMedia({ ad: video, preview });
  return {
    recorder,
    server,
    clock,
    camera,
    MediaRecorder,
    video,
    preview,
    win,
    doc,
    seen,
    frameVerdicts,
  };
}

/** Drive a fresh recorder to the given state along the happy path. */
export async function driveTo(t, target) {
  const { recorder, clock } = t;
  const order = ["consent", "camera", "preflight", "ready"];
  const steps = {
    consent: () => recorder.start(),
    camera: () => recorder.agree(),
    preflight: () => recorder.enableCamera(),
    ready: () => recorder.checkPreflight(),
  };
  for (const state of order) {
    const done = steps[state]();
    await clock.until(() => recorder.busy === null && recorder.state === state);
    await done;
    if (state === target) return;
  }
  throw new Error(`driveTo: unknown target ${target}`);
}
