"""Recording time → ad time, from the recorder's playback events.

A frame counts only while the ad plays and the tab is visible; frames during a stall, while the
tab is hidden, before the start or after the end map to NaN (dropped). Between two events the ad
advances in step with the recording, anchored at the last event's (clip_ms, ad_ms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from candor.statuses import PlaybackEventKind

TimeMap = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
PLAYING_ON = {PlaybackEventKind.START, PlaybackEventKind.RESUME}
PLAYING_OFF = {PlaybackEventKind.STALL, PlaybackEventKind.END}


@dataclass(frozen=True)
class Event:
    seq: int
    kind: PlaybackEventKind
    clip_ms: float
    ad_ms: float


@dataclass(frozen=True)
class Segment:
    """Recording seconds [clip_start, clip_end) show the ad from ad_start onwards."""

    clip_start: float
    clip_end: float
    ad_start: float


def playing_segments(events: Sequence[Event], *, hidden: bool = False) -> list[Segment]:
    """Stretches of the recording during which the ad played in a visible tab (with
    hidden=True: played on while the tab was hidden, whose seconds are marked, not counted).

    Without any event the recording is taken to start with the ad (clip time = ad time): the
    recorder films only while the ad plays, and this keeps clips from older recorders usable.
    """
    if not events:
        return [] if hidden else [Segment(0.0, float("inf"), 0.0)]
    ordered = sorted(events, key=lambda e: (e.seq, e.clip_ms))
    playing, visible = False, True
    segments = []
    for position, event in enumerate(ordered):
        if event.kind in PLAYING_ON:
            playing = True
        elif event.kind in PLAYING_OFF:
            playing = False
        elif event.kind == PlaybackEventKind.HIDDEN:
            visible = False
        elif event.kind == PlaybackEventKind.VISIBLE:
            visible = True
        else:
            raise ValueError(f"unknown playback event kind {event.kind!r}")
        end = ordered[position + 1].clip_ms / 1000 if position + 1 < len(ordered) else float("inf")
        start = event.clip_ms / 1000
        if playing and visible != hidden and end > start:
            segments.append(Segment(start, end, event.ad_ms / 1000))
    return segments


def build_time_map(
    events: Sequence[Event], ad_duration_s: float, *, hidden: bool = False
) -> TimeMap:
    """A function from recording seconds to ad seconds (NaN where the frame is dropped); with
    hidden=True, of the frames recorded while the ad played in a hidden tab only."""
    segments = playing_segments(events, hidden=hidden)

    def time_map(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        t = np.asarray(t, dtype=np.float64)
        out = np.full(t.shape, np.nan)
        for segment in segments:
            inside = (t >= segment.clip_start) & (t < segment.clip_end)
            out[inside] = segment.ad_start + (t[inside] - segment.clip_start)
        out[(out < 0) | (out >= ad_duration_s)] = np.nan
        return out

    return time_map
