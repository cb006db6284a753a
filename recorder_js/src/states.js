// The recorder's explicit state machine: which state may follow which.

export const State = Object.freeze({
  IDLE: "idle",
  CONSENT: "consent",
  CAMERA: "camera",
  PREFLIGHT: "preflight",
  READY: "ready",
  PLAYING: "playing",
  DRAINING: "draining",
  DONE: "done",
  DECLINED: "declined",
  NO_CAMERA: "no_camera",
  // On-device mode cannot run in this browser and the study falls back to server mode: the
  // panelist is asked again, with the server-mode consent text, before any video is taken.
  FALLBACK: "fallback",
  WITHDRAWN: "withdrawn",
  FAILED: "failed",
  CLOSED: "closed", // the study takes no new panelists: nothing started, nothing recorded
  // This respondent's recording is open in another tab of this browser, which alone may go on
  // with it: nothing started here, nothing recorded, nothing ended.
  ELSEWHERE: "elsewhere",
});

// Withdrawal and failure can happen from any live state, so they are added below.
const FORWARD = {
  idle: ["consent", "closed", "elsewhere"],
  // → draining when a resumed session has every ad recorded already (no camera needed).
  consent: ["camera", "declined", "draining"],
  camera: ["preflight", "no_camera"],
  preflight: ["ready", "no_camera", "fallback"],
  // Agreeing to the server-mode text turns the camera on for video; declining is the polite exit.
  fallback: ["camera", "no_camera"],
  ready: ["playing", "draining"], // → draining directly only for a study without ads
  // One "playing" state for all the ads (its detail says which); → ready when autoplay needs a
  // click; → no_camera when the camera cannot start or is lost mid-ad.
  playing: ["ready", "draining", "no_camera"],
  // draining → no_camera when the panelist continued without camera after some ads were sent.
  draining: ["done", "no_camera"],
  // From no_camera the panelist may try again (back to camera or ready), or continue the
  // survey without camera, which sends what was recorded (draining) and ends the session.
  no_camera: ["camera", "ready", "draining"],
  done: [],
  declined: [],
  withdrawn: [],
  failed: [],
  closed: [],
  elsewhere: [],
};

/** States in which nothing more happens except returning to the survey. */
export const TERMINAL = new Set([
  "done",
  "declined",
  "withdrawn",
  "failed",
  "closed",
  "elsewhere",
]);

/** States from which "stop and delete my recording" is offered (a session has consent). */
export const WITHDRAWABLE = new Set([
  "camera",
  "preflight",
  "fallback",
  "ready",
  "playing",
  "draining",
  "done",
  "no_camera",
  "failed",
]);

export function canTransition(from, to) {
  if (to === State.WITHDRAWN) return WITHDRAWABLE.has(from);
  if (to === State.FAILED) return !TERMINAL.has(from);
  return (FORWARD[from] || []).includes(to);
}
