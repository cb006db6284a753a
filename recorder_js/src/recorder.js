// CandorRecorder: the panelist flow as an explicit state machine.
//
//   idle → consent → camera → preflight → ready → playing(ad i) → draining → done
//   consent → declined; camera/preflight/ready/playing → no_camera; any → withdrawn | failed
//
// A method called in a state where it makes no sense emits an "error" event (code
// "invalid_state") and resolves to false; it never throws. The camera is on only in the
// preflight preview and while an ad is being recorded.

import { AbortedError, HttpError } from "./api.js";
import { AdRun } from "./ad-run.js";
import { RecorderCore } from "./core.js";
import { openChunkStore, sweepStore } from "./chunk-store.js";
import { resolveLocale } from "./i18n.js";
import {
  CameraError,
  VIDEO_CONSTRAINTS,
  chooseMimeType,
  classifyCameraError,
  recordingSupport,
  stopStream,
} from "./media.js";
import { State, TERMINAL, canTransition } from "./states.js";
import { holdTab } from "./tab-hold.js";
import { ClipUpload } from "./uploader.js";
import { Sent, sendKeptWithdrawals, sendWithdrawal } from "./withdrawals.js";
import { prepareWithdrawalSync, requestWithdrawalSync } from "./withdraw-sync.js";
import { OnDeviceAnalyser, OnDeviceUnavailable, faceRecorderClass } from "./ondevice/analyser.js";
import { MIME_TYPE as FACE_RECORDS } from "./ondevice/records.js";

// A clip covering less than this share of its ad is excluded as "incomplete"
// (candor/quality.py MIN_AD_COVERAGE): an ad cut off that short is worth offering again.
const MIN_AD_COVERAGE = 0.8;

export class CandorRecorder extends RecorderCore {
  /** Let the recorder drive these elements: the ad player and the mirrored preview. */
  attachMedia({ ad, preview }) {
    this.media = { ad: ad || this.media.ad, preview: preview || this.media.preview };
  }

  /** idle → consent: open the session; the consent text comes with it. No camera yet. */
  start() {
    return this.step("start", [State.IDLE], async () => {
      await this.openStore();
      // A withdrawal this browser could not deliver before (offline, tab closed) goes first.
      await this.sendKeptWithdrawals();
      const key = this.resumeKey;
      if (key && !(await this.holdTab(key))) {
        // Another tab records this respondent: it alone may resume or end their session.
        this.transition(State.ELSEWHERE);
        return;
      }
      const kept = key ? await this.store.loadResume(key) : null;
      this.keptSession = kept ? kept.session : null;
      const session = await this.api.startSession({
        integration: this.options.integration,
        respondentId: this.respondentId,
        passthrough: this.options.passthrough,
        locale: this.wantedLocale,
        preview: this.options.preview,
        resumeToken: kept ? kept.token : null,
      });
      this.session = session;
      // On-device mode: the face is read in this browser and only numbers are sent.
      this.onDevice = session.on_device || null;
      // ...and if this browser cannot, the server-mode text the study asks again with (or none:
      // then the polite exit).
      this.fallbackConsent = (this.onDevice && session.fallback_consent) || null;
      this.consent = session.consent;
      this.ads = session.ads || [];
      this.locale = resolveLocale(session.locale || this.locale);
      if (key && session.resume_token) {
        // Not the session the kept token was for: that one ended or was superseded, and what
        // this browser kept of it can go nowhere any more.
        if (kept && kept.session && kept.session !== session.session_id) {
          this.store.dropSession(kept.session);
        }
        this.store.saveResume(key, session.resume_token, session.session_id);
      }
      await this.resumeUploads(session);
      this.transition(State.CONSENT, { consent: this.consent });
    });
  }

  /** The chunk store, opened once; opening it removes stale tokens and withdrawals. */
  async openStore() {
    if (this.store) return;
    const injected = this.env.chunkStore;
    if (injected) await sweepStore(injected, this.env.wallNow());
    this.store =
      this.store ||
      injected ||
      (await openChunkStore(this.env.indexedDB, {
        onError: (error) => this.reportError("chunk_store", error),
      }));
  }

  /**
   * Hold this respondent's session for this tab, for as long as the tab lives or until the
   * session ends: a Web Lock (the browser frees it when the tab closes or crashes), else a
   * heartbeat in localStorage (tab-hold.js). False if another tab holds it.
   */
  async holdTab(key) {
    const release = await holdTab(key, this.env);
    if (!release) return false;
    this.releaseTab = release;
    return true;
  }

  get withdrawalOptions() {
    return { transport: this.options.transport, sleep: this.sleep };
  }

  /** Send every withdrawal this browser still holds, once each (withdrawals.js). */
  sendKeptWithdrawals() {
    return sendKeptWithdrawals(this.store, this.withdrawalOptions);
  }

  /** The study closed: a session this browser kept chunks of can no longer take them. */
  studyClosed(body) {
    if (this.keptSession && this.store) this.store.dropSession(this.keptSession);
    this.forgetResume();
    super.studyClosed(body);
  }

  /** The session ended, however: nothing of its video stays in this browser. */
  clearStore() {
    const id = this.session && this.session.session_id;
    if (id && this.store) this.store.dropSession(id);
    this.forgetResume();
    if (this.releaseTab) {
      this.releaseTab(); // ended: another tab may start this respondent afresh
      this.releaseTab = null;
    }
  }

  /**
   * Where this browser keeps the respondent's resume token: one per integration and survey
   * respondent id. None without a respondent id from the survey (a random one is new on every
   * page load, so there is nothing to resume).
   */
  get resumeKey() {
    if (!this.options.respondentId) return null;
    const kind = this.options.preview ? "preview" : "panel";
    return `${this.options.integration}|${kind}|${this.options.respondentId}`;
  }

  /** The session can no longer be resumed (it ended, or was withdrawn): forget its token. */
  forgetResume() {
    const key = this.resumeKey;
    if (key && this.store) this.store.dropResume(key);
  }

  /**
   * The same respondent came back (a reload, a crash) with the token this browser kept: the
   * server resumed their session. The chunks the old page had not sent went with it (no video
   * outlives the page, chunk-store.js): each clip the server holds is finished with what
   * arrived, and the recorder goes on at the first ad not recorded yet; an ad is never shown
   * twice in one session, except one cut off too early to count, offered again once.
   */
  async resumeUploads(session) {
    await this.openStore();
    const recorded = new Set(session.recorded_ads || []);
    // An ad a reload cut off (the server lists those it lets us restart, once) is offered again
    // from the start if too little of it was recorded to count; its first take is deleted.
    const cutOff = new Map((session.reoffer_ads || []).map((r) => [r.ad_id, r.chunks]));
    const tooShort = (ad, chunks) =>
      chunks * this.options.chunkMs < MIN_AD_COVERAGE * ad.duration_s * 1000;
    this.restartAds = new Set();
    for (const [adId, chunks] of cutOff) {
      const ad = this.ads.find((a) => a.id === adId);
      if (ad && tooShort(ad, chunks)) this.restartAds.add(adId);
    }
    const kept = new Map(
      (await this.store.load(session.session_id)).map((clip) => [clip.adId, clip]),
    );
    const mimeType = this.onDevice ? FACE_RECORDS : "video/webm";
    for (const adId of recorded) {
      const ad = this.ads.find((a) => a.id === adId);
      if (!ad || this.restartAds.has(adId)) continue;
      // A clip still uploading ends at its first missing chunk; one already finished, or
      // closed by the server meanwhile, is left as it is (the server's answer says which).
      const clip = kept.get(adId);
      this.uploadFor(ad, clip ? clip.mimeType : mimeType).restore(clip ? clip.chunks : new Map());
    }
    for (const adId of this.restartAds) recorded.delete(adId);
    const next = this.ads.findIndex((ad) => !recorded.has(ad.id));
    this.adIndex = next < 0 ? this.ads.length : next;
  }

  /** consent → camera: record the agreement to exactly the text shown. */
  agree() {
    return this.step("agree", [State.CONSENT], async (stale) => {
      const answer = await this.api.consent(this.session.session_id, this.consentBody("agree"));
      this.receiptCode = answer.receipt_code || null;
      // Now that there is something to withdraw, and while the network is here: the service
      // worker that sends a withdrawal made offline even after the tab is closed, where the
      // browser can (withdraw-sync.js). Not awaited. A panelist who declines gets none.
      this.withdrawalSync = this.withdrawalSync || prepareWithdrawalSync(this.env);
      if (this.ads.length && this.adIndex >= this.ads.length) {
        // Resumed with every ad recorded (a reload while the last chunks were sent): nothing
        // left to film, so no camera; send what this browser kept and end.
        await this.drain("complete", stale);
        return;
      }
      if (this.onDevice) this.startFaceReader();
      this.transition(State.CAMERA, { asking: false });
    });
  }

  /** consent → declined: record the refusal, then back to the survey with "declined". */
  decline(reason) {
    return this.step("decline", [State.CONSENT], async () => {
      await this.api.consent(this.session.session_id, this.consentBody("decline", reason));
      this.ended = true;
      this.status = "declined";
      // No video was recorded; the resume token stays, so a mistaken "no thanks" can be taken
      // back from this browser.
      this.store.dropSession(this.session.session_id);
      this.transition(State.DECLINED);
      this.returnToSurvey();
    });
  }

  /** On-device mode: load the face reader while the panelist turns the camera on. */
  startFaceReader() {
    if (this.analyser) return;
    this.figures = { consentAt: this.env.now() };
    this.analyser = new OnDeviceAnalyser({ baseUrl: this.options.baseUrl, config: this.onDevice });
    this.analyser.load().then(
      () => {
        this.figures.loadMs = this.analyser.loadMs;
      },
      () => {}, // the preflight reports it
    );
  }

  /** Figures of on-device mode, for tests and benches (no pixel, no record). */
  onDeviceFigures() {
    if (!this.analyser) return null;
    const costs = [...this.analyser.frameMs].sort((a, b) => a - b);
    return {
      ...this.figures,
      frameMsMedian: costs.length ? costs[costs.length >> 1] : null,
      framesRead: this.analyser.nextId - 1,
    };
  }

  consentBody(decision, reason, text = this.consent) {
    return {
      consentTextId: text.consent_text_id,
      textSha256: text.sha256,
      locale: text.locale,
      decision,
      reason,
    };
  }

  /** camera → preflight: ask the browser for the camera and show the preview. */
  enableCamera() {
    return this.step("enableCamera", [State.CAMERA], async (stale) => {
      const unsupported = recordingSupport({
        mediaDevices: this.env.mediaDevices,
        MediaRecorderClass: this.env.MediaRecorder,
        isSecureContext: this.env.isSecureContext,
      });
      const mimeType = this.onDevice
        ? FACE_RECORDS
        : chooseMimeType(this.env.MediaRecorder, this.options.mimeCandidates);
      if ((unsupported && !this.onDevice) || !mimeType) {
        this.toNoCamera(unsupported || CameraError.UNSUPPORTED);
        return;
      }
      this.mimeType = mimeType;
      this.update({ asking: true });
      let stream;
      try {
        stream = await this.env.getUserMedia(VIDEO_CONSTRAINTS);
      } catch (error) {
        if (stale()) return;
        this.toNoCamera(classifyCameraError(error), error);
        return;
      }
      if (stale()) {
        stopStream(stream); // withdrawn while the browser was asking: camera off at once
        return;
      }
      this.previewStream = stream;
      const preview = this.media.preview;
      if (preview) {
        preview.muted = true;
        preview.playsInline = true;
        preview.srcObject = stream;
        const playing = preview.play && preview.play();
        if (playing && playing.catch) playing.catch(() => {});
      }
      this.preflight = { tries: 0, last: null, passed: false, canSkip: false };
      this.transition(State.PREFLIGHT, { ...this.preflight });
    });
  }

  /**
   * On-device mode cannot run in this browser: camera off, and the study's fallback, said
   * plainly: the server-mode consent text asked again (state fallback) when the study offers
   * it, else the polite exit (status no_camera, nothing recorded). Never video without asking.
   */
  onDeviceUnavailable(error) {
    stopStream(this.previewStream);
    this.previewStream = null;
    if (this.media.preview) this.media.preview.srcObject = null;
    if (this.analyser) this.analyser.close();
    this.onDeviceFailure = error.reason || "load";
    this.onDeviceMessage = String(error.message || "");
    this.preflight = { ...this.preflight, canSkip: true };
    if (this.fallbackConsent) {
      this.reportError(`camera_${CameraError.ON_DEVICE}`, error);
      this.transition(State.FALLBACK, { reason: this.onDeviceFailure });
      return;
    }
    this.toNoCamera(CameraError.ON_DEVICE, error);
  }

  /**
   * fallback → camera: the panelist agreed to the server-mode text; from now on this session
   * records video, like any server-mode session. The server refuses it (409) if the study
   * stopped offering it or this session already sent face records: then the polite exit.
   */
  agreeFallback() {
    return this.step("agreeFallback", [State.FALLBACK], async (stale) => {
      const text = this.fallbackConsent;
      try {
        await this.api.consent(this.session.session_id, this.consentBody("agree", undefined, text));
      } catch (error) {
        if (stale() || !(error instanceof HttpError) || error.status !== 409) throw error;
        this.fallbackConsent = null;
        this.toNoCamera(CameraError.ON_DEVICE, error);
        return;
      }
      if (stale()) return;
      this.consent = text;
      this.fallbackConsent = null;
      this.onDevice = null;
      this.analyser = null;
      this.mode = "server";
      this.transition(State.CAMERA, { asking: false });
    });
  }

  /** fallback → no_camera: the panelist said no to sending video; nothing is recorded, and
   * they continue the survey from the polite exit (status no_camera). */
  declineFallback(reason) {
    return this.step("declineFallback", [State.FALLBACK], async (stale) => {
      const text = this.fallbackConsent;
      await this.api.consent(this.session.session_id, this.consentBody("decline", reason, text));
      if (stale()) return;
      this.fallbackConsent = null;
      this.toNoCamera(CameraError.ON_DEVICE);
    });
  }

  toNoCamera(kind, error) {
    this.cameraError = kind;
    this.transition(State.NO_CAMERA, { kind });
    if (error) this.reportError(`camera_${kind}`, error);
  }

  /** preflight → ready when light and face pass on most of a few frames. */
  checkPreflight() {
    return this.step("checkPreflight", [State.PREFLIGHT], async (stale) => {
      const settings = this.options.preflight;
      this.update({ checking: true });
      const verdicts = [];
      if (this.onDevice) {
        // The face reader itself checks light, face and speed.
        let verdict;
        try {
          verdict = await this.analyser.check(this.media.preview, { minLuma: settings.minLuma });
        } catch (error) {
          if (stale()) return;
          this.onDeviceUnavailable(error);
          return;
        }
        if (stale()) return;
        this.figures.preflightFrameMs = verdict.frameMs;
        if (!verdict.fast) {
          this.onDeviceUnavailable(
            new OnDeviceUnavailable("too_slow", `${Math.round(verdict.frameMs)} ms a frame`),
          );
          return;
        }
        verdicts.push(verdict);
      }
      for (let i = 0; i < (this.onDevice ? 0 : settings.framesPerCheck); i += 1) {
        const verdict = await this.env.analyzeFrame(this.media.preview, settings);
        if (stale()) return;
        if (verdict) verdicts.push(verdict);
        if (i + 1 < settings.framesPerCheck) await this.sleep(settings.framePauseMs);
      }
      if (stale()) return;
      const majority = (key) => verdicts.filter((v) => v[key]).length * 2 > verdicts.length;
      const last = {
        light: verdicts.length > 0 && majority("light"),
        face: verdicts.length > 0 && majority("face"),
      };
      const tries = this.preflight.tries + 1;
      const passed = last.light && last.face;
      this.preflight = { tries, last, passed, canSkip: tries >= this.options.preflightMaxTries };
      if (passed) {
        stopStream(this.previewStream); // camera off until the first ad plays
        this.previewStream = null;
        if (this.media.preview) this.media.preview.srcObject = null;
        this.transition(State.READY, { adIndex: this.adIndex });
      } else {
        this.update({ ...this.preflight, checking: false });
      }
    });
  }

  /** no_camera → try the camera again (before the preflight passed, or between ads). */
  retryCamera() {
    if (!this.guard("retryCamera", [State.NO_CAMERA])) return Promise.resolve(false);
    if (this.ended) {
      this.reportError("invalid_state", new Error("retryCamera() after the session ended"));
      return Promise.resolve(false);
    }
    this.cameraError = null;
    if (this.preflight.passed) {
      this.transition(State.READY, { adIndex: this.adIndex });
      return Promise.resolve(true);
    }
    this.transition(State.CAMERA, { asking: false });
    return this.enableCamera();
  }

  /**
   * Continue the survey without the camera (status no_camera): from a camera error, or from the
   * preflight after it failed a few times. Anything recorded already is still sent first.
   */
  continueWithoutCamera() {
    const allowed =
      this.state === State.PREFLIGHT
        ? this.preflight.canSkip
        : this.state === State.NO_CAMERA && !this.ended;
    if (!allowed) {
      this.reportError(
        "invalid_state",
        new Error(`continueWithoutCamera() is not allowed in state "${this.state}" now`),
      );
      return Promise.resolve(false);
    }
    return this.step("continueWithoutCamera", [State.PREFLIGHT, State.NO_CAMERA], async (stale) => {
      this.cameraOff();
      if (this.state === State.PREFLIGHT) this.toNoCamera("preflight");
      if (this.uploads.length) {
        await this.drain("no_camera", stale);
        return;
      }
      await this.endSession("no_camera");
      if (stale()) return;
      this.update({ ended: true });
      this.returnToSurvey();
    });
  }

  /** ready → playing: the next ad, recorded while it plays; then the next, then draining. */
  play() {
    return this.step("play", [State.READY], async (stale) => {
      for (let index = this.adIndex; index < this.ads.length; index += 1) {
        this.adIndex = index;
        const outcome = await this.playAd(index, stale);
        if (stale() || outcome !== "ended") return; // withdrawn, autoplay refused, camera lost
        if (index + 1 < this.ads.length) {
          this.adIndex = index + 1;
          this.update({ adIndex: index + 1, phase: "between" });
          await this.sleep(this.options.betweenAdsMs);
          if (stale()) return;
        }
      }
      this.adIndex = this.ads.length;
      await this.drain("complete", stale);
    });
  }

  async playAd(index, stale) {
    const ad = this.ads[index];
    const detail = { adIndex: index, phase: "starting" };
    if (this.state === State.PLAYING) this.update(detail);
    else this.transition(State.PLAYING, detail);
    let stream;
    try {
      stream = await this.env.getUserMedia(VIDEO_CONSTRAINTS);
    } catch (error) {
      if (stale()) return "stale";
      this.toNoCamera(classifyCameraError(error), error);
      return "camera";
    }
    if (stale()) {
      stopStream(stream);
      return "stale";
    }
    const upload = this.uploadFor(ad);
    this.run = new AdRun({
      video: this.media.ad,
      ad,
      stream,
      MediaRecorder: this.onDevice
        ? faceRecorderClass(this.analyser, this.env)
        : this.env.MediaRecorder,
      recorderOptions: {
        mimeType: this.mimeType,
        videoBitsPerSecond: this.options.videoBitsPerSecond,
      },
      chunkMs: this.options.chunkMs,
      upload,
      document: this.env.document,
      now: this.env.now,
      setTimeout: this.env.setTimeout,
      clearTimeout: this.env.clearTimeout,
      onRecording: (on) => {
        this.recording = on;
        if (!stale() && this.state === State.PLAYING)
          this.update({ phase: on ? "recording" : "stopped" });
      },
    });
    try {
      await this.run.start();
    } catch (error) {
      if (stale()) return "stale";
      if (upload.chunkCount === 0) this.uploads.drop(upload);
      else upload.close();
      if (error && error.name === "NotAllowedError") {
        // Autoplay refused (no click yet in this frame): a click on Play starts it again.
        this.transition(State.READY, { adIndex: index, autoplayBlocked: true });
        return "blocked";
      }
      if (error && error.name === "CameraLostError") {
        // This ad cannot be recorded again into the same clip: the next try starts at the next ad.
        this.adIndex = index + 1;
        this.toNoCamera(CameraError.LOST, error);
        return "camera";
      }
      throw error;
    } finally {
      this.run = null;
    }
    upload.close();
    return "ended";
  }

  uploadFor(ad, mimeType = this.mimeType) {
    const reusable = this.uploads.reusable(ad.id);
    if (reusable) return reusable;
    const sessionId = this.session.session_id;
    const upload = new ClipUpload({
      api: this.api,
      createClip: (signal) =>
        this.api.createClip(
          sessionId,
          { adId: ad.id, mimeType, restart: this.restartAds.has(ad.id) },
          signal,
        ),
      store: this.store,
      storeKey: { session: sessionId, ad: ad.id, mimeType },
      connectivity: this.connectivity,
      retryDelays: this.options.retryDelays,
      onShouldRetry: this.options.onShouldRetry,
      parallel: this.options.parallelUploads,
      onChange: () => this.emitProgress(),
    });
    upload.adId = ad.id;
    upload.done.then(
      (outcome) => {
        if (outcome && outcome.lost) {
          const error = new Error(`${outcome.lost} recorded chunks never reached the server`);
          this.reportError("chunks_lost", error);
        }
      },
      (error) => {
        if (error instanceof AbortedError) return;
        this.reportError("upload_failed", error);
        // The server no longer takes this session (erased, superseded, token refused): the
        // camera goes off now rather than record what can go nowhere.
        if (isGone(error) && !this.ended) this.fail(error);
      },
    );
    return this.uploads.add(upload);
  }

  /** Anything of this session was recorded (here, or before a reload): what withdrawing
   * deletes is a recording, not only a consent. */
  get hasRecorded() {
    const before = this.session && this.session.recorded_ads;
    return this.recording || this.uploads.length > 0 || Boolean(before && before.length);
  }

  /** Chunks acknowledged and queued over every clip of the session. */
  get progress() {
    return this.uploads.progress;
  }

  emitProgress() {
    this.emit("progress", this.progress);
  }

  /** Wait for every clip to be sent and finished, then end the session with `status`. */
  async drain(status, stale) {
    this.transition(State.DRAINING, { status });
    this.emitProgress();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = this.env.setTimeout(
        () => reject(new Error("the last chunks could not be sent in time")),
        this.options.drainTimeoutMs,
      );
    });
    try {
      await Promise.race([this.uploads.allDone(), timeout]);
    } finally {
      this.env.clearTimeout(timer);
    }
    if (stale()) return;
    await this.endSession(status);
    if (stale()) return;
    this.transition(status === "complete" ? State.DONE : State.NO_CAMERA, { ended: true });
    // Something was recorded (complete, or no_camera after the camera was lost mid-study), so
    // the end waits for a click and the receipt can be read, unless there is nowhere to
    // navigate: then a host page framing us is told at once (postMessage) and goes on itself.
    if (!this.returnUrl) this.returnToSurvey();
  }

  async endSession(status) {
    if (this.analyser) this.analyser.close(); // the face reader's ~75 MB go with the session
    const answer = await this.api.end(this.session.session_id, status);
    if (answer && answer.receipt_code) this.receiptCode = answer.receipt_code;
    this.ended = true;
    // The server says what the data is: "complete" only if a clip is usable, else "incomplete"
    // (a reload, a closed or hidden tab cut the only recording short). The survey hears that.
    const honest = status === "complete" && answer && answer.status === "incomplete";
    this.status = honest ? "incomplete" : status;
    this.clearStore();
  }

  /** Switch the camera off now: preview, current recording, all of it. */
  cameraOff() {
    stopStream(this.previewStream);
    this.previewStream = null;
    if (this.media.preview) this.media.preview.srcObject = null;
    if (this.run) this.run.kill();
  }

  /**
   * "Stop and delete my recording": the camera goes off before anything else, uploads stop,
   * the withdrawal is kept in this browser (so it survives a lost network and a closed tab),
   * the server is told to erase the session, and the panelist returns with "withdrawn". If the
   * server cannot be reached, the withdrawal is sent again until it is acknowledged: whenever
   * the server answers again while this page is open, and at the next load of any page that
   * loads the recorder on this origin (withdrawals.js).
   */
  async withdraw() {
    if (!canTransition(this.state, State.WITHDRAWN) || this.status === "withdrawn") {
      this.reportError(
        "invalid_state",
        new Error(`withdraw() is not allowed in state "${this.state}"`),
      );
      return false;
    }
    this.epoch += 1; // every step under way drops its late answers (and says nothing more)
    const recorded = this.hasRecorded;
    this.cameraOff();
    this.busy = "withdraw";
    this.uploads.abortAll();
    const id = this.session.session_id;
    const record = {
      session: id,
      baseUrl: this.options.baseUrl,
      token: this.api.token,
      receipt: this.receiptCode,
    };
    // From now until the server acknowledges it, a closing tab's last beacon is the
    // withdrawal (pageHidden), not "left the page", which would have the clip finished.
    this.pendingWithdrawal = record;
    await this.openStore();
    await this.store.saveWithdrawal(record); // kept before the screen says anything
    this.store.dropSession(id);
    this.forgetResume();
    this.update({ withdrawing: true });
    // One try now; the screen then says at once what is true, and the kept withdrawal is sent
    // again whenever the server may be back (keepWithdrawing), rather than after long retries.
    let outcome = Sent.LATER;
    try {
      outcome = await sendWithdrawal(this.store, record, this.withdrawalOptions);
    } catch (error) {
      this.reportError("withdraw_failed", error);
    }
    const erased = outcome !== Sent.LATER;
    if (!erased) {
      this.reportError("withdraw_failed", new Error("the server could not be reached: kept"));
    }
    this.ended = true;
    this.status = "withdrawn";
    this.busy = null;
    // `background`: whether the browser promised to send it even with this page closed
    // (Background Sync); null until it answers (milliseconds): the screen says what is true.
    this.transition(State.WITHDRAWN, { erased, recorded, background: null });
    if (erased) {
      this.pendingWithdrawal = null;
    } else {
      this.keepWithdrawing(record);
      this.askBackgroundSync();
    }
    // Like "complete": the "Recording deleted" screen waits for a click, unless there is nowhere
    // to navigate (then a host page framing us is told at once and goes on by itself).
    if (!this.returnUrl) this.returnToSurvey();
    return true;
  }

  /** Ask the browser to send the kept withdrawal once online, even after this page closes;
   * the screen then says which of the two the panelist can count on. */
  async askBackgroundSync() {
    const ready = this.withdrawalSync || prepareWithdrawalSync(this.env);
    const background = await requestWithdrawalSync(ready);
    this.backgroundSync = background;
    if (this.pendingWithdrawal) this.update({ background });
  }

  /** Send the kept withdrawal each time the server may be back, until it is acknowledged. */
  async keepWithdrawing(record) {
    for (;;) {
      await this.connectivity.wait(); // the `online` event, or a probe the server answered
      let outcome;
      try {
        outcome = await sendWithdrawal(this.store, record, this.withdrawalOptions);
      } catch {
        outcome = Sent.LATER;
      }
      if (outcome !== Sent.LATER) {
        this.pendingWithdrawal = null;
        this.update({ erased: true });
        return outcome;
      }
    }
  }

  async fail(error) {
    this.epoch += 1;
    this.busy = null;
    this.cameraOff();
    this.uploads.abortAll();
    this.reportError("failed", error);
    if (this.session && !this.ended) {
      try {
        await this.endSession("failed");
      } catch (endError) {
        this.reportError("end_failed", endError);
      }
    }
    this.ended = true;
    this.status = "failed";
    this.clearStore(); // unsent chunks of a failed session could go nowhere: not kept
    if (!TERMINAL.has(this.state)) this.transition(State.FAILED, { message: error.message });
  }
}

/** An answer saying the session or its clip is gone for good, not a passing failure. */
function isGone(error) {
  return error instanceof HttpError && [401, 403, 404, 410].includes(error.status);
}
