// What the browser must compute from a face that the server would otherwise compute from video:
// head pose, the geometric measures (gaze, eye opening, lips apart, lower lids), occlusion and
// brightness. A port of worker/analysis/signals.py `measure`, geometry.py `fit_pose`,
// occlusion.py and analyze_video.py `_brightness`; both sides must pass the same test vectors
// (tests/shared/ondevice_vectors.json: recorder_js/test/ondevice.test.js and
// tests/worker/analysis/test_ondevice.py). Pure functions, no browser API.

// Rigid points of mediapipe's canonical face (canonical.py, Apache-2.0), x y z cm, and weights.
const RIGID = [
  [4, 0.0, -0.46317, 7.58658, 0.09035672038611105],
  [6, 0.0, 2.473255, 5.788627, 0.04090348712303484],
  [33, -4.445859, 2.663991, 3.173422, 0.07482904811411643],
  [117, -5.258659, 0.945811, 2.974312, 0.012477339235501168],
  [119, -3.300681, 0.861641, 3.872784, 0.018559864888882345],
  [121, -1.820731, 1.467954, 4.224124, 0.02368997104362487],
  [127, -7.743095, 2.364999, -2.005167, 0.006623524565212283],
  [129, -1.785794, -0.978284, 4.85047, 0.15370620811951755],
  [132, -7.270895, -2.890917, -2.252455, 0.007084832492668954],
  [133, -1.856432, 2.585245, 3.757904, 0.06789971637585702],
  [143, -6.407571, 2.236021, 1.560843, 0.018879929487099385],
  [147, -6.234883, -1.94443, 1.663542, 0.01817436139115871],
  [198, -1.246815, 0.230297, 5.681036, 0.032445100531788326],
  [263, 4.445859, 2.663991, 3.173422, 0.07482904811411643],
  [346, 5.258659, 0.945811, 2.974312, 0.012477339235501168],
  [348, 3.300681, 0.861641, 3.872784, 0.018559864888882345],
  [350, 1.820731, 1.467954, 4.224124, 0.02368997104362487],
  [356, 7.743095, 2.364999, -2.005167, 0.006623524565212283],
  [358, 1.785794, -0.978284, 4.85047, 0.15370620811951755],
  [361, 7.270895, -2.890917, -2.252455, 0.007084832492668954],
  [362, 1.856432, 2.585245, 3.757904, 0.06789971637585702],
  [372, 6.407571, 2.236021, 1.560843, 0.018879929487099385],
  [376, 6.234883, -1.94443, 1.663542, 0.01817436139115871],
  [420, 1.246815, 0.230297, 5.681036, 0.032445100531788326],
];
const CANON_MEAN = [0, 1, 2].map((d) => RIGID.reduce((sum, p) => sum + p[4] * p[1 + d], 0));
const CANON_CENTRED = RIGID.map((p) => [0, 1, 2].map((d) => p[1 + d] - CANON_MEAN[d]));
const CANON_VAR = RIGID.reduce(
  (sum, p, k) => sum + p[4] * CANON_CENTRED[k].reduce((s, v) => s + v * v, 0),
  0,
);

// signals.py's landmark ids ("right" is the subject's right).
const EYE_CORNERS = [
  [33, 133],
  [263, 362],
];
const EYE_LIDS = [
  [
    [160, 144],
    [158, 153],
  ],
  [
    [385, 380],
    [387, 373],
  ],
];
const IRIS_CENTRES = [468, 473];
const LIP_INNER = [13, 14];
const LID_MIDDLES = [
  [159, 145],
  [386, 374],
];

// The order of the measures in a record (signals.RAW_MEASURES).
export const RAW_MEASURES = [
  "yaw",
  "pitch",
  "roll",
  "gaze_x",
  "gaze_y_raw",
  "ear_right",
  "ear_left",
  "lip_gap",
  "lower_lid",
  "eye_aperture",
];

/** Largest eigenvector of a symmetric 4x4 matrix (cyclic Jacobi). */
function topEigenvector(matrix) {
  const a = matrix.map((row) => row.slice());
  const v = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 50; sweep += 1) {
    let off = 0;
    for (let p = 0; p < 3; p += 1) for (let q = p + 1; q < 4; q += 1) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < 3; p += 1) {
      for (let q = p + 1; q < 4; q += 1) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < 4; k += 1) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k += 1) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k += 1) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i += 1) if (a[i][i] > a[best][best]) best = i;
  return [0, 1, 2, 3].map((k) => v[k][best]);
}

/**
 * Weighted similarity fit of the canonical rigid points onto observed ones (canonical axes:
 * x right, y up, z towards the camera): observed ≈ scale · R · canonical + translation.
 * Closed form (Horn's quaternion), the same optimum as geometry.fit_pose's SVD (Umeyama).
 * @param {(id: number) => number[]} point  observed [x, y, z] of a landmark id, canonical axes
 */
export function fitPose(point) {
  const observed = RIGID.map((p) => point(p[0]));
  const mean = [0, 1, 2].map((d) => RIGID.reduce((sum, p, k) => sum + p[4] * observed[k][d], 0));
  // S[i][j] = Σ w · canonical_i · observed_j (centred)
  const S = [0, 1, 2].map(() => [0, 0, 0]);
  RIGID.forEach((p, k) => {
    const a = observed[k].map((value, d) => value - mean[d]);
    const b = CANON_CENTRED[k];
    for (let i = 0; i < 3; i += 1) for (let j = 0; j < 3; j += 1) S[i][j] += p[4] * b[i] * a[j];
  });
  const [[xx, xy, xz], [yx, yy, yz], [zx, zy, zz]] = S;
  const N = [
    [xx + yy + zz, yz - zy, zx - xz, xy - yx],
    [yz - zy, xx - yy - zz, xy + yx, zx + xz],
    [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
    [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
  ];
  const [w, x, y, z] = topEigenvector(N);
  const R = [
    [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (y * x + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
    [2 * (z * x - w * y), 2 * (z * y + w * x), w * w - x * x - y * y + z * z],
  ];
  // scale = trace(Rᵀ · Σ w a bᵀ) / var(canonical) = Σ_ij R[i][j] · S[j][i] / var
  let trace = 0;
  for (let i = 0; i < 3; i += 1) for (let j = 0; j < 3; j += 1) trace += R[i][j] * S[j][i];
  const scale = trace / CANON_VAR;
  const translation = [0, 1, 2].map(
    (i) =>
      mean[i] -
      scale * (R[i][0] * CANON_MEAN[0] + R[i][1] * CANON_MEAN[1] + R[i][2] * CANON_MEAN[2]),
  );
  return { rotation: R, scale, translation };
}

const DEG = 180 / Math.PI;

/** Yaw, pitch, roll in degrees (geometry.Pose.angles). */
export function poseAngles(rotation) {
  const forward = [rotation[0][2], rotation[1][2], rotation[2][2]];
  const right = [rotation[0][0], rotation[1][0], rotation[2][0]];
  const yaw = Math.atan2(forward[0], forward[2]) * DEG;
  const pitch = Math.atan2(forward[1], Math.hypot(forward[0], forward[2])) * DEG;
  const roll = Math.atan2(right[1], right[0]) * DEG;
  return [yaw, pitch, roll];
}

/**
 * The raw measures of one face (signals.measure), in RAW_MEASURES order.
 * @param {ArrayLike<number>} pixels  478 landmarks as x, y, z triples in pixels (z on x's scale)
 */
export function measure(pixels) {
  const canon = (id) => [pixels[3 * id], -pixels[3 * id + 1], -pixels[3 * id + 2]];
  const pose = fitPose(canon);
  const [yaw, pitch, roll] = poseAngles(pose.rotation);
  const R = pose.rotation;
  const face = (id) => {
    const p = canon(id).map((value, d) => value - pose.translation[d]);
    return [0, 1, 2].map((i) => (R[0][i] * p[0] + R[1][i] * p[1] + R[2][i] * p[2]) / pose.scale);
  };
  const dist = (a, b) => {
    const pa = face(a);
    const pb = face(b);
    return Math.hypot(pa[0] - pb[0], pa[1] - pb[1]);
  };
  const ears = [];
  let gazeX = 0;
  let gazeY = 0;
  let lowerLid = 0;
  let aperture = 0;
  for (let eye = 0; eye < 2; eye += 1) {
    const [outer, inner] = EYE_CORNERS[eye];
    const width = dist(outer, inner);
    const lids = EYE_LIDS[eye];
    const opening = lids.reduce((sum, [up, down]) => sum + dist(up, down), 0) / lids.length;
    ears.push(opening / width);
    const pOuter = face(outer);
    const pInner = face(inner);
    const corners = (pOuter[1] + pInner[1]) / 2;
    const [upperMiddle, lowerMiddle] = LID_MIDDLES[eye];
    lowerLid += (face(lowerMiddle)[1] - corners) / 2;
    aperture += (face(upperMiddle)[1] - face(lowerMiddle)[1]) / width / 2;
    const middle = [0.5 * (pOuter[0] + pInner[0]), 0.5 * (pOuter[1] + pInner[1])];
    const iris = face(IRIS_CENTRES[eye]);
    gazeX += (iris[0] - middle[0]) / (0.5 * width) / 2;
    gazeY += (iris[1] - middle[1]) / (0.5 * width) / 2;
  }
  const lipGap = face(LIP_INNER[0])[1] - face(LIP_INNER[1])[1];
  return [
    yaw,
    pitch,
    roll,
    gazeX,
    gazeY,
    ears[0],
    ears[1],
    Math.max(lipGap, 0),
    lowerLid,
    aperture,
  ];
}

// ---- Occlusion (occlusion.py) and brightness, on RGBA pixels ({data, width, height}) ----

const SKIN_DELTA_E = 10.0;
const CORNERS = [61, 291];
const LIP_TOP = 0;
const LIP_BOTTOM = 17;
const NOSE_BRIDGE = [6, 197, 195];
const ACROSS = [0.15, 0.325, 0.5, 0.675, 0.85];
const DOWN = [0.2, 0.5, 0.8];
const EYE_RINGS = [
  [230, 229, 228, 231, 118, 119],
  [450, 449, 448, 451, 347, 348],
];
const FOREHEAD = [151, 108, 337, 9];
const LOWER_FACE = [4, 1, 50, 280, 205, 425];

/** numpy's rint: halves to even. */
function rint(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function srgbToLinear(c) {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function labF(t) {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

/** CIELAB (L 0..100) as OpenCV's 8-bit RGB2LAB gives it, then L scaled back to 0..100. */
export function lab8(r, g, b) {
  const R = srgbToLinear(r);
  const G = srgbToLinear(g);
  const B = srgbToLinear(b);
  const X = (0.412453 * R + 0.35758 * G + 0.180423 * B) / 0.950456;
  const Y = 0.212671 * R + 0.71516 * G + 0.072169 * B;
  const Z = (0.019334 * R + 0.119193 * G + 0.950227 * B) / 1.088754;
  const L = Y > 0.008856 ? 116 * Math.cbrt(Y) - 16 : 903.3 * Y;
  const a = 500 * (labF(X) - labF(Y));
  const bb = 200 * (labF(Y) - labF(Z));
  const clamp = (value) => Math.min(255, Math.max(0, rint(value)));
  return [(clamp((L * 255) / 100) * 100) / 255, clamp(a + 128), clamp(bb + 128)];
}

/** The CIELAB colour of a 3x3 patch around each (x, y) point, averaged (occlusion._lab). */
function labAt(image, points) {
  const { data, width, height } = image;
  return points.map(([x, y]) => {
    const column = Math.min(Math.max(rint(x), 1), width - 2);
    const row = Math.min(Math.max(rint(y), 1), height - 2);
    const sum = [0, 0, 0];
    for (let dy = -1; dy <= 1; dy += 1) {
      for (let dx = -1; dx <= 1; dx += 1) {
        const at = 4 * ((row + dy) * width + (column + dx));
        sum[0] += data[at];
        sum[1] += data[at + 1];
        sum[2] += data[at + 2];
      }
    }
    // numpy's astype(uint8) truncates the mean.
    const [r, g, b] = sum.map((value) => Math.trunc(value / 9));
    return lab8(r, g, b);
  });
}

const xy = (pixels, id) => [pixels[3 * id], pixels[3 * id + 1]];
const norm = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const meanOf = (rows) => [0, 1, 2].map((d) => rows.reduce((s, r) => s + r[d], 0) / rows.length);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Share (0..1) of the mouth's samples that look like the face's own skin. */
export function mouthSkinShare(image, pixels) {
  const left = xy(pixels, CORNERS[0]);
  const right = xy(pixels, CORNERS[1]);
  const top = pixels[3 * LIP_TOP + 1];
  const bottom = pixels[3 * LIP_BOTTOM + 1];
  const points = [];
  for (const across of ACROSS) {
    for (const down of DOWN) {
      points.push([left[0] + (right[0] - left[0]) * across, top + (bottom - top) * down]);
    }
  }
  const skinPoints = NOSE_BRIDGE.map((id) => xy(pixels, id));
  const lab = labAt(image, [...points, ...skinPoints]);
  const skin = meanOf(lab.slice(points.length));
  const near = lab.slice(0, points.length).filter((colour) => norm(colour, skin) < SKIN_DELTA_E);
  return near.length / points.length;
}

/** How far (CIELAB ΔE) the skin below the less covered eye is from the face's own skin. */
export function eyesHiddenDelta(image, pixels) {
  const ids = [...EYE_RINGS[0], ...EYE_RINGS[1], ...FOREHEAD, ...LOWER_FACE];
  const lab = labAt(
    image,
    ids.map((id) => xy(pixels, id)),
  );
  const n = EYE_RINGS[0].length;
  const forehead = meanOf(lab.slice(2 * n, 2 * n + FOREHEAD.length));
  const lower = meanOf(lab.slice(2 * n + FOREHEAD.length));
  const perEye = [lab.slice(0, n), lab.slice(n, 2 * n)].map((ring) =>
    Math.min(
      median(ring.map((colour) => norm(colour, forehead))),
      median(ring.map((colour) => norm(colour, lower))),
    ),
  );
  return Math.min(...perEye);
}

/** Mean Rec. 601 luma 0..255 of RGBA pixels (the recorder passes an 80x60 thumbnail). */
export function brightness(image) {
  const { data } = image;
  let sum = 0;
  const n = data.length / 4;
  for (let i = 0; i < data.length; i += 4) {
    sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  }
  return n ? sum / n : 0;
}
