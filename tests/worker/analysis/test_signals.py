"""Geometry and signal building blocks: pose fit, landmark decoding, blink runs, attention
from gaze, expressions on the models' zero."""

from __future__ import annotations

import math

import numpy as np
import pytest

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from worker.analysis.canonical import RIGID_IDS, RIGID_POINTS
from worker.analysis.constants import Settings
from worker.analysis.expressions import (
    APPEARANCE,
    DERIVED,
    GEOMETRIC,
    KEPT_BLENDSHAPES,
    SOURCES,
)
from worker.analysis.geometry import fit_pose, frontal_landmarks, to_canonical_axes
from worker.analysis.mesh import N_LANDMARKS, landmarks_to_array
from worker.analysis.signals import RAW_MEASURES, _blink_runs, finalise


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    # Signs as the analysis defines them: yaw towards the image's right, pitch up, roll
    # counter-clockwise as seen (x right, y up, z towards the camera).
    y, p, r = (math.radians(a) for a in (yaw, -pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def _image_landmarks(rotation: np.ndarray, scale: float, shift: np.ndarray) -> np.ndarray:
    """The canonical face posed in the camera frame, as image landmarks (y down, z away)."""
    landmarks = np.zeros((N_LANDMARKS, 3))
    posed = scale * RIGID_POINTS @ rotation.T + shift
    landmarks[RIGID_IDS] = posed * np.array([1.0, -1.0, -1.0])
    return landmarks


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"), [(0, 0, 0), (25, 0, 0), (-40, 10, 0), (0, -20, 15), (10, 5, -30)]
)
def test_pose_recovers_a_known_rotation(yaw: float, pitch: float, roll: float) -> None:
    image = _image_landmarks(_rotation(yaw, pitch, roll), 11.0, np.array([320.0, -240.0, 0.0]))
    pose = fit_pose(to_canonical_axes(image[None])[:, RIGID_IDS])
    angles = [float(a[0]) for a in pose.angles()]
    # yaw > 0 turns the face to the image's right, pitch > 0 tilts it up.
    assert angles[0] == pytest.approx(yaw, abs=0.5)
    assert angles[1] == pytest.approx(pitch, abs=0.5)
    assert angles[2] == pytest.approx(roll, abs=1.0)
    assert pose.scale[0] == pytest.approx(11.0)


def test_frontal_landmarks_undo_the_turn_and_keep_the_tilt() -> None:
    image = _image_landmarks(_rotation(35, 12, 0), 9.0, np.array([300.0, -200.0, 0.0]))
    turned = frontal_landmarks(image, min_turn_deg=10.0)
    assert turned is not None
    pose = fit_pose(to_canonical_axes(turned[None].astype(np.float64))[:, RIGID_IDS])
    yaw, pitch, _ = (float(a[0]) for a in pose.angles())
    assert yaw == pytest.approx(0.0, abs=0.5)
    assert pitch == pytest.approx(12.0, abs=1.0)
    assert pose.scale[0] == pytest.approx(9.0)
    # Where the face is in the image does not move.
    np.testing.assert_allclose(
        turned[RIGID_IDS].mean(axis=0), image[RIGID_IDS].mean(axis=0), atol=1e-3
    )
    # A face turned less than the threshold is read as seen.
    nearly = _image_landmarks(_rotation(6, 12, 0), 9.0, np.array([300.0, -200.0, 0.0]))
    assert frontal_landmarks(nearly, min_turn_deg=10.0) is None


def test_face_frame_undoes_pose_and_size() -> None:
    image = _image_landmarks(_rotation(30, -10, 5), 7.5, np.array([100.0, -50.0, 20.0]))
    points = to_canonical_axes(image[None])[:, RIGID_IDS]
    local = fit_pose(points).to_face_frame(points)
    np.testing.assert_allclose(local[0], RIGID_POINTS, atol=1e-9)


def test_landmark_bytes_are_read_like_the_protobuf() -> None:
    from mediapipe.framework.formats import landmark_pb2

    rng = np.random.default_rng(1)
    values = rng.uniform(0.1, 0.9, size=(N_LANDMARKS, 3)).astype(np.float32)
    message = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in values:
        message.landmark.add(x=x, y=y, z=z)
    fast = landmarks_to_array(message, 640, 480)
    np.testing.assert_allclose(fast, values * [640, 480, 640], rtol=1e-6)
    # proto3 leaves out exact zeros: the layout changes and the slow path must take over.
    message.landmark[5].z = 0.0
    values[5, 2] = 0.0
    np.testing.assert_allclose(landmarks_to_array(message, 640, 480), values * [640, 480, 640])


def test_blink_runs_use_hysteresis_and_time() -> None:
    t = np.arange(20) / 10
    shut = np.zeros(20, bool)
    reopened = np.ones(20, bool)
    shut[2:5] = True
    reopened[2:6] = False  # half-open at frame 5: still the same blink
    shut[10:20] = True
    reopened[10:20] = False  # never reopens: runs to the end of the clip
    runs = _blink_runs(t, shut, reopened, end_time=2.0)
    assert runs == [(2, 6, pytest.approx(0.4)), (10, 20, pytest.approx(1.0))]


class _ScriptedCounter:
    """Stands in for the face detector: the face count of each frame is scripted."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts
        self.calls = 0

    def count_faces(self, rgb: np.ndarray) -> int:
        self.calls += 1
        return self.counts[int(rgb[0, 0, 0])]


def test_face_count_changes_are_pinned_to_their_frame() -> None:
    from worker.analysis.analyze_video import _FaceCounts
    from worker.analysis.decode import Frame

    truth = [1] * 37 + [2] * 20 + [0] * 11 + [1] * 32  # changes at frames 37, 57 and 68
    detector = _ScriptedCounter(truth)
    counter = _FaceCounts(detector, interval=0.5)  # type: ignore[arg-type]
    for index in range(len(truth)):
        pixels = np.full((2, 2, 3), index, np.uint8)
        counter.add(index, Frame(index / 30, pixels, 0.0))
    counter.finish()
    assert counter.counts == truth
    # Seven checks at 0.5 s plus a bisection of ~4 looks per change, not one look per frame.
    assert detector.calls < 30


def _raw_clip(n: int) -> dict[str, np.ndarray]:
    """Raw measures of n frames of a still face looking at the screen, as the pipeline makes."""
    raw = {name: np.zeros(n) for name in (*RAW_MEASURES, *KEPT_BLENDSHAPES)}
    raw["ear_right"][:] = raw["ear_left"][:] = 0.3
    raw["t"] = np.arange(n) / 15
    raw["face_present"] = np.ones(n, bool)
    raw["n_faces"] = np.ones(n, int)
    raw["brightness"] = np.full(n, 120.0)
    raw["mouth_skin"] = np.zeros(n)
    raw["eyes_delta"] = np.zeros(n)
    raw["smile_support"] = np.ones(n)  # the appearance model has nothing against a smile
    raw["lower_lid"] = np.full(n, -0.3)  # lids at rest
    raw["eye_aperture"] = np.full(n, 0.34)
    raw["nose_texture"] = np.full(n, 20.0)
    return raw


@pytest.mark.parametrize(
    ("shapes", "yaw", "attentive"),
    [
        ((), 0.0, True),
        (("eyeLookUpLeft", "eyeLookUpRight"), 0.0, False),  # eyes raised above the screen
        (("eyeLookOutLeft", "eyeLookInRight"), 0.0, False),  # eyes to the side
        (("eyeLookDownLeft", "eyeLookDownRight"), 0.0, True),  # a glance down at a laptop screen
        # The head turned 25° to the image's right, the eyes turned back to the screen...
        (("eyeLookOutRight", "eyeLookInLeft"), 25.0, True),
        # ...or turned further the same way: looking beside the screen.
        (("eyeLookOutLeft", "eyeLookInRight"), 25.0, False),
        ((), 25.0, False),  # head turned, eyes straight ahead in it: off the screen
    ],
)
def test_attention_follows_where_the_eyes_look(
    shapes: tuple[str, ...], yaw: float, attentive: bool
) -> None:
    raw = _raw_clip(30)
    raw["yaw"][10:20] = yaw
    for name in shapes:
        raw[name][10:20] = 0.7
    frames, _ = finalise(raw, Settings(), 2.0)
    assert frames["attentive"][:10].all() and frames["attentive"][20:].all()
    assert frames["attentive"][10:20].all() == attentive
    assert (~frames["attentive"][10:20]).all() == (not attentive)


def test_expressions_read_on_the_models_zero_not_the_clip_median() -> None:
    raw = _raw_clip(50)
    # Smiling (0.8 on the model's scale) through 80 % of the clip.
    raw["mouthSmileLeft"][10:] = raw["mouthSmileRight"][10:] = 0.8
    frames, baselines = finalise(raw, Settings(), 50 / 15)
    assert baselines["smile"] == 0.0
    assert frames["smile"][10:].min() >= 0.75
    # A whole clip of smiling loses at most the capped rest offset.
    raw["mouthSmileLeft"][:] = raw["mouthSmileRight"][:] = 0.8
    frames, baselines = finalise(raw, Settings(), 50 / 15)
    assert baselines["smile"] == Settings().max_rest_offset
    assert frames["smile"].min() >= 0.6


def test_every_expression_has_exactly_one_source() -> None:
    sources = [*SOURCES, *GEOMETRIC, *APPEARANCE, *DERIVED, *NOT_MEASURED]
    assert sorted(sources) == sorted(EXPRESSION_NAMES)
