// Camera and MediaRecorder helpers: codec choice, camera error kinds, stopping tracks.

// Preference order: VP9 (smallest at equal quality), VP8, any webm, then mp4 (Safari records
// only mp4). Video only: the analysis needs no sound, so none is asked for or recorded.
export const MIME_CANDIDATES = [
  "video/webm;codecs=vp9",
  "video/webm;codecs=vp8",
  "video/webm",
  "video/mp4;codecs=avc1",
  "video/mp4",
];

/** The first candidate the browser says it can record, or null if none (or no MediaRecorder). */
export function chooseMimeType(MediaRecorderClass, candidates = MIME_CANDIDATES) {
  if (!MediaRecorderClass || typeof MediaRecorderClass.isTypeSupported !== "function") {
    return null;
  }
  for (const type of candidates) {
    try {
      if (MediaRecorderClass.isTypeSupported(type)) return type;
    } catch {
      // Some engines throw on a syntax they do not know: that type is not supported.
    }
  }
  return null;
}

export const CameraError = Object.freeze({
  DENIED: "denied",
  NOT_FOUND: "not_found",
  BUSY: "busy",
  UNSUPPORTED: "unsupported",
  INSECURE: "insecure",
  LOST: "lost",
  // On-device mode: this browser cannot read the face itself (no WebAssembly SIMD, too slow,
  // or the face reader would not load); the study records no video instead.
  ON_DEVICE: "on_device",
  OTHER: "other",
});

/** Map a getUserMedia rejection to the kind of help the panelist needs. */
export function classifyCameraError(error) {
  const name = error && error.name;
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError": // old Chrome
    case "SecurityError": // blocked by a permissions policy, e.g. an iframe without allow="camera"
      return CameraError.DENIED;
    case "NotFoundError":
    case "DevicesNotFoundError": // old Chrome
    case "OverconstrainedError":
      return CameraError.NOT_FOUND;
    case "NotReadableError":
    case "TrackStartError": // old Chrome
    case "AbortError":
      return CameraError.BUSY;
    default:
      return CameraError.OTHER;
  }
}

/**
 * Why this browser cannot record at all, or null if it can: checked before asking for the camera
 * so a panelist is never shown a permission prompt for nothing.
 */
export function recordingSupport({ mediaDevices, MediaRecorderClass, isSecureContext }) {
  if (isSecureContext === false) return CameraError.INSECURE;
  if (!mediaDevices || typeof mediaDevices.getUserMedia !== "function") {
    return CameraError.UNSUPPORTED;
  }
  if (!MediaRecorderClass || !chooseMimeType(MediaRecorderClass)) return CameraError.UNSUPPORTED;
  return null;
}

export const VIDEO_CONSTRAINTS = Object.freeze({
  audio: false,
  video: {
    facingMode: "user",
    width: { ideal: 640 },
    height: { ideal: 480 },
    frameRate: { ideal: 30 },
  },
});

/** Stop every track of a stream at once: the camera light goes off. */
export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) {
    try {
      track.stop();
    } catch {
      // A track that cannot be stopped is already ended.
    }
  }
}
