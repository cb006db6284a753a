"""Synthetic webcam clips of a real face with known truth: the demo's sample panelists and the
analysis and browser tests.

The face is scikit-image's astronaut (a public-domain NASA portrait). The still is meshed once
with mediapipe; every frame then warps it with smooth displacement fields anchored on those
landmarks, so expressions, blinks and head turns happen at known times with known strength.

Stable API (tests import it through tests/support/face_clips.py, which adds test-only files):

    script = default_script()                      # or a list of Event(kind, start, end, level)
    truth = make_face_clip(path, script, seconds=24, fps=30, size=(640, 480), vfr=False)
    write_video(path, frames, times)                 # any RGB frames, e.g. a drawn cartoon

``truth`` holds one row per frame (``t``, ``face_present``, ``n_faces``, ``smile``,
``brow_raise``, ``brow_furrow``, ``jaw_drop``, ``eye_closure``, ``yaw``) and the blink times.
Event kinds: smile, brow_raise, brow_furrow, jaw_drop (level 0..1, smooth ramps), blink (eyes
close and reopen within [start, end]), absent (no face: a defocused empty room), bystander
(a second face pasted beside the panelist), turn (the head turns by ``level`` degrees).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from candor.synthetic.face_model import face_model, smoothstep
from candor.synthetic.face_render import TURN_STEP_DEG, render_frame

Array = npt.NDArray[Any]

EXPRESSIONS = ("smile", "brow_raise", "brow_furrow", "jaw_drop")
KINDS = (*EXPRESSIONS, "blink", "absent", "bystander", "turn")


@dataclass(frozen=True)
class Event:
    """One scripted event on the clip timeline, in seconds; ``level`` is 0..1 or degrees."""

    kind: str
    start: float
    end: float
    level: float = 1.0
    ramp: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; expected one of {KINDS}")
        if not self.end > self.start >= 0:
            raise ValueError(
                f"event {self.kind} needs 0 <= start < end, got {self.start}..{self.end}"
            )


@dataclass(frozen=True)
class Truth:
    """Per-frame ground truth of a generated clip."""

    t: Array
    face_present: Array
    n_faces: Array
    smile: Array
    brow_raise: Array
    brow_furrow: Array
    jaw_drop: Array
    eye_closure: Array
    yaw: Array
    blinks: tuple[float, ...]
    fps: float
    size: tuple[int, int]
    duration: float
    script: tuple[Event, ...] = field(default=())

    def column(self, name: str) -> Array:
        """One per-frame truth column by name."""
        value = getattr(self, name)
        if not isinstance(value, np.ndarray):
            raise KeyError(name)
        return value

    def per_second(self, name: str) -> Array:
        """Mean of a column over each whole second of the clip (frame times floored)."""
        values = self.column(name).astype(float)
        seconds = np.floor(self.t).astype(int)
        n = int(seconds.max()) + 1
        sums = np.bincount(seconds, weights=values, minlength=n)
        counts = np.bincount(seconds, minlength=n)
        means: Array = sums / np.maximum(counts, 1)
        return means


def default_script(seconds: float = 24.0) -> list[Event]:
    """Every event once, separated so each expression is flat while another one moves.

    0-3 s neutral, 3-6 smile, 6-9 brow raise, 9-12 brow furrow, 12-15 jaw drop, 15-17 face
    absent, 17-19 bystander, 19-21 head turned 50°, 21-24 half smile; 14 blinks between.
    """
    events = [
        Event("smile", 3.0, 6.0, 1.0, ramp=1.0),
        Event("brow_raise", 6.0, 9.0, 1.0, ramp=1.0),
        Event("brow_furrow", 9.0, 12.0, 1.0, ramp=1.0),
        Event("jaw_drop", 12.0, 15.0, 1.0, ramp=1.0),
        Event("absent", 15.0, 17.0),
        Event("bystander", 17.0, 19.0),
        Event("turn", 19.0, 21.0, 50.0, ramp=0.3),
        Event("smile", 21.0, 24.0, 0.5, ramp=1.0),
    ]
    blink_times = (0.8, 2.2, 3.3, 4.9, 6.6, 7.9, 9.4, 10.7, 12.4, 13.8, 17.6, 21.5, 22.6, 23.5)
    events += [Event("blink", b, b + BLINK_SECONDS) for b in blink_times]
    return [e for e in events if e.start < seconds]


def calm_script(seconds: float) -> list[Event]:
    """A calm panelist for browser tests: a blink every ~3 s and one smile in the middle."""
    events = [Event("blink", b, b + BLINK_SECONDS) for b in np.arange(1.0, seconds - 0.5, 3.1)]
    if seconds >= 6:
        events.append(Event("smile", seconds / 2 - 1.5, seconds / 2 + 1.5, 0.8, ramp=1.0))
    return events


BLINK_SECONDS = 0.3


# ----------------------------------------------------------------------------- timeline


def _envelope(event: Event, t: Array) -> Array:
    """0..1 activation of an event at times t: smooth ramps in and out (blinks: one bump)."""
    if event.kind == "blink":
        phase = (t - event.start) / (event.end - event.start)
        inside = (phase >= 0) & (phase <= 1)
        # Close fast, stay shut a moment, reopen: a raised-cosine bump with a flat top.
        bump = np.clip(1.6 * np.sin(np.pi * np.clip(phase, 0, 1)), 0, 1)
        return np.where(inside, bump, 0.0)
    if event.kind in ("absent", "bystander"):
        return ((t >= event.start) & (t < event.end)).astype(float)
    ramp = min(event.ramp, (event.end - event.start) / 2)
    if ramp <= 0:
        return ((t >= event.start) & (t < event.end)).astype(float)
    rise = smoothstep((t - event.start) / ramp)
    fall = smoothstep((event.end - t) / ramp)
    return np.minimum(rise, fall)


def frame_times(seconds: float, fps: float, vfr: bool = False, seed: int = 0) -> Array:
    """Presentation times of a clip: regular, or jittered like a browser's MediaRecorder."""
    if seconds <= 0 or fps <= 0:
        raise ValueError("seconds and fps must be positive")
    if not vfr:
        return np.arange(round(seconds * fps)) / fps
    rng = np.random.default_rng(seed)
    # Intervals jitter ±40% and one frame in 15 is a dropped-frame gap of two intervals.
    steps = rng.uniform(0.6, 1.4, size=int(seconds * fps * 2) + 2) / fps
    steps[rng.random(steps.size) < 1 / 15] *= 2.0
    times = np.concatenate([[0.0], np.cumsum(steps)])
    rounded: Array = np.round(times[times < seconds], 3)
    return rounded


def compute_truth(
    script: Sequence[Event], times: Array, fps: float, size: tuple[int, int]
) -> Truth:
    """Ground truth of a script at the given frame times (no rendering)."""
    levels = {k: np.zeros(times.size) for k in (*EXPRESSIONS, "eye_closure", "yaw")}
    absent = np.zeros(times.size, bool)
    bystander = np.zeros(times.size, bool)
    blinks = []
    for event in script:
        env = _envelope(event, times)
        if event.kind in EXPRESSIONS:
            levels[event.kind] = np.maximum(levels[event.kind], env * event.level)
        elif event.kind == "blink":
            levels["eye_closure"] = np.maximum(levels["eye_closure"], env)
            blinks.append(0.5 * (event.start + event.end))
        elif event.kind == "turn":
            levels["yaw"] = levels["yaw"] + env * event.level
        elif event.kind == "absent":
            absent |= env > 0
        elif event.kind == "bystander":
            bystander |= env > 0
        else:
            raise ValueError(f"unknown event kind {event.kind!r}")
    n_faces = np.where(absent, 0, np.where(bystander, 2, 1))
    levels["yaw"] = np.round(levels["yaw"] / TURN_STEP_DEG) * TURN_STEP_DEG
    for name in (*EXPRESSIONS, "eye_closure"):
        levels[name] = np.where(absent | (levels["yaw"] != 0), 0.0, levels[name])
    duration = float(times[-1] + (times[-1] - times[-2] if times.size > 1 else 1 / fps))
    return Truth(
        t=times,
        face_present=n_faces == 1,
        n_faces=n_faces,
        smile=levels["smile"],
        brow_raise=levels["brow_raise"],
        brow_furrow=levels["brow_furrow"],
        jaw_drop=levels["jaw_drop"],
        eye_closure=levels["eye_closure"],
        yaw=levels["yaw"],
        blinks=tuple(b for b in sorted(blinks) if b < duration),
        fps=fps,
        size=size,
        duration=duration,
        script=tuple(script),
    )


def render_frames(
    script: Sequence[Event],
    seconds: float,
    *,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    vfr: bool = False,
    seed: int = 0,
    gain: float = 1.0,
) -> tuple[Truth, Iterator[Array]]:
    """The truth and a lazy iterator of RGB frames (uint8, height x width x 3).

    gain scales every pixel: below 1 the room is darker (0.1 is a dim room at night).
    """
    if gain <= 0:
        raise ValueError("gain must be positive")
    times = frame_times(seconds, fps, vfr, seed)
    truth = compute_truth(script, times, fps, size)
    face = face_model(size)

    def frames() -> Iterator[Array]:
        for i, t in enumerate(times):
            levels = {k: float(truth.column(k)[i]) for k in EXPRESSIONS}
            rgb = render_frame(
                face,
                levels,
                float(truth.eye_closure[i]),
                float(truth.yaw[i]),
                truth.n_faces[i] == 0,
                truth.n_faces[i] == 2,
                float(t),
            )
            yield rgb if gain == 1.0 else cv2.convertScaleAbs(rgb, alpha=gain)

    return truth, frames()


# ----------------------------------------------------------------------------- writers

CODECS = {"vp8": "libvpx", "vp9": "libvpx-vp9", "h264": "libx264"}
DEFAULT_CODEC = {".webm": "vp8", ".mkv": "vp8", ".mp4": "h264", ".mov": "h264"}


def make_face_clip(
    path: str | Path,
    script: Sequence[Event] | None = None,
    *,
    seconds: float | None = None,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    codec: str | None = None,
    vfr: bool = False,
    live: bool = False,
    seed: int = 0,
    gain: float = 1.0,
) -> Truth:
    """Render a script to a video file with real timestamps and return its per-frame truth.

    codec: vp8 | vp9 | h264 (default from the suffix: .webm/.mkv → vp8, .mp4/.mov → h264).
    vfr: jittered frame intervals and dropped frames, as browsers record.
    live: a webm written like MediaRecorder's, with no duration or cues in the header.
    gain: pixel scale, below 1 for a dark room.
    """
    script = default_script() if script is None else list(script)
    if seconds is None:
        seconds = max([e.end for e in script], default=5.0)
    truth, frames = render_frames(
        script, seconds, fps=fps, size=size, vfr=vfr, seed=seed, gain=gain
    )
    write_video(path, frames, truth.t, fps=fps, codec=codec, live=live)
    return truth


def write_video(
    path: str | Path,
    frames: Iterable[Array],
    times: Sequence[float] | Array,
    *,
    fps: float = 30.0,
    codec: str | None = None,
    live: bool = False,
) -> None:
    """Encode RGB frames shown at the given times (seconds); see make_face_clip for options."""
    path = Path(path)
    codec = codec or DEFAULT_CODEC.get(path.suffix.lower())
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {sorted(CODECS)}, not {codec!r} for {path.name}")
    if live and path.suffix.lower() not in (".webm", ".mkv"):
        raise ValueError("live=True is a webm (Matroska) option")
    time_base = Fraction(1, 1000)
    container_options = {"live": "1"} if live else {}
    with av.open(str(path), "w", container_options=container_options) as container:
        stream = container.add_stream(CODECS[codec], rate=Fraction(fps).limit_denominator(1001))
        assert isinstance(stream, av.VideoStream)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        if codec == "h264":
            stream.options = {"preset": "veryfast", "crf": "20"}
        else:
            stream.bit_rate = 2_000_000
            # libvpx's "realtime" deadline adapts to how busy the machine is: the same frames
            # encoded twice under load came out as different streams (and the analysis of a
            # generated clip with them). "good" at the fastest speed is reproducible, at the
            # same cost (rendering the frames dominates).
            stream.options = {"deadline": "good", "cpu-used": "8"}
        for index, (t, rgb) in enumerate(zip(times, frames, strict=True)):
            if index == 0:  # the stream takes the size of its first frame
                stream.height, stream.width = rgb.shape[:2]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = round(float(t) / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
