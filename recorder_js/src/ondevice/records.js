// On-device face records: one fixed 192-byte, little-endian record a frame, the layout of
// worker/analysis/ondevice.py RECORD (the server refuses any other). No pixel, no landmark.
//
//   0 u8 version (1)   1 u8 faces found   2 u16 flags (0)   4 f32 t (seconds recorded)
//   8 f32 brightness   12 f32[10] measures (RAW_MEASURES)   52 f32[3] mouth_skin, eyes_delta,
//   nose_texture   64 u16[32] blendshapes (0..1 as 0..65534; 65535 no face)
//   128 f32[16] FaceLandmarker's facial transformation matrix (column-major)

export const FORMAT_VERSION = 1;
export const RECORD_BYTES = 192;
export const LIBRARY_VERSION = "0.10.34";
// sha256 of face_landmarker.task (worker/analysis/trained.py LANDMARKER_SHA256).
export const MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff";
export const MIME_TYPE =
  `application/x-candor-face-records;v=${FORMAT_VERSION};` +
  `lib=${LIBRARY_VERSION};model=${MODEL_SHA256.slice(0, 16)}`;

// expressions.KEPT_BLENDSHAPES, in order: what the expressions and the gaze read.
export const KEPT_BLENDSHAPES = [
  "mouthSmileLeft",
  "mouthSmileRight",
  "browInnerUp",
  "browOuterUpLeft",
  "browOuterUpRight",
  "browDownLeft",
  "browDownRight",
  "eyeWideLeft",
  "eyeWideRight",
  "eyeSquintLeft",
  "eyeSquintRight",
  "mouthUpperUpLeft",
  "mouthUpperUpRight",
  "mouthDimpleLeft",
  "mouthDimpleRight",
  "mouthShrugLower",
  "mouthPucker",
  "mouthPressLeft",
  "mouthPressRight",
  "mouthRollLower",
  "mouthRollUpper",
  "jawOpen",
  "eyeBlinkLeft",
  "eyeBlinkRight",
  "eyeLookUpLeft",
  "eyeLookUpRight",
  "eyeLookDownLeft",
  "eyeLookDownRight",
  "eyeLookInLeft",
  "eyeLookInRight",
  "eyeLookOutLeft",
  "eyeLookOutRight",
];
const SCALE = 65534;
const MISSING = 65535;

/**
 * Write one record.
 * @param {DataView} view
 * @param {number} offset
 * @param {object} frame  {t, faces, brightness, measures?: number[10], occlusion?: number[3],
 *   blendshapes?: {name: score}, pose?: number[16]}; a frame without a face leaves out the rest
 */
export function writeRecord(view, offset, frame) {
  view.setUint8(offset, FORMAT_VERSION);
  view.setUint8(offset + 1, Math.min(255, frame.faces));
  view.setUint16(offset + 2, 0, true);
  view.setFloat32(offset + 4, frame.t, true);
  view.setFloat32(offset + 8, frame.brightness, true);
  for (let i = 0; i < 10; i += 1) {
    view.setFloat32(offset + 12 + 4 * i, frame.measures ? frame.measures[i] : NaN, true);
  }
  for (let i = 0; i < 3; i += 1) {
    const value = frame.occlusion ? frame.occlusion[i] : NaN;
    view.setFloat32(offset + 52 + 4 * i, value ?? NaN, true);
  }
  KEPT_BLENDSHAPES.forEach((name, i) => {
    const score = frame.blendshapes ? frame.blendshapes[name] : undefined;
    const value = Number.isFinite(score)
      ? Math.round(Math.min(1, Math.max(0, score)) * SCALE)
      : MISSING;
    view.setUint16(offset + 64 + 2 * i, value, true);
  });
  for (let i = 0; i < 16; i += 1) {
    view.setFloat32(offset + 128 + 4 * i, frame.pose ? frame.pose[i] : NaN, true);
  }
}

/** One frame as a 192-byte ArrayBuffer. */
export function encodeRecord(frame) {
  const buffer = new ArrayBuffer(RECORD_BYTES);
  writeRecord(new DataView(buffer), 0, frame);
  return buffer;
}

/** Read a record back (tests, and the page's own check before upload). */
export function readRecord(view, offset = 0) {
  const measures = [];
  for (let i = 0; i < 10; i += 1) measures.push(view.getFloat32(offset + 12 + 4 * i, true));
  const blendshapes = {};
  KEPT_BLENDSHAPES.forEach((name, i) => {
    const value = view.getUint16(offset + 64 + 2 * i, true);
    blendshapes[name] = value === MISSING ? NaN : value / SCALE;
  });
  return {
    version: view.getUint8(offset),
    faces: view.getUint8(offset + 1),
    t: view.getFloat32(offset + 4, true),
    brightness: view.getFloat32(offset + 8, true),
    measures,
    blendshapes,
  };
}
