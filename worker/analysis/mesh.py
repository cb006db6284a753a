"""The face models, loaded lazily in this one place: a tracked face mesh and a face counter.

The mesh (mediapipe's legacy face_mesh, 478 points with irises) tracks one face from frame to
frame, running its detector only when it has lost the face. Asking it for two faces would run the
detector on every frame (~40% more time), so a second face is looked for by the same detector
(BlazeFace short range, which the mesh itself uses) a few times per second instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from typing import IO, Any

import numpy as np

from worker.analysis.appearance import MIN_SMILE_TO_JUDGE, STEADY_CHANGE
from worker.analysis.arrays import Array
from worker.analysis.constants import Settings
from worker.analysis.trained import FER_MODEL, LANDMARKER, ModelFile, package_file

N_LANDMARKS = 478
# A serialised NormalizedLandmark holding x, y, z: tag+len, then three (tag, float32) fields.
_RECORD = 17
_XYZ_BYTES = [3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16]
_TAG_COLUMNS = [0, 1, 2, 7, 12]
_TAGS = np.array([0x0A, 0x0F, 0x0D, 0x15, 0x1D], dtype=np.uint8)


def _quiet_native_logs() -> None:
    # TensorFlow Lite and glog print INFO lines to stderr on load; keep the CLI's output clean.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[IO[str]]:
    """Send native (TensorFlow Lite, absl) log lines to /dev/null; yield the real stderr.

    mediapipe's C++ side writes INFO/WARNING lines straight to file descriptor 2, which Python
    cannot filter. Used by the command line, so a terminal shows only the progress bar and
    Candor's own messages (written to the yielded stream).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    real = os.fdopen(os.dup(saved), "w", buffering=1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield real
    finally:
        real.flush()
        os.dup2(saved, 2)
        os.close(saved)
        real.close()


def landmarks_to_array(landmark_list: Any, width: int, height: int) -> Array:
    """A NormalizedLandmarkList as a (478, 3) float32 array in pixels (z on the x scale).

    Reads the protobuf's wire bytes directly (10x faster than iterating 478 messages); falls back
    to the slow path when a field was omitted (proto3 drops exact zeros) or the layout differs.
    """
    raw = landmark_list.SerializeToString()
    points: Array
    if len(raw) == N_LANDMARKS * _RECORD:
        records = np.frombuffer(raw, np.uint8).reshape(N_LANDMARKS, _RECORD)
        if np.array_equal(records[:, _TAG_COLUMNS], np.broadcast_to(_TAGS, (N_LANDMARKS, 5))):
            points = np.ascontiguousarray(records[:, _XYZ_BYTES]).view(np.float32).copy()
        else:
            points = _slow_landmarks(landmark_list)
    else:
        points = _slow_landmarks(landmark_list)
    points[:, 0] *= width
    points[:, 1] *= height
    points[:, 2] *= width
    return points


def _slow_landmarks(landmark_list: Any) -> Array:
    return np.array([[p.x, p.y, p.z] for p in landmark_list.landmark], dtype=np.float32)


class _Solution:
    """Feed one RGB image to a mediapipe legacy solution graph and read one output stream.

    ``SolutionBase.process`` builds a new namedtuple class on every call (~0.5 ms, about 15%
    of a frame's budget); this makes the same graph calls without it: same packets, same
    simulated 30 fps timestamps, same output. mediapipe is pinned (0.10.21); should its private
    layout ever differ, this falls back to ``process``.
    """

    def __init__(self, solution: Any, output: str) -> None:
        self._solution = solution
        self._output = output
        self._timestamp = 0
        try:
            inputs = solution._input_stream_type_info
            self._stream = next(iter(inputs))
            self._input_type = inputs[self._stream]
            self._output_type = solution._output_stream_type_info[output]
            self._graph = solution._graph
            self._outputs = solution._graph_outputs
            self._lean = callable(solution._make_packet)
        except (AttributeError, KeyError, StopIteration, TypeError):
            self._lean = False

    def __call__(self, rgb: Array) -> Any:
        if not self._lean:
            return getattr(self._solution.process(rgb), self._output)
        self._timestamp += 33333
        self._outputs.clear()
        packet = self._solution._make_packet(self._input_type, rgb).at(self._timestamp)
        self._graph.add_packet_to_input_stream(stream=self._stream, packet=packet)
        self._graph.wait_until_idle()
        result = self._outputs.get(self._output)
        if result is None:
            return None
        return self._solution._get_packet_content(self._output_type, result)


class FaceModels:
    """The mesh and the face counter, created on first use and closed with ``close()``."""

    def __init__(self, settings: Settings) -> None:
        _quiet_native_logs()
        import mediapipe as mp  # heavy (TensorFlow Lite): imported only when a clip is analysed

        self.version = str(mp.__version__)
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=settings.min_face_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
        )
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=settings.min_face_confidence
        )
        # Hands are looked for on single frames half a second apart: no tracking between them.
        self._hands = mp.solutions.hands.Hands(
            static_image_mode=True,
            max_num_hands=2,
            model_complexity=0,
            min_detection_confidence=settings.min_hand_confidence,
        )
        self._run_mesh = _Solution(self._mesh, "multi_face_landmarks")
        self._run_detector = _Solution(self._detector, "detections")
        self._run_hands = _Solution(self._hands, "multi_hand_landmarks")

    def mesh(self, rgb: Array) -> Sequence[Any] | None:
        """The face mesh's raw output for one frame: landmark lists, or None (no face)."""
        faces: Sequence[Any] | None = self._run_mesh(rgb)
        return faces

    def landmarks(self, rgb: Array) -> Array | None:
        """The tracked face's 478 landmarks in pixels, or None when no face is found."""
        faces = self.mesh(rgb)
        if not faces:
            return None
        height, width = rgb.shape[:2]
        return landmarks_to_array(faces[0], width, height)

    def count_faces(self, rgb: Array) -> int:
        """How many faces the detector finds in one frame (capped at 2: one is a bystander)."""
        return min(2, len(self._run_detector(rgb) or ()))

    def hands(self, rgb: Array) -> list[Array]:
        """Each hand the hand model finds in one frame: its 21 landmarks (x, y) in pixels."""
        found = self._run_hands(rgb) or ()
        height, width = rgb.shape[:2]
        scale = np.array([width, height], np.float32)
        return [np.array([(p.x, p.y) for p in hand.landmark], np.float32) * scale for hand in found]

    def close(self) -> None:
        """Free the native graphs."""
        self._mesh.close()
        self._detector.close()
        self._hands.close()


_MEDIAPIPE_FILES = {
    "mesh": "modules/face_landmark/face_landmark_with_attention.tflite",
    "face_counter": "modules/face_detection/face_detection_short_range.tflite",
    "palm_detection": "modules/palm_detection/palm_detection_lite.tflite",
    "hand_landmarks": "modules/hand_landmark/hand_landmark_lite.tflite",
}


def _mediapipe_file(path: str) -> dict[str, str]:
    """A model file inside the mediapipe wheel: package, version, file, sha256, licence."""
    return ModelFile("mediapipe", path, _sha256_of("mediapipe", path), "Apache-2.0").provenance()


@cache
def _sha256_of(package: str, path: str) -> str:
    data = package_file(package, path).read_bytes()
    return hashlib.sha256(data).hexdigest()


def model_provenance(settings: Settings, version: str, *, emotions: bool) -> dict[str, Any]:
    """What made the per-frame signals, for the result's provenance: every model file's
    package, version, sha256 and licence, and the options it ran with."""
    models: dict[str, Any] = {
        "mesh": {
            "name": "mediapipe.solutions.face_mesh",
            "version": version,
            "refine_landmarks": True,
            "landmarks": N_LANDMARKS,
            "max_num_faces": 1,
            "static_image_mode": False,
            "min_detection_confidence": settings.min_face_confidence,
            "min_tracking_confidence": settings.min_tracking_confidence,
            "file": _mediapipe_file(_MEDIAPIPE_FILES["mesh"]),
        },
        "face_counter": {
            "name": "mediapipe.solutions.face_detection",
            "version": version,
            "model_selection": 0,
            "min_detection_confidence": settings.min_face_confidence,
            "max_faces_reported": 2,
            "interval_s": settings.face_count_interval_s,
            "file": _mediapipe_file(_MEDIAPIPE_FILES["face_counter"]),
        },
        "hand_detector": {
            "name": "mediapipe.solutions.hands (palm detection, lite)",
            "version": version,
            "use": "which face regions a hand covers (their expressions are unreadable)",
            "model_complexity": 0,
            "static_image_mode": True,
            "max_num_hands": 2,
            "min_detection_confidence": settings.min_hand_confidence,
            "interval_s": settings.hand_check_interval_s,
            "file": _mediapipe_file(_MEDIAPIPE_FILES["palm_detection"]),
        },
        "hand_landmarks": {
            "name": "mediapipe.solutions.hands (21 hand landmarks, lite), on each hand found",
            "version": version,
            "file": _mediapipe_file(_MEDIAPIPE_FILES["hand_landmarks"]),
        },
        "blendshapes": {
            "name": "MediaPipe FaceLandmarker face_blendshapes.tflite on the mesh's 146 points",
            "file": LANDMARKER.provenance(),
        },
        "appearance": {
            "name": "fer FER2013 mini-Xception (quantized), 64x64 grey crop",
            "use": "evidence that a lip-corner pull is a smile (smile, smirk)",
            "runs_where_blendshape_smile_reaches": MIN_SMILE_TO_JUDGE,
            "every_other_frame_while_support_moves_less_than": STEADY_CHANGE,
            "file": FER_MODEL.provenance(),
        },
    }
    if emotions:
        models["emotions"] = {
            "name": "fer FER2013 mini-Xception (quantized), 64x64 grey crop, on every face frame",
            "file": FER_MODEL.provenance(),
        }
    return models
