// Preflight checks on the camera preview: enough light, and a face in the middle.
//
// What these checks are, honestly:
// - Light: the mean luma (BT.601) of a small downscaled frame. It cannot tell a dim face in a
//   bright room from a lit face; it only refuses pictures that are too dark overall.
// - Face: the browser's FaceDetector when it exists (Chrome with the Shape Detection API on
//   some platforms). Otherwise a heuristic: the middle of the picture must hold a large share of
//   skin-coloured pixels (a fixed YCbCr range), clearly more than the border does, with some
//   texture (not a flat wall). It says "something skin-coloured is centred", not "a face": a hand
//   or a wooden door can pass, and some skin tones under coloured light can fail, which is why
//   the panelist may skip after a few tries. The real face check is the server's analysis.

export const PREFLIGHT_DEFAULTS = Object.freeze({
  sampleWidth: 80,
  sampleHeight: 60,
  minLuma: 60, // of 255; below this faces lose the detail the analysis needs
  minCentreSkin: 0.2, // share of skin-coloured pixels in the centre region
  minSkinMargin: 0.1, // centre share must exceed the border share by this much
  minCentreContrast: 10, // luma standard deviation in the centre, of 255
  framesPerCheck: 5,
  framePauseMs: 150,
});

function isSkin(r, g, b) {
  // Chai & Ngan (1999) skin cluster in the CbCr plane; luma is ignored on purpose.
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

/**
 * Statistics of one RGBA frame: mean luma, skin share in the centre (middle half of width and
 * height) and in the border (outer eighth on every side), and the luma spread of the centre.
 */
export function frameStats(rgba, width, height) {
  if (rgba.length < width * height * 4) throw new Error("frame data shorter than width × height");
  let lumaSum = 0;
  let centreN = 0;
  let centreSkin = 0;
  let centreLuma = 0;
  let centreLuma2 = 0;
  let borderN = 0;
  let borderSkin = 0;
  const x0 = width / 4;
  const x1 = (3 * width) / 4;
  const y0 = height / 4;
  const y1 = (3 * height) / 4;
  const bx = width / 8;
  const by = height / 8;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 4;
      const r = rgba[i];
      const g = rgba[i + 1];
      const b = rgba[i + 2];
      const luma = 0.299 * r + 0.587 * g + 0.114 * b;
      lumaSum += luma;
      const skin = isSkin(r, g, b);
      if (x >= x0 && x < x1 && y >= y0 && y < y1) {
        centreN += 1;
        centreLuma += luma;
        centreLuma2 += luma * luma;
        if (skin) centreSkin += 1;
      } else if (x < bx || x >= width - bx || y < by || y >= height - by) {
        borderN += 1;
        if (skin) borderSkin += 1;
      }
    }
  }
  const centreMean = centreLuma / centreN;
  return {
    meanLuma: lumaSum / (width * height),
    centreSkin: centreSkin / centreN,
    borderSkin: borderSkin / borderN,
    centreContrast: Math.sqrt(Math.max(0, centreLuma2 / centreN - centreMean * centreMean)),
  };
}

/** Judge one frame's statistics: {light, face} booleans. */
export function judgeStats(stats, thresholds = PREFLIGHT_DEFAULTS) {
  return {
    light: stats.meanLuma >= thresholds.minLuma,
    face:
      stats.centreSkin >= thresholds.minCentreSkin &&
      stats.centreSkin - stats.borderSkin >= thresholds.minSkinMargin &&
      stats.centreContrast >= thresholds.minCentreContrast,
  };
}

/** Whether FaceDetector's answer shows exactly one face of a fair size near the middle. */
export function judgeFaces(faces, width, height) {
  if (!faces || faces.length !== 1) return false;
  const box = faces[0].boundingBox;
  const cx = (box.x + box.width / 2) / width;
  const cy = (box.y + box.height / 2) / height;
  return cx > 0.25 && cx < 0.75 && cy > 0.2 && cy < 0.8 && box.width / width > 0.12;
}

/**
 * A browser frame analyser for the recorder's `analyzeFrame` option: draws the preview into a
 * small canvas and returns {light, face, stats}. Uses FaceDetector for the face when present.
 */
export function canvasFrameAnalyzer(doc = globalThis.document, thresholds = PREFLIGHT_DEFAULTS) {
  const canvas = doc.createElement("canvas");
  canvas.width = thresholds.sampleWidth;
  canvas.height = thresholds.sampleHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const Detector = globalThis.FaceDetector;
  let detector = null;
  if (typeof Detector === "function") {
    try {
      detector = new Detector({ fastMode: true, maxDetectedFaces: 2 });
    } catch {
      detector = null;
    }
  }
  return async function analyzeFrame(video) {
    if (!video.videoWidth || !video.videoHeight) return null; // no frame yet
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const stats = frameStats(data, canvas.width, canvas.height);
    const verdict = judgeStats(stats, thresholds);
    if (detector) {
      try {
        const faces = await detector.detect(video);
        verdict.face = judgeFaces(faces, video.videoWidth, video.videoHeight);
        stats.detector = "FaceDetector";
      } catch {
        stats.detector = "heuristic"; // the detector failed on this platform: keep the heuristic
      }
    } else {
      stats.detector = "heuristic";
    }
    return { ...verdict, stats };
  };
}
