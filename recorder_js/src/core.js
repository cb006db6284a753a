// The recorder's machinery: options, environment, events, transitions, guarded steps, and the
// way back to the survey. The panelist flow itself is in recorder.js.

import { AbortedError, PanelApi } from "./api.js";
import { Connectivity, makeSleep } from "./connectivity.js";
import { requestLocale, resolveLocale, strings, withTranslations } from "./i18n.js";
import { browserEnv, resolveOptions } from "./options.js";
import { fillReturnUrl } from "./return-url.js";
import { State, TERMINAL, canTransition } from "./states.js";
import { UploadSet } from "./uploader.js";

export class RecorderCore {
  constructor(options = {}) {
    this.options = resolveOptions(options);
    this.env = browserEnv(this.options.env);
    const { setTimeout: set, clearTimeout: clear } = this.env;
    this.sleep = makeSleep(set, clear);
    this.api = new PanelApi({
      baseUrl: this.options.baseUrl,
      transport: this.options.transport,
      retryDelays: this.options.retryDelays,
      onShouldRetry: this.options.onShouldRetry,
      sleep: this.sleep,
      digest: this.env.digest,
    });
    this.connectivity = new Connectivity({
      win: this.env.window,
      sleep: this.sleep,
      probe: (signal) => this.api.ping(signal),
      probeDelays: this.options.probeDelays,
      fallbackMs: this.options.offlineRetryMs,
    });
    this.respondentId = this.options.respondentId || this.env.randomId();
    // The language asked for goes to the server, which picks the consent text among all the
    // designer wrote; the recorder's own words are in the nearest language it speaks.
    this.wantedLocale = requestLocale(this.options.locale || (globalThis.navigator || {}).language);
    this.locale = resolveLocale(this.wantedLocale);
    this.state = State.IDLE;
    this.detail = {};
    this.listeners = new Map();
    this.busy = null; // name of the async step under way, to refuse double clicks
    this.epoch = 0; // bumped on withdrawal/failure so late answers of older steps are dropped
    this.session = null;
    this.consent = null;
    this.ads = [];
    this.adIndex = 0;
    this.restartAds = new Set(); // ads a reload cut off, offered again from the start (once)
    this.receiptCode = null;
    this.cameraError = null;
    this.preflight = { tries: 0, last: null, passed: false, canSkip: false };
    this.previewStream = null;
    this.run = null; // the AdRun under way
    this.uploads = new UploadSet(); // one ClipUpload per recorded ad
    this.store = null; // chunks not yet acknowledged (chunk-store.js), opened by start()
    this.recording = false;
    this.ended = false; // the session's outcome is known and told to the server
    this.status = null; // complete | declined | no_camera | withdrawn | failed
    this.media = { ad: null, preview: null };
    this.mimeType = null;
    this.presenceSeq = 0; // the last "left the page" / "back" message's sequence number
    this.leftSent = false; // a beacon said the panelist left, and no "back" followed yet
    this.unloading = false; // the page is going away (pagehide, not into the back/forward cache)
    this.pendingWithdrawal = null; // a withdrawal kept in the store, not acknowledged yet
    this.releaseTab = null; // lets go of this tab's hold on the respondent's session (Web Lock)
    const win = this.env.window;
    if (win && typeof win.addEventListener === "function") {
      const onNetwork = () => this.emit("network", { online: !this.connectivity.offline });
      win.addEventListener("online", onNetwork);
      win.addEventListener("offline", onNetwork);
      // Unloading (closed, reloaded, navigated away) unless kept in the back/forward cache.
      win.addEventListener("pagehide", (event) => this.pageHidden(!event.persisted));
      win.addEventListener("pageshow", (event) => {
        if (event.persisted) this.pageShown();
      });
    }
    const doc = this.env.document;
    if (doc && typeof doc.addEventListener === "function") {
      // The last event a mobile browser surely fires before it kills a page: only a hint, as
      // the tab may be shown again.
      doc.addEventListener("visibilitychange", () => {
        if (doc.visibilityState === "hidden") this.pageHidden(false);
        else this.pageShown();
      });
    }
  }

  // ---- leaving the page ---------------------------------------------------------------------

  nextPresenceSeq() {
    this.presenceSeq = Math.max(this.env.wallNow(), this.presenceSeq + 1);
    return this.presenceSeq;
  }

  /**
   * The page is hidden, or going away (`final`): tell the server in a beacon, which outlives
   * the page, so a closed tab's clip is finished promptly rather than after the server's long
   * idle wait. Going away, it lists the clips whose every chunk and event the server has
   * acknowledged (nothing more can come for them from here: the server finishes them at once);
   * a clip with chunks still held back is left to the server's idle rules, since a reload
   * sends them. See docs/panelist-api.md, "Leaving the page".
   */
  pageHidden(final) {
    if (final && this.pendingWithdrawal) {
      // Still not acknowledged: the page's last request is the withdrawal itself (it may get
      // through where the page's own retries had not yet; else the next page load sends it).
      const { session, token } = this.pendingWithdrawal;
      this.env.sendBeacon(
        this.api.presenceUrl(session),
        this.api.withdrawMessage(this.nextPresenceSeq(), token),
      );
      return;
    }
    const id = this.session && this.session.session_id;
    // Once unloading, the page says nothing more: browsers fire `visibilitychange` after
    // `pagehide`, and a later beacon that overtook the final one would only confuse the order.
    if (!id || this.ended || !this.api.token || this.unloading) return;
    this.unloading = final;
    const clips = final ? this.uploads.settledClips() : [];
    const message = this.api.leaveMessage(this.nextPresenceSeq(), clips);
    if (this.env.sendBeacon(this.api.presenceUrl(id), message)) this.leftSent = true;
  }

  /** Shown again after a beacon: the panelist is back, the server must not finish their clip. */
  pageShown() {
    const id = this.session && this.session.session_id;
    if (!this.leftSent || !id || this.ended) return;
    this.leftSent = false;
    const seq = this.nextPresenceSeq();
    // Sent until it arrives (or the page is hidden again, or the session ends): while the server
    // believes the page hidden, a clip of ours that goes quiet for half a minute is finished.
    const send = () =>
      this.api.back(id, seq).catch(async (error) => {
        this.reportError("presence_failed", error);
        await this.connectivity.wait();
        if (this.presenceSeq === seq && !this.ended) await send();
      });
    send();
  }

  // ---- the flow -----------------------------------------------------------------------------

  // ---- events -------------------------------------------------------------------------------

  /** Listen to "state", "progress", "error", "network", "return"; returns an unsubscribe. */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, payload) {
    const callback = {
      state: this.options.onStateChange,
      progress: this.options.onProgress,
      error: this.options.onError,
    }[type];
    const args = type === "state" ? [payload.state, payload.previous, payload.detail] : [payload];
    if (typeof callback === "function") safely(() => callback(...args));
    for (const fn of this.listeners.get(type) || []) safely(() => fn(payload));
  }

  get strings() {
    // The designer's translation for this session's locale, if the integration has one.
    const translated = this.session && this.session.strings;
    if (!translated) return strings(this.locale);
    if (this.translatedFrom !== translated) {
      this.translated = withTranslations(strings(this.locale), translated);
      this.translatedFrom = translated;
    }
    return this.translated;
  }

  transition(to, detail = {}) {
    const previous = this.state;
    if (!canTransition(previous, to)) {
      throw new Error(`bug: no transition ${previous} → ${to}`);
    }
    this.state = to;
    this.detail = detail;
    // Over: another tab of this browser may now open this respondent's recording.
    if (TERMINAL.has(to) && this.releaseTab) {
      this.releaseTab();
      this.releaseTab = null;
    }
    this.emit("state", { state: to, previous, detail });
  }

  /** Same state, new detail (e.g. a preflight result): tells listeners without a transition. */
  update(detail) {
    this.detail = { ...this.detail, ...detail };
    this.emit("state", { state: this.state, previous: this.state, detail: this.detail });
  }

  reportError(code, error) {
    const message = error ? error.message || String(error) : code;
    this.emit("error", { code, message, error, state: this.state });
  }

  /** Refuse a call: wrong state, or the previous step still running. Never throws. */
  guard(method, allowed) {
    if (!allowed.includes(this.state)) {
      this.reportError(
        "invalid_state",
        new Error(`${method}() is not allowed in state "${this.state}"`),
      );
      return false;
    }
    if (this.busy) {
      this.reportError("busy", new Error(`${method}() while ${this.busy}() is still running`));
      return false;
    }
    return true;
  }

  /**
   * Run one step of the flow if the state allows it. `body(stale)` gets a function that turns
   * true once the panelist withdrew (or the session failed) meanwhile; an error fails the
   * session through this.fail().
   */
  async step(method, allowed, body) {
    if (!this.guard(method, allowed)) return false;
    this.busy = method;
    const epoch = this.epoch;
    try {
      await body(() => epoch !== this.epoch);
      return true;
    } catch (error) {
      if (epoch !== this.epoch || error instanceof AbortedError) return false;
      if (method === "start" && isStudyClosed(error)) {
        this.studyClosed(error.body);
        return false;
      }
      await this.fail(error);
      return false;
    } finally {
      if (epoch === this.epoch) this.busy = null;
    }
  }

  /** The study takes no new panelists (paused or closed by its designer, or at its target):
   * say so politely and go back with "closed"; at once only when there is no page to go to. */
  studyClosed(body) {
    this.session = {
      session_id: null,
      ads: [],
      return_url_template: body.return_url_template || "",
    };
    this.ended = true;
    this.status = "closed";
    // The server's sentence (say, a consent text that does not yet disclose emotion reading)
    // is for the designer's preview; panelists see the polite closed screen only.
    this.transition(State.CLOSED, { intake: body.intake, reason: body.detail || null });
    if (!this.returnUrl) this.returnToSurvey();
  }

  // ---- back to the survey -------------------------------------------------------------------

  /** The filled return URL for the current outcome, or null (no template, or not ended). */
  get returnUrl() {
    if (!this.ended || !this.session) return null;
    return fillReturnUrl(this.session.return_url_template, {
      respondentId: this.respondentId,
      status: this.status,
      receipt: this.status === "declined" ? "" : this.receiptCode || "",
    });
  }

  /** Navigate back (or hand the URL to options.onReturn). Returns how it went. */
  returnToSurvey() {
    if (!this.ended) {
      this.reportError("invalid_state", new Error("returnToSurvey() before the session ended"));
      return "refused";
    }
    const payload = {
      status: this.status,
      url: this.returnUrl,
      receipt: this.status === "declined" ? null : this.receiptCode,
      parentOrigin: this.options.parentOrigin,
    };
    this.emit("return", payload);
    // A designer's preview never lands in the live survey: the screen says what would happen.
    if (this.options.preview) return "preview";
    if (typeof this.options.onReturn === "function") {
      safely(() => this.options.onReturn(payload));
      return "delegated";
    }
    return this.env.navigate(payload);
  }
}

function isStudyClosed(error) {
  return Boolean(
    error && error.status === 409 && error.body && error.body.code === "study_closed",
  );
}

function safely(fn) {
  try {
    fn();
  } catch (error) {
    // A listener's bug must not break the recorder; show it where developers look.
    if (globalThis.console) globalThis.console.error(error);
  }
}
