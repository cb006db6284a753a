// The Web Worker that reads the face: MediaPipe's FaceLandmarker (tasks-vision 0.10.34, SIMD
// WebAssembly, served by Candor) on each frame the page sends, and the frame turned into one
// 192-byte record (records.js) with the measures the server would compute (measures.js). The
// frame (an ImageBitmap) is closed here as soon as it is read: no pixel leaves this worker.
//
// Messages in:  {type: "init", assets, model, modelSha256}  then  {type: "frame", id, t, bitmap}
// Messages out: {type: "ready", loadMs} | {type: "failed", reason, message}
//               {type: "record", id, t, record (ArrayBuffer, transferred), ms, faces}

import { measure, mouthSkinShare, eyesHiddenDelta, brightness } from "./measures.js";
import { writeRecord, RECORD_BYTES } from "./records.js";

let landmarker = null;
let lastTimestamp = 0;
let full = null;
let fullContext = null;
const thumb = new OffscreenCanvas(80, 60);
const thumbContext = thumb.getContext("2d", { willReadFrequently: true });
thumbContext.imageSmoothingEnabled = false; // nearest neighbour, as the server's thumbnail

// tasks-vision loads its WebAssembly loader with importScripts, which a module worker lacks; it
// then calls self.import. The module build of the loader exports its factory.
self.import = async (url) => {
  const loaded = await import(url);
  self.ModuleFactory = loaded.default;
};

// The module build of the loader declares its debug printer inside a block, which strict mode
// (every ES module) scopes to that block: it must find one on the global object instead.
self.custom_dbg = (...args) => console.warn(...args);

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function init({ assets, model, modelSha256 }) {
  const started = performance.now();
  const response = await fetch(model);
  if (!response.ok)
    throw Object.assign(new Error(`model: HTTP ${response.status}`), { reason: "assets" });
  const buffer = await response.arrayBuffer();
  if ((await sha256Hex(buffer)) !== modelSha256) {
    throw Object.assign(new Error("face_landmarker.task is not the pinned file"), {
      reason: "assets",
    });
  }
  const { FaceLandmarker } = await import(`${assets}/vision_bundle.mjs`);
  landmarker = await FaceLandmarker.createFromOptions(
    {
      wasmLoaderPath: `${assets}/vision_wasm_module_internal.js`,
      wasmBinaryPath: `${assets}/vision_wasm_module_internal.wasm`,
    },
    {
      baseOptions: { modelAssetBuffer: new Uint8Array(buffer), delegate: "CPU" },
      runningMode: "VIDEO",
      numFaces: 2,
      outputFaceBlendshapes: true,
      outputFacialTransformationMatrixes: true,
    },
  );
  return performance.now() - started;
}

function pixelsOf(bitmap) {
  if (!full || full.width !== bitmap.width || full.height !== bitmap.height) {
    full = new OffscreenCanvas(bitmap.width, bitmap.height);
    fullContext = full.getContext("2d", { willReadFrequently: true });
  }
  fullContext.drawImage(bitmap, 0, 0);
  return fullContext.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** One frame in, one record out. */
function read(bitmap, t) {
  const started = performance.now();
  // VIDEO mode wants rising timestamps (ms); the record keeps the playback clock's own t.
  lastTimestamp = Math.max(lastTimestamp + 1, Math.round(started));
  const result = landmarker.detectForVideo(bitmap, lastTimestamp);
  thumbContext.drawImage(bitmap, 0, 0, thumb.width, thumb.height);
  const frame = {
    t,
    faces: result.faceLandmarks.length,
    brightness: brightness(thumbContext.getImageData(0, 0, thumb.width, thumb.height)),
  };
  if (frame.faces > 0) {
    const { width, height } = bitmap;
    const points = result.faceLandmarks[0];
    const pixels = new Float64Array(points.length * 3);
    points.forEach((p, i) => {
      pixels[3 * i] = p.x * width;
      pixels[3 * i + 1] = p.y * height;
      pixels[3 * i + 2] = p.z * width;
    });
    const image = pixelsOf(bitmap);
    frame.measures = measure(pixels);
    frame.occlusion = [mouthSkinShare(image, pixels), eyesHiddenDelta(image, pixels), NaN];
    frame.blendshapes = {};
    for (const category of result.faceBlendshapes[0].categories) {
      frame.blendshapes[category.categoryName] = category.score;
    }
    const matrix = result.facialTransformationMatrixes && result.facialTransformationMatrixes[0];
    if (matrix) frame.pose = Array.from(matrix.data);
  }
  bitmap.close();
  const record = new ArrayBuffer(RECORD_BYTES);
  writeRecord(new DataView(record), 0, frame);
  return { record, faces: frame.faces, ms: performance.now() - started };
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "init") {
    try {
      const loadMs = await init(message);
      self.postMessage({ type: "ready", loadMs });
    } catch (error) {
      self.postMessage({
        type: "failed",
        reason: error.reason || "load",
        message: String(error && error.message),
      });
    }
  } else if (message.type === "frame") {
    try {
      const { record, faces, ms } = read(message.bitmap, message.t);
      self.postMessage({ type: "record", id: message.id, t: message.t, record, faces, ms }, [
        record,
      ]);
    } catch (error) {
      if (message.bitmap) message.bitmap.close();
      self.postMessage({ type: "record", id: message.id, error: String(error && error.message) });
    }
  }
};
