"""Quality figures and exclusion reasons: no face, too dark, bystander, too short; drawings."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import face_clips as fc
from worker.analysis import analyze

SMALL = (320, 240)


def test_a_clean_clip_is_not_excluded(short_webm: tuple[Path, fc.Truth]) -> None:
    quality = analyze(short_webm[0]).quality
    assert quality.exclusion_reason is None
    assert quality.face_found_share == 1.0 and quality.bystander_share == 0.0
    assert 100 < quality.mean_brightness < 200


@pytest.mark.parametrize(
    ("script", "seconds", "gain", "reason"),
    [
        ([fc.Event("absent", 0, 3)], 3.0, 1.0, "no_face"),
        ([], 3.0, 0.05, "too_dark"),
        ([fc.Event("bystander", 0, 3)], 3.0, 1.0, "bystander"),
        ([], 1.5, 1.0, "too_short"),
    ],
)
def test_exclusion_reasons(
    tmp_path: Path, script: list[fc.Event], seconds: float, gain: float, reason: str
) -> None:
    path = tmp_path / "clip.webm"
    fc.make_face_clip(path, script, seconds=seconds, size=SMALL, gain=gain)
    result = analyze(path)
    assert result.quality.exclusion_reason == reason, result.quality
    if reason == "no_face":
        assert result.quality.face_found_share == 0.0
        assert np.all(result.seconds["attention"] == 0)
    if reason == "too_dark":
        assert result.quality.mean_brightness < 25


def _cartoon(size: tuple[int, int]) -> np.ndarray:
    """A drawn smiley: a face to a person, not to the detector."""
    width, height = size
    image = np.full((height, width, 3), 235, np.uint8)
    centre, radius = (width // 2, height // 2), height // 3
    cv2.circle(image, centre, radius, (255, 220, 0), -1)
    cv2.circle(image, centre, radius, (0, 0, 0), 3)
    for dx in (-radius // 3, radius // 3):
        eye = (centre[0] + dx, centre[1] - radius // 4)
        cv2.ellipse(image, eye, (radius // 8, radius // 5), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, eye, radius // 12, (0, 0, 0), -1)
    cv2.ellipse(
        image,
        (centre[0], centre[1] + radius // 4),
        (radius // 2, radius // 4),
        0,
        10,
        170,
        (120, 0, 0),
        5,
    )
    return image


def _line_drawing(size: tuple[int, int]) -> np.ndarray:
    """The panelist's photo reduced to pencil lines."""
    _, frames = fc.render_frames([], 0.1, size=size)
    gray = cv2.cvtColor(next(frames), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(255 - cv2.Canny(gray, 60, 140), cv2.COLOR_GRAY2RGB)


@pytest.mark.parametrize("draw", [_cartoon, _line_drawing])
def test_drawings_are_not_faces(tmp_path: Path, draw: object) -> None:
    assert callable(draw)
    image = draw((640, 480))
    times = np.arange(60) / 30
    fc.write_video(tmp_path / "drawing.webm", (image for _ in times), times)
    result = analyze(tmp_path / "drawing.webm")
    assert result.quality.face_found_share == 0.0
    assert result.quality.exclusion_reason == "no_face"
