// The panelist's screens: one per state of the recorder, rebuilt on each state event.
// Plain DOM, no framework; every control is a real <button> or <a>, every change of screen
// moves focus to its heading, and short status lines go to an aria-live region.

import { erasureUrl, isFramed } from "./return-url.js";
import { State, WITHDRAWABLE } from "./states.js";
import { STYLES } from "./styles.js";

/** Build an element: h("p", {class: "x"}, "text", child…). Text is always textContent. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Where a screen wants the video stage (preview or ad): nodes before it go above, after it below.
const STAGE = Symbol("stage");

export class RecorderView {
  /**
   * @param {HTMLElement} host  where the recorder appears; it gets an open shadow root
   * @param {import("./recorder.js").CandorRecorder} recorder
   */
  constructor(host, recorder) {
    this.recorder = recorder;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    root.replaceChildren();
    root.append(h("style", {}, STYLES));
    this.screen = h("section", { class: "cr-screen", "aria-labelledby": "cr-title" });
    this.preview = h("video", {
      class: "cr-preview",
      muted: true,
      playsinline: true,
      autoplay: true,
      "aria-hidden": "true",
    });
    this.preview.muted = true;
    this.ad = h("video", {
      class: "cr-ad",
      playsinline: true,
      disablepictureinpicture: true,
      controlslist: "nodownload noplaybackrate noremoteplayback",
      tabindex: "-1",
      oncontextmenu: (event) => event.preventDefault(), // no "show controls"/"loop" menu
    });
    this.stage = h("div", { class: "cr-stage" }, this.preview, this.ad);
    this.below = h("div", { class: "cr-below" });
    // Announcements for screen readers; what sighted panelists need is shown on the screen.
    this.status = h("p", { class: "cr-sr", role: "status", "aria-live": "polite" });
    this.offline = h("p", { class: "cr-offline", hidden: true });
    this.withdrawButton = h("button", {
      type: "button",
      class: "cr-withdraw",
      onclick: () => recorder.withdraw(),
    });
    this.footer = h("footer", { class: "cr-footer" }, this.withdrawButton);
    // A designer previewing the flow sees, on every screen, that this run is not counted.
    this.badge = h("p", { class: "cr-badge", hidden: !recorder.options.preview });
    this.root = h(
      "div",
      { class: "cr" },
      this.badge,
      this.screen,
      this.stage,
      this.below,
      this.offline,
      this.status,
      this.footer,
    );
    root.append(this.root);
    recorder.attachMedia({ ad: this.ad, preview: this.preview });
    recorder.on("state", ({ state, previous }) =>
      // The consent screen is what the page opens on: no focus jump into a host page then.
      this.render(state !== previous, previous !== State.IDLE),
    );
    recorder.on("progress", () => this.renderProgress());
    recorder.on("network", ({ online }) => this.showOffline(!online));
    this.render(true, false);
  }

  get t() {
    return this.recorder.strings;
  }

  say(text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  showOffline(offline) {
    const relevant = [State.PLAYING, State.DRAINING].includes(this.recorder.state);
    // "Offline" only when the browser says so; otherwise it is the server that does not answer.
    const text = this.recorder.connectivity.offline ? this.t.offline : this.t.unreachable;
    this.offline.textContent = text;
    this.offline.hidden = !(offline && relevant);
    if (offline && relevant) this.say(text);
    else if ([this.t.offline, this.t.unreachable].includes(this.status.textContent)) {
      const { state, detail } = this.recorder;
      this.say(state === State.PLAYING && detail.phase === "recording" ? this.t.recording : "");
    }
  }

  render(newScreen, moveFocus) {
    const r = this.recorder;
    const { state, detail } = r;
    const t = this.t;
    if (state !== State.CONSENT) this.declining = false;
    // A designer's translation speaks the session's own language (say "de"), not a built-in one.
    this.root.setAttribute("lang", r.session && r.session.strings ? r.session.locale : r.locale);
    this.badge.textContent = r.options.preview ? t.previewBadge : "";
    const build = this.screens[state];
    const nodes = build
      .call(this, r, detail, t)
      .flat(2)
      .filter((node) => node);
    const split = nodes.indexOf(STAGE);
    this.screen.replaceChildren(...(split < 0 ? nodes : nodes.slice(0, split)));
    this.below.replaceChildren(...(split < 0 ? [] : nodes.slice(split + 1)));
    this.stage.hidden = split < 0;
    this.preview.hidden = state !== State.PREFLIGHT;
    this.ad.hidden = state !== State.PLAYING || detail.phase === "between";
    this.showOffline(r.connectivity.offline || r.progress.waiting);
    this.footer.hidden = !WITHDRAWABLE.has(state) || r.status === "withdrawn";
    this.withdrawButton.textContent = detail.withdrawing ? t.withdrawing : this.withdrawLabel();
    this.withdrawButton.disabled = Boolean(detail.withdrawing);
    if (state === State.PLAYING) {
      this.say(
        detail.phase === "between" ? t.nextAd : detail.phase === "recording" ? t.recording : "",
      );
    } else if (newScreen) {
      this.say("");
    }
    if (newScreen && moveFocus) {
      // Each step follows a click: take the keyboard and the screen reader to its heading.
      const title = this.screen.querySelector("h1");
      if (title) title.focus({ preventScroll: false });
    }
  }

  /** What the footer's button does here, in words: "stop" only while ads are recorded or sent,
   * "delete" where something is held but nothing records, and before any recording only the
   * consent is taken back. */
  withdrawLabel() {
    const r = this.recorder;
    const t = this.t;
    const live = !r.ended && [State.PLAYING, State.DRAINING].includes(r.state);
    if (live) return t.withdrawButton;
    return r.hasRecorded ? t.deleteButton : t.withdrawConsentButton;
  }

  renderProgress() {
    const p = this.recorder.progress;
    // While an ad plays too: the uploads may be waiting for the network or the server.
    this.showOffline(p.waiting || this.recorder.connectivity.offline);
    if (this.recorder.state !== State.DRAINING || !this.bar) return;
    const pct = p.bytesTotal ? Math.floor((100 * p.bytesAcked) / p.bytesTotal) : 100;
    this.bar.value = pct;
    this.bar.setAttribute("aria-valuenow", String(pct));
    const format = new Intl.NumberFormat(this.recorder.locale, { style: "percent" });
    this.barLabel.textContent = format.format(pct / 100);
  }

  title(text) {
    return h("h1", { id: "cr-title", tabindex: "-1" }, text);
  }

  button(text, onclick, { secondary = false, disabled = false, name } = {}) {
    return h(
      "button",
      {
        type: "button",
        class: secondary ? "cr-btn cr-secondary" : "cr-btn",
        disabled,
        onclick,
        "data-action": name,
      },
      text,
    );
  }

  /** "Continue the survey": a real link (works in frames after a click), or a closing note. */
  continueLink() {
    const r = this.recorder;
    const url = r.returnUrl;
    // A designer's preview goes nowhere: it says where a panelist would have gone instead.
    if (r.options.preview) {
      return h(
        "div",
        { class: "cr-preview-end", "data-preview-end": r.status },
        url
          ? [h("p", {}, this.t.previewReturn(r.status)), h("p", { class: "cr-url" }, url)]
          : h("p", {}, this.t.previewNoReturn(r.status)),
      );
    }
    // No return URL: a host page that frames us, or that loaded us with a script tag, goes on
    // by itself (it got our postMessage); only Candor's own page has a window to close.
    if (!url) return h("p", {}, insideSurvey(r) ? this.t.continueInSurvey : this.t.closeWindow);
    const link = h(
      "a",
      {
        class: "cr-btn",
        href: url,
        target: "_top",
        rel: "noopener",
        "data-action": "continue",
        onclick: (event) => {
          // Our own navigation first (it tells a parent page by postMessage); the link's default
          // action stays as the fallback when the top window may not be navigated.
          const how = r.returnToSurvey();
          if (how === "navigated" || how === "top" || how === "delegated") event.preventDefault();
        },
      },
      this.t.continueSurvey,
    );
    return h("div", { class: "cr-row" }, link);
  }

  /** After "No thanks": one optional tap for why, with Continue just as prominent; never asked
   * again, and any answer (or none) goes on to the survey the same way. */
  declineReasons(r, t) {
    const decline = (reason) => () => r.decline(reason);
    return [
      this.title(t.declineAskTitle),
      h("p", {}, t.declineAsk),
      h(
        "div",
        { class: "cr-row", role: "group", "aria-label": t.declineAskTitle },
        Object.entries(t.declineReasons).map(([code, label]) =>
          this.button(label, decline(code), { secondary: true, name: `reason-${code}` }),
        ),
      ),
      h(
        "div",
        { class: "cr-row" },
        this.button(t.declineContinue, decline(undefined), {
          secondary: true,
          name: "decline-continue",
        }),
      ),
    ];
  }

  receipt({ explain = true, note = this.t.eraseAt } = {}) {
    const r = this.recorder;
    const code = r.receiptCode;
    if (!code) return null;
    // Where to use the code later: without it the code would be of no use to the panelist.
    const origin = typeof location === "undefined" ? "" : location.origin;
    const url = erasureUrl(r.options.baseUrl, r.locale, origin);
    return [
      explain ? h("p", {}, this.t.receiptExplain) : null,
      h("p", { class: "cr-receipt", "data-receipt": code }, code),
      url
        ? h(
            "p",
            { class: "cr-note" },
            note,
            " ",
            h(
              "a",
              { href: url, target: "_blank", rel: "noopener", "data-action": "erase" },
              url.replace(/\?.*$/, ""),
            ),
          )
        : null,
    ];
  }
}

RecorderView.prototype.screens = {
  idle(r, d, t) {
    return [this.title(t.loading)];
  },

  consent(r, d, t) {
    const c = r.consent;
    if (this.declining) return this.declineReasons(r, t);
    return [
      this.title(t.consentTitle),
      h("div", { class: "cr-consent", lang: c.locale }, c.text),
      c.instructions ? h("p", { class: "cr-instructions", lang: c.locale }, c.instructions) : null,
      // Agree and decline: same size, same weight, side by side.
      h(
        "div",
        { class: "cr-row" },
        this.button(t.agree, () => r.agree(), { name: "agree" }),
        this.button(
          t.decline,
          () => {
            this.declining = true;
            this.render(true, true);
          },
          { name: "decline" },
        ),
      ),
      h("p", { class: "cr-note" }, t.declineNote),
      h("p", { class: "cr-note", "data-note": "storage" }, t.storageNote),
    ];
  },

  // On-device mode cannot run here and the study asks again with its server-mode text: the
  // same two equal buttons as the first consent; nothing is sent unless they agree.
  fallback(r, d, t) {
    const c = r.fallbackConsent;
    return [
      this.title(t.fallbackTitle),
      h("div", { class: "cr-consent", lang: c.locale }, c.text),
      c.instructions ? h("p", { class: "cr-instructions", lang: c.locale }, c.instructions) : null,
      h(
        "div",
        { class: "cr-row" },
        this.button(t.fallbackAgree, () => r.agreeFallback(), { name: "fallback-agree" }),
        this.button(t.fallbackDecline, () => r.declineFallback(), { name: "fallback-decline" }),
      ),
      h("p", { class: "cr-note" }, t.fallbackNote),
    ];
  },

  camera(r, d, t) {
    return [
      this.title(t.cameraTitle),
      h("p", {}, t.cameraExplain),
      h(
        "div",
        { class: "cr-row" },
        this.button(t.cameraButton, () => r.enableCamera(), { disabled: d.asking, name: "camera" }),
      ),
      d.asking ? h("p", { class: "cr-note" }, t.cameraWaiting) : null,
    ];
  },

  preflight(r, d, t) {
    const last = r.preflight.last;
    const check = (ok, label, tip) =>
      h(
        "li",
        { class: last ? (ok ? "cr-ok" : "cr-ko") : "" },
        `${label}${last ? ` — ${ok ? t.checkPass : t.checkFail}` : ""}`,
        last && !ok ? h("span", { class: "cr-tip" }, tip) : null,
      );
    return [
      this.title(t.preflightTitle),
      h("p", {}, t.preflightExplain),
      STAGE,
      h(
        "ul",
        { class: "cr-checks", "aria-live": "polite" },
        check(last && last.light, t.checkLight, t.lightTip),
        check(last && last.face, t.checkFace, t.faceTip),
      ),
      h(
        "div",
        { class: "cr-row" },
        this.button(d.checking ? t.preflightChecking : t.preflightCheck, () => r.checkPreflight(), {
          disabled: d.checking,
          name: "check",
        }),
        r.preflight.canSkip
          ? this.button(t.skipCamera, () => r.continueWithoutCamera(), {
              secondary: true,
              name: "skip",
            })
          : null,
      ),
    ];
  },

  ready(r, d, t) {
    const ad = r.ads[r.adIndex];
    const again = Boolean(ad && r.restartAds.has(ad.id));
    const first = r.adIndex === 0 && !d.autoplayBlocked && !again;
    return [
      this.title(t.readyTitle),
      first ? h("p", {}, t.preflightPassed, " ", t.readyExplain) : null,
      first ? h("p", {}, t.adsCount(r.ads.length)) : null,
      d.autoplayBlocked ? h("p", {}, t.autoplayBlocked) : null,
      !first && !d.autoplayBlocked ? h("p", {}, t.playingLabel(r.adIndex + 1, r.ads.length)) : null,
      again ? h("p", { "data-note": "replay" }, t.replayNote) : null,
      h(
        "div",
        { class: "cr-row" },
        this.button(first ? t.startButton : t.playButton, () => r.play(), { name: "play" }),
      ),
    ];
  },

  playing(r, d, t) {
    const label = t.playingLabel(Math.min(r.adIndex, r.ads.length - 1) + 1, r.ads.length);
    if (d.phase === "between") return [this.title(t.nextAd), h("p", {}, label)];
    return [
      h(
        "div",
        { class: "cr-bar" },
        h("h1", { id: "cr-title", tabindex: "-1", style: "font-size:1.1rem;margin:0" }, label),
        r.recording ? h("span", { class: "cr-rec" }, t.recording) : null,
      ),
      STAGE,
    ];
  },

  draining(r, d, t) {
    this.bar = h("progress", {
      max: "100",
      value: "0",
      "aria-labelledby": "cr-title",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
    });
    this.barLabel = h("span", { class: "cr-note" });
    const nodes = [
      this.title(t.drainingTitle),
      h("p", {}, t.drainingExplain),
      this.bar,
      this.barLabel,
    ];
    queueMicrotask(() => this.renderProgress());
    return nodes;
  },

  done(r, d, t) {
    return [
      this.title(t.doneTitle),
      r.status === "incomplete" ? h("p", { "data-note": "incomplete" }, t.doneIncomplete) : null,
      this.receipt(),
      this.continueLink(),
    ];
  },

  declined(r, d, t) {
    // "Returning you…" only when there is a survey to return to; else the closing note says it.
    const explain = r.returnUrl ? `${t.declinedExplain} ${t.returning}` : t.declinedExplain;
    return [this.title(t.declinedTitle), h("p", {}, explain), this.continueLink()];
  },

  no_camera(r, d, t) {
    const kind = r.cameraError || "other";
    if (r.ended) {
      // Nothing is left to try: no steps that say "press Try again", and the receipt, since
      // what was recorded before the camera stopped is analysed like any clip.
      return [
        this.title(t.noCameraTitle[kind]),
        h("p", {}, t.noCameraEnded),
        this.receipt(),
        this.continueLink(),
      ];
    }
    const nodes = [
      this.title(t.noCameraTitle[kind]),
      h(
        "ol",
        { class: "cr-steps" },
        t.noCameraSteps[kind].map((step) => h("li", {}, step)),
      ),
    ];
    const canRetry = !["unsupported", "insecure", "on_device"].includes(kind);
    nodes.push(
      h(
        "div",
        { class: "cr-row" },
        canRetry ? this.button(t.retryCamera, () => r.retryCamera(), { name: "retry" }) : null,
        this.button(t.skipCamera, () => r.continueWithoutCamera(), {
          secondary: canRetry,
          name: "skip",
        }),
      ),
    );
    return nodes;
  },

  withdrawn(r, d, t) {
    // Stays on screen until the panelist goes on: they see that their video is gone, and keep
    // the code that shows it later.
    return [
      this.title(t.withdrawnTitle),
      h(
        "p",
        {},
        d.erased
          ? d.recorded
            ? t.withdrawnExplain
            : t.withdrawnNothing
          : d.background === true
            ? t.withdrawnPendingBackground
            : d.background === false
              ? t.withdrawnPendingPageOnly
              : t.withdrawnPending,
      ),
      d.erased && r.receiptCode ? h("p", {}, t.withdrawnReceipt) : null,
      // Erased: the code shows what is kept (nothing); not yet: it has everything erased.
      this.receipt({ explain: false, note: d.erased ? t.checkAt : t.eraseAt }),
      this.continueLink(),
    ];
  },

  elsewhere(r, d, t) {
    // No way back to the survey from here: the tab that records will take the panelist there.
    return [this.title(t.elsewhereTitle), h("p", {}, t.elsewhereExplain)];
  },

  closed(r, d, t) {
    // The designer previewing sees the real reason (a consent text to fix, no ads yet).
    const why =
      r.options.preview && d.reason
        ? h(
            "p",
            { class: "cr-preview-end", "data-closed-reason": "" },
            t.closedPreviewReason(d.reason),
          )
        : null;
    return [this.title(t.closedTitle), h("p", {}, t.closedExplain), why, this.continueLink()];
  },

  failed(r, d, t) {
    return [
      this.title(t.failedTitle),
      h("p", {}, t.failedExplain),
      this.receipt(),
      this.continueLink(),
    ];
  },
};

/** The recorder is part of a survey page: framed by it, or loaded into it by a script tag
 * (a page on another origin than Candor's). */
function insideSurvey(r) {
  if (isFramed(window)) return true;
  try {
    return new URL(r.options.baseUrl).origin !== location.origin;
  } catch {
    return false;
  }
}
