"""A hand on the face: which regions it covers, and the expressions made there unreadable."""

from __future__ import annotations

import numpy as np

from candor.metrics import EXPRESSION_NAMES
from tests.worker.analysis.test_signals import _raw_clip
from worker.analysis.constants import Settings
from worker.analysis.hands import REGION_EXPRESSIONS, REGIONS, HandCover, covered_regions
from worker.analysis.mesh import N_LANDMARKS
from worker.analysis.signals import finalise

# A face whose regions sit apart: each region's points spread over a 40x40 px square, the squares
# 200 px apart on a row.
CENTRES = {region: np.array([100.0 + 200.0 * i, 100.0]) for i, region in enumerate(REGIONS)}


def _face() -> np.ndarray:
    face = np.full((N_LANDMARKS, 3), -1000.0)
    rng = np.random.default_rng(0)
    for region, ids in REGIONS.items():
        face[list(ids), :2] = CENTRES[region] + rng.uniform(-20, 20, (len(ids), 2))
    return face


def _hand(centre: np.ndarray, size: float = 100.0) -> np.ndarray:
    """An open hand, palm centred on ``centre``, fingers up; wrist to middle knuckle ``size``."""
    # (x, y) offsets in units of ``size``: the wrist, the thumb's four joints, then each finger's
    # knuckle and three joints above it (mediapipe's hand landmark order).
    offsets = [(0.0, 0.5)]
    offsets += [(-0.6 - 0.2 * k, 0.2 - 0.15 * k) for k in range(4)]
    for dx in (-0.45, -0.15, 0.15, 0.45):
        offsets += [(dx, -0.5 - 0.3 * k) for k in range(4)]
    return np.asarray(centre + size * np.array(offsets), np.float32)


def test_a_palm_over_the_mouth_covers_the_mouth_and_nothing_else() -> None:
    covered = covered_regions([_hand(CENTRES["mouth"])], _face())
    assert covered["mouth"]
    assert [region for region, on in covered.items() if on] == ["mouth"]


def test_no_hand_or_a_hand_beside_the_face_covers_nothing() -> None:
    assert not any(covered_regions([], _face()).values())
    far = CENTRES["nose"] + (0, 400)
    assert not any(covered_regions([_hand(far)], _face()).values())


def test_a_fingertip_at_the_edge_of_the_mouth_leaves_it_readable() -> None:
    # Only the little finger's tip reaches the mouth's square: under half its points.
    hand = _hand(CENTRES["mouth"] + (75, 95))
    covered = covered_regions([hand], _face())
    assert not covered["mouth"]


def test_each_look_holds_until_the_next_and_the_first_covers_the_frames_before_it() -> None:
    looks: list[float] = []
    face = _face()

    def find_hands(rgb: np.ndarray) -> list[np.ndarray]:
        looks.append(float(rgb[0, 0, 0]))
        return [_hand(CENTRES["chin"])] if rgb[0, 0, 0] >= 1.0 else []

    cover = HandCover(find_hands, interval=0.5)
    rgb = np.zeros((2, 2, 3))
    cover.add(0.0, rgb, None)  # no face: no look, waits for the first one
    cover.add(0.1, rgb, face)  # first look: no hand
    cover.add(0.3, rgb + 1, face)  # not due: holds "no hand"
    cover.add(0.6, rgb + 1, face)  # due: a hand on the chin
    cover.add(0.7, rgb, face)  # holds it
    assert looks == [0.0, 1.0]
    assert cover.table()["hand_chin"].tolist() == [False, False, False, True, True]
    assert not cover.table()["hand_mouth"].any()


def test_what_a_hand_covers_is_unreadable_not_zero() -> None:
    n = 30
    raw = _raw_clip(n)
    covered = np.zeros(n, bool)
    covered[10:20] = True
    raw["hand_chin"] = covered
    raw["hand_mouth"] = covered.copy()
    frames, _ = finalise(raw, Settings(), n / 15)
    for name in REGION_EXPRESSIONS["chin"]:
        if name == "lip_corner_depressor":  # not measured: empty everywhere
            continue
        assert np.isnan(frames[name][10:20]).all(), name
        assert np.isfinite(frames[name][:10]).all(), name
    assert frames["mouth_occluded"][10:20].all()
    assert np.isnan(frames["smile"][10:20]).all()
    # What the hand does not cover is still read.
    for name in ("inner_brow_raise", "brow_furrow", "eye_closure"):
        assert np.isfinite(frames[name]).all(), name
    assert set(REGION_EXPRESSIONS["chin"]) <= set(EXPRESSION_NAMES)
