"""Recording time → ad time from playback events: stalls and hidden tabs drop frames."""

from __future__ import annotations

import numpy as np

from candor.statuses import PlaybackEventKind as K
from worker.timemap import Event, build_time_map


def _map(
    events: list[tuple[K, float, float]], t: list[float], duration: float = 30.0
) -> list[float]:
    time_map = build_time_map(
        [Event(i, kind, clip_ms, ad_ms) for i, (kind, clip_ms, ad_ms) in enumerate(events)],
        duration,
    )
    return [round(float(x), 3) if np.isfinite(x) else float("nan") for x in time_map(np.array(t))]


def _same(a: list[float], b: list[float]) -> bool:
    return all((np.isnan(x) and np.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_without_events_recording_time_is_ad_time_up_to_the_ads_end() -> None:
    assert _same(_map([], [0.0, 1.5, 9.9, 10.0], duration=10), [0.0, 1.5, 9.9, float("nan")])


def test_frames_before_the_start_are_dropped_and_time_is_offset() -> None:
    got = _map([(K.START, 800, 0), (K.END, 5800, 5000)], [0.5, 0.8, 1.8, 5.7, 5.9])
    assert _same(got, [float("nan"), 0.0, 1.0, 4.9, float("nan")])


def test_a_stall_drops_its_frames_and_the_ad_resumes_where_it_stopped() -> None:
    events = [(K.START, 0, 0), (K.STALL, 2000, 2000), (K.RESUME, 3500, 2000), (K.END, 6500, 5000)]
    got = _map(events, [1.0, 2.5, 3.4, 3.5, 4.0, 6.0])
    assert _same(got, [1.0, float("nan"), float("nan"), 2.0, 2.5, 4.5])


def test_a_hidden_tab_drops_frames_even_while_the_ad_plays() -> None:
    events = [(K.START, 0, 0), (K.HIDDEN, 1000, 1000), (K.VISIBLE, 3000, 3000)]
    got = _map(events, [0.5, 1.5, 2.9, 3.0, 3.5])
    assert _same(got, [0.5, float("nan"), float("nan"), 3.0, 3.5])


def test_visible_again_during_a_stall_waits_for_the_resume() -> None:
    events = [
        (K.START, 0, 0),
        (K.HIDDEN, 1000, 1000),
        (K.STALL, 1500, 1500),
        (K.VISIBLE, 2000, 1500),
    ]
    events.append((K.RESUME, 2500, 1500))
    got = _map(events, [2.2, 2.6])
    assert _same(got, [float("nan"), 1.6])
