"""per_second on hand-made frame tables: what each curve averages, counts and excludes."""

from __future__ import annotations

import numpy as np
import pytest

from worker.analysis import EXPRESSIONS, FRAME_COLUMNS, SECOND_COLUMNS, AnalysisError, per_second


def _frames(n: int, fps: float = 10.0, **columns: object) -> dict[str, np.ndarray]:
    table: dict[str, np.ndarray] = {
        "t": np.arange(n) / fps,
        "face_present": np.ones(n, bool),
        "n_faces": np.ones(n, np.int64),
        "blink": np.zeros(n, bool),
        "attentive": np.ones(n, bool),
    }
    for name in FRAME_COLUMNS:
        table.setdefault(name, np.zeros(n))
    for name, value in columns.items():
        table[name] = np.asarray(value)
    return table


def test_columns_and_rows() -> None:
    seconds = per_second(_frames(25))
    assert tuple(seconds) == SECOND_COLUMNS
    assert list(seconds["second"]) == [0, 1, 2]
    assert list(seconds["n_frames"]) == [10, 10, 5]


def test_attention_is_the_share_of_attentive_frames() -> None:
    attentive = np.array([1] * 7 + [0] * 3 + [0] * 10, bool)
    seconds = per_second(_frames(20, attentive=attentive))
    assert seconds["attention"] == pytest.approx([0.7, 0.0])


def test_expressions_average_attentive_frames_only() -> None:
    smile = np.array([0.2] * 5 + [0.9] * 5 + [0.5] * 10)
    attentive = np.array([1] * 5 + [0] * 5 + [0] * 10, bool)
    seconds = per_second(_frames(20, smile=smile, attentive=attentive))
    # The 0.9s are from frames looking away: noise, not a reaction.
    assert seconds["smile"][0] == pytest.approx(0.2)
    assert np.isnan(seconds["smile"][1])  # no attentive frame: undefined, not 0


def test_blinks_are_counted_once_each_where_they_start() -> None:
    blink = np.zeros(30, bool)
    blink[[3, 4, 5]] = True  # one blink in second 0
    blink[[8, 9, 10, 11]] = True  # starts in second 0, ends in second 1
    blink[[15, 17]] = True  # two blinks in second 1
    seconds = per_second(_frames(30, blink=blink))
    assert list(seconds["blinks"]) == [2, 2, 0]


def test_blinks_are_undefined_without_a_face() -> None:
    present = np.array([0] * 10 + [1] * 10, bool)
    seconds = per_second(_frames(20, face_present=present, attentive=present))
    assert np.isnan(seconds["blinks"][0]) and seconds["blinks"][1] == 0
    assert list(seconds["face_present"]) == [0, 1]


def test_bystander_frames_are_flagged_and_excluded_from_every_curve() -> None:
    n_faces = np.array([1] * 6 + [2] * 4 + [2] * 10)
    smile = np.array([0.1] * 6 + [1.0] * 4 + [1.0] * 10)
    attentive = np.ones(20, bool)
    present = n_faces == 1
    seconds = per_second(
        _frames(20, n_faces=n_faces, smile=smile, attentive=attentive, face_present=present)
    )
    assert seconds["bystander"] == pytest.approx([0.4, 1.0])
    assert seconds["attention"][0] == 1.0 and seconds["smile"][0] == pytest.approx(0.1)
    for name in ("attention", *EXPRESSIONS, "blinks", "face_present"):
        assert np.isnan(seconds[name][1]), name
    assert list(seconds["n_frames"]) == [10, 10]


def test_time_map_rebins_onto_ad_time_and_drops_stalls() -> None:
    # Frames 0..3 s of clip time; the ad started at 0.5 s and stalled between 1.5 and 2.5 s.
    def to_ad_time(t: np.ndarray) -> np.ndarray:
        ad = t - 0.5
        ad[(t >= 1.5) & (t < 2.5)] = np.nan
        ad[t >= 2.5] -= 1.0
        return ad

    smile = np.linspace(0, 1, 30)
    seconds = per_second(_frames(30, smile=smile), time_map=to_ad_time)
    # Clip 0.5-1.5 s → ad second 0; clip 2.5-3.0 s → ad 1.0-1.5 → ad second 1.
    assert list(seconds["second"]) == [0, 1]
    assert list(seconds["n_frames"]) == [10, 5]
    assert seconds["smile"][0] == pytest.approx(smile[5:15].mean())


def test_an_all_nan_time_map_gives_no_rows() -> None:
    seconds = per_second(_frames(10), time_map=lambda t: np.full_like(t, np.nan))
    assert all(len(column) == 0 for column in seconds.values())


def test_bad_tables_are_refused() -> None:
    table = _frames(10)
    del table["attentive"]
    with pytest.raises(AnalysisError, match="lacks columns: attentive"):
        per_second(table)
    with pytest.raises(AnalysisError, match="time_map returned shape"):
        per_second(_frames(10), time_map=lambda t: t[:3])
