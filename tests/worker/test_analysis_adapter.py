"""The adapter's contract with the clip job and the results store: every curve name per second,
emotion names only on request, the model files that made them."""

from __future__ import annotations

import pytest

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from candor.statuses import PlaybackEventKind
from tests.worker.analysis import real_faces as rf
from worker import analysis_adapter
from worker.analysis import trained
from worker.timemap import Event

# The ad started half a second into the clip and plays on to its end.
AD_STARTED = [Event(0, PlaybackEventKind.START, 500.0, 0.0)]


@pytest.mark.parametrize("emotions", [False, True])
def test_rows_carry_every_curve_and_emotions_only_when_asked(emotions: bool) -> None:
    result = analysis_adapter.run(
        rf.media_path("single_face.mp4"), AD_STARTED, float("inf"), emotion_mode=emotions
    )
    expected = {
        "second",
        "n_frames",
        "flag",
        *CURVE_METRICS,
        *(EMOTION_METRICS if emotions else ()),
    }
    assert [row["second"] for row in result.seconds] == [0, 1]
    for row in result.seconds:
        assert set(row) == expected
        assert row["n_frames"] > 0
    assert result.seconds[0]["smile"] is not None and result.seconds[1]["smile"] > 0.5
    models = result.provenance["models"]
    assert models["blendshapes"]["file"]["sha256"] == trained.LANDMARKER_SHA256
    assert ("emotions" in models) == emotions
    assert result.version.startswith("candor-analysis ") and len(result.version) <= 200
