// Candor's browser recorder, as one ES module. Two ways to use it:
//
// 1. A script tag on any page; it mounts itself where the tag is (or into data-target):
//      <script type="module" src="https://candor.example/recorder/candor-recorder.js"
//              data-integration="PUBLIC_KEY" data-respondent-id="R_123" data-locale="fr"
//              data-passthrough='{"age": "25-34"}'></script>
//    (data-preview="1" marks a designer's preview run, which is never counted in results)
// 2. From code:
//      import { mount, CandorRecorder } from "https://candor.example/recorder/candor-recorder.js";
//      const recorder = mount(document.querySelector("#here"), { integration: "PUBLIC_KEY" });

import { fetchTransport } from "./api.js";
import { openChunkStore } from "./chunk-store.js";
import { makeSleep } from "./connectivity.js";
import { CandorRecorder } from "./recorder.js";
import { RecorderView } from "./view.js";
import { sendKeptWithdrawals } from "./withdrawals.js";

export { CandorRecorder } from "./recorder.js";
export { RecorderView } from "./view.js";
export { State } from "./states.js";
export { chooseMimeType } from "./media.js";
export { fillReturnUrl } from "./return-url.js";
export { fetchTransport } from "./api.js";

/** Candor's origin: where this module was loaded from. */
export const CANDOR_ORIGIN = new URL(import.meta.url).origin;

/** Show the recorder in `host` and start it (the consent screen comes first). */
export function mount(host, options) {
  const recorder = new CandorRecorder({ baseUrl: CANDOR_ORIGIN, ...options });
  const view = new RecorderView(host, recorder);
  recorder.view = view;
  // Host pages (and tests) reach the recorder through its element: el.candorRecorder.state
  host.candorRecorder = recorder;
  recorder.start();
  return recorder;
}

/**
 * Options from a script tag's data-* attributes. Pass-through variables come either as
 * data-vars="age=25-34&country=FR" (the form Candor's embed snippets use: survey tools pipe
 * values into it, and one attribute keeps names exact since HTML lower-cases attribute names)
 * or as data-passthrough='{"age": "25-34"}' (JSON, for pages that build the tag in code).
 */
export function optionsFromDataset(dataset) {
  let passthrough = {};
  if (dataset.vars) {
    for (const [name, value] of new URLSearchParams(dataset.vars)) passthrough[name] = value;
  }
  if (dataset.passthrough) {
    let parsed;
    try {
      parsed = JSON.parse(dataset.passthrough);
    } catch {
      throw new TypeError('data-passthrough must be a JSON object, e.g. \'{"age": "25-34"}\'');
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new TypeError("data-passthrough must be a JSON object");
    }
    passthrough = { ...passthrough, ...parsed };
  }
  return {
    integration: dataset.integration,
    respondentId: dataset.respondentId || null,
    locale: dataset.locale || null,
    passthrough,
    preview: dataset.preview === "1" || dataset.preview === "true",
  };
}

/**
 * What every page that loads the recorder does, recorder shown or not: open the browser's store
 * (which deletes any video an older recorder kept there, and stale tokens) and send the
 * withdrawals kept in this browser, again on each `online` event while any is left. A mounted recorder does the same as it starts.
 */
export async function sweepBrowserStorage({
  indexedDB = globalThis.indexedDB,
  transport = fetchTransport(),
  win = globalThis.window,
} = {}) {
  if (!indexedDB) return null;
  const store = await openChunkStore(indexedDB);
  const sleep = makeSleep(
    (fn, ms) => setTimeout(fn, ms),
    (id) => clearTimeout(id),
  );
  const send = async () => {
    const outcomes = await sendKeptWithdrawals(store, { transport, sleep });
    if (win && Object.values(outcomes).includes("later")) {
      win.addEventListener("online", send, { once: true });
    }
    return outcomes;
  };
  return send();
}

function autoMount() {
  if (typeof document === "undefined") return;
  // A module script has no document.currentScript: find the tags that load this very file.
  const tags = [...document.querySelectorAll("script[type=module][data-integration]")].filter(
    (tag) => tag.src && new URL(tag.src, document.baseURI).href === import.meta.url,
  );
  for (const tag of tags) {
    if (tag.dataset.candorMounted) continue;
    tag.dataset.candorMounted = "1";
    let host = tag.dataset.target ? document.querySelector(tag.dataset.target) : null;
    if (!host) {
      host = document.createElement("div");
      host.className = "candor-recorder";
      tag.after(host);
    }
    try {
      mount(host, optionsFromDataset(tag.dataset));
    } catch (error) {
      host.textContent = `Candor recorder: ${error.message}`;
      throw error;
    }
  }
}

autoMount();
if (typeof document !== "undefined" && !document.querySelector("[data-candor-mounted]")) {
  sweepBrowserStorage().catch(() => {});
}
