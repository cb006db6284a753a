"""Re-binning frames onto ad seconds under candor.quality's rules (issue 11): a second with a
few frames is not an observation, a hidden tab's seconds are marked, and a clip observing too
little of its ad is excluded as "incomplete"."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from candor.metrics import NOT_MEASURED
from candor.quality import EXCLUSION_REASONS, MIN_AD_COVERAGE, SECOND_FLAGS
from candor.statuses import PlaybackEventKind as Kind
from worker.analysis.constants import FRAME_COLUMNS
from worker.analysis_adapter import exclusion, expected_frames, frame_rate, rebin
from worker.timemap import Event

FPS = 15


def frames_at(times: list[float]) -> dict[str, Any]:
    """An attentive face in every frame, at these clip times (s)."""
    t = np.asarray(times, dtype=float)
    table: dict[str, Any] = {name: np.zeros(t.size) for name in FRAME_COLUMNS}
    table.update(
        t=t,
        face_present=np.ones(t.size, dtype=bool),
        n_faces=np.ones(t.size, dtype=int),
        blink=np.zeros(t.size, dtype=bool),
        attentive=np.ones(t.size, dtype=bool),
    )
    return table


def steady(start: float, end: float) -> list[float]:
    return list(np.arange(start, end, 1 / FPS))


def events(*spec: tuple[Kind, float, float]) -> list[Event]:
    return [
        Event(seq, kind, clip_s * 1000, ad_s * 1000)
        for seq, (kind, clip_s, ad_s) in enumerate(spec)
    ]


def test_a_second_with_a_few_frames_is_a_sparse_mark_not_an_observation() -> None:
    # 4 s of ad at 15 fps, but the camera went after 3.2 s: second 3 holds 3 frames of 15.
    times = steady(0, 3.2)
    rows, observed = rebin(frames_at(times), events((Kind.START, 0, 0)), 4.0)
    assert observed == 3
    assert [(r["second"], r["flag"], r["n_frames"]) for r in rows] == [
        (0, None, 15), (1, None, 15), (2, None, 15), (3, "sparse", 3),
    ]  # fmt: skip
    assert rows[3]["attention"] is None, "a mark carries no value, so it is never aggregated"
    assert rows[0]["attention"] == 1.0


def test_the_ads_last_partial_second_needs_only_its_share_of_frames() -> None:
    # A 2.4 s ad: its last second lasts 0.4 s and holds 6 frames, all it can hold.
    rows, observed = rebin(frames_at(steady(0, 2.4)), events((Kind.START, 0, 0)), 2.4)
    assert observed == 3 and all(r["flag"] is None for r in rows)
    assert abs(expected_frames(2, 15.0, 2.4) - 6.0) < 1e-9


def test_seconds_played_in_a_hidden_tab_are_marked_hidden() -> None:
    # Hidden from 1.5 s to 3.0 s of a 4 s ad that played on: seconds 1 (half) and 2 (all).
    spec = (
        (Kind.START, 0, 0),
        (Kind.HIDDEN, 1.5, 1.5),
        (Kind.VISIBLE, 3.0, 3.0),
        (Kind.END, 4.0, 4.0),
    )
    rows, observed = rebin(frames_at(steady(0, 4)), events(*spec), 4.0)
    flags = {r["second"]: r["flag"] for r in rows}
    assert flags == {0: None, 1: None, 2: "hidden", 3: None}
    assert observed == 3
    assert set(SECOND_FLAGS) == {"hidden", "sparse"}


def test_the_frame_rate_is_read_from_the_frames() -> None:
    assert abs(frame_rate(np.asarray(steady(0, 2))) - FPS) < 0.01
    assert frame_rate(np.asarray([0.5])) == 0.0


def test_incomplete_is_an_exclusion_reason_with_words() -> None:
    assert EXCLUSION_REASONS["incomplete"] == "Covers too little of the ad"
    assert 0 < MIN_AD_COVERAGE < 1


def test_a_clip_observing_too_little_of_its_ad_is_excluded_as_incomplete() -> None:
    # Issue 11's long offline spell: 5 of 15 seconds; its camera loss: 6 of 15.
    assert exclusion(None, 5, 15) == "incomplete"
    assert exclusion(None, 6, 15) == "incomplete"
    assert exclusion(None, 12, 15) is None, "80 % of the ad is enough"
    assert exclusion("no_face", 15, 15) == "no_face", "the analysis's reason comes first"
    assert exclusion(None, 0, 0) is None, "an ad of unknown length is not judged"


def test_an_all_nan_expression_becomes_none_never_zero_or_nan() -> None:
    """An expression no model measures is NaN in every frame (worker.analysis): re-binned, every
    second holds None for it (SQL null), while the others keep their values."""
    table = frames_at(steady(0, 3))
    # The real set, or a stand-in if it is ever empty: the adapter must pass NaN on as None.
    names = sorted(NOT_MEASURED) or ["lip_suck"]
    for name in names:
        table[name] = np.full(table["t"].size, np.nan)
    table["smile"] = np.full(table["t"].size, 0.3)
    rows, observed = rebin(table, events((Kind.START, 0, 0)), 3.0)
    assert observed == 3
    for row in rows:
        for name in names:
            assert row[name] is None, (name, row["second"])
        assert row["smile"] == pytest.approx(0.3)
