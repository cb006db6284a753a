"""The browser's records, made natively: Python's FaceLandmarker (mediapipe 0.10.21's tasks API,
the same pinned ``face_landmarker.task``) run on a video, each frame turned into the record the
recorder's Web Worker writes (worker.analysis.ondevice.RECORD), with the server's own measures.

Used by the parity tests and bench/ondevice.py: the browser's WebAssembly FaceLandmarker must
match this (a regression bar), and records from this through ``ondevice.analyze_records`` are
compared with server mode on the same clip. Never used to analyse a panelist's clip.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from worker.analysis.analyze_video import _brightness
from worker.analysis.arrays import Array, Table
from worker.analysis.decode import VideoReader
from worker.analysis.expressions import KEPT_BLENDSHAPES
from worker.analysis.mesh import _quiet_native_logs
from worker.analysis.occlusion import eyes_hidden_delta, mouth_skin_share
from worker.analysis.ondevice import encode
from worker.analysis.signals import RAW_MEASURES, USED_LANDMARKS, measure
from worker.analysis.trained import LANDMARKER, checked_bytes


def _landmarker() -> Any:
    _quiet_native_logs()
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=checked_bytes(LANDMARKER)),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=2,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    return vision.FaceLandmarker.create_from_options(options)


def frame_row(rgb: Array, result: Any) -> dict[str, Any]:
    """One frame's record fields from a FaceLandmarker result on its RGB pixels."""
    height, width = rgb.shape[:2]
    row: dict[str, Any] = {"n_faces": len(result.face_landmarks), "brightness": _brightness(rgb)}
    if not result.face_landmarks:
        row.update(dict.fromkeys((*RAW_MEASURES, *KEPT_BLENDSHAPES), np.nan))
        row.update(mouth_skin=np.nan, eyes_delta=np.nan, nose_texture=np.nan)
        row["pose"] = np.full(16, np.nan)
        return row
    points = np.array([[p.x, p.y, p.z] for p in result.face_landmarks[0]], dtype=np.float32)
    points *= np.array([width, height, width], dtype=np.float32)
    measures = measure(points[USED_LANDMARKS][None])
    row.update({name: float(measures[name][0]) for name in RAW_MEASURES})
    scores = {c.category_name: c.score for c in result.face_blendshapes[0]}
    row.update({name: float(scores[name]) for name in KEPT_BLENDSHAPES})
    row["mouth_skin"] = mouth_skin_share(rgb, points)
    row["eyes_delta"] = eyes_hidden_delta(rgb, points)
    row["nose_texture"] = np.nan  # not measured on device
    matrix = np.asarray(result.facial_transformation_matrixes[0], dtype=np.float32)
    row["pose"] = matrix.T.ravel()  # column-major, as the browser sends it
    return row


def rows_for_frames(frames: Iterable[tuple[float, Array]]) -> Table:
    """Per-frame record fields for (seconds, RGB) frames, in order, as the browser would send."""
    import mediapipe as mp

    rows: list[dict[str, Any]] = []
    times: list[float] = []
    with _landmarker() as landmarker:
        for t, rgb in frames:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
            result = landmarker.detect_for_video(image, round(t * 1000))
            rows.append(frame_row(rgb, result))
            times.append(t)
    table: Table = {"t": np.array(times)}
    for name in rows[0]:
        table[name] = np.array([row[name] for row in rows])
    return table


def reference_rows(path: str | Path, fps: float = 15.0) -> Table:
    """Per-frame record fields for a video, as the browser would send them."""
    with VideoReader(path) as reader:
        return rows_for_frames((frame.t, frame.rgb) for frame in reader.frames(fps))


def reference_records(path: str | Path, fps: float = 15.0) -> bytes:
    """The records the browser would upload for this video."""
    return encode(reference_rows(path, fps))
