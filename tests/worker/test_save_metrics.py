"""The save step stores every metric: the 20 expressions always, emotion rows and aggregates only
when the analysis returned emotion values, provenance on the clip; erasure takes them all back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.metrics import CURVE_METRICS, EMOTION_METRICS, EXPRESSION_NAMES, NOT_MEASURED
from candor.statuses import DeletionReason
from tests.worker.conftest import uploaded_clip
from web.clips.lifecycle import withdraw
from web.clips.models import AdAggregate, AnalysisProvenance, Clip, ClipEmotionSecond, ClipSecond
from web.settings import Settings
from worker import analysis_adapter
from worker.tasks import analyze_clip
from worker.timemap import Event

pytestmark = pytest.mark.usefixtures("configured")

PROVENANCE = {"models": {"face_landmarker": {"sha256": "64184e22", "version": "0.1.1"}}}


def _value(metric: str, second: int) -> float:
    """A distinct known value per metric and second, inside the metric's range."""
    index = (*CURVE_METRICS, *EMOTION_METRICS).index(metric)
    value = round(0.01 * index + 0.1 * second, 4)
    return -value if metric == "valence" else value


def _fabricated(emotions: bool) -> Any:
    """A stand-in for the engine: three seconds of every metric (and emotions if asked);
    lip_suck unreadable (a hand over the mouth) in second 1."""

    def run(
        path: Path, events: list[Event], ad_duration_s: float, **_asked: Any
    ) -> analysis_adapter.ClipAnalysis:
        names = (*CURVE_METRICS, *EMOTION_METRICS) if emotions else CURVE_METRICS
        seconds = []
        for second in range(3):
            row: dict[str, Any] = {m: _value(m, second) for m in names}
            row.update(second=second, n_frames=30, blinks=1.0)
            if second == 1:
                row["lip_suck"] = None
            seconds.append(row)
        return analysis_adapter.ClipAnalysis(
            seconds=seconds, face_found_share=1.0, exclusion_reason=None, duration_s=3.0,
            n_frames=90, last_frame_s=2.97, version="fabricated-1", provenance=PROVENANCE,
        )  # fmt: skip

    return run


def _cells(db_session: Session, ad_id: int) -> dict[tuple[str, str, int], tuple[int, float]]:
    db_session.expire_all()
    rows = db_session.scalars(select(AdAggregate).where(AdAggregate.ad_id == ad_id))
    return {(r.segment_var, r.metric, r.second): (r.n, r.sum) for r in rows}


def test_without_emotions_nothing_emotion_shaped_is_stored(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis_adapter, "run", _fabricated(emotions=False))
    up = uploaded_clip(db_session, settings, [b"any bytes"], passthrough={"age": "18-24"})
    assert analyze_clip(up.rows.clip.id) == "done"

    stored = db_session.scalars(
        select(ClipSecond).where(ClipSecond.clip_id == up.rows.clip.id).order_by(ClipSecond.second)
    ).all()
    assert len(stored) == 3
    for name in EXPRESSION_NAMES:  # all 20, lip_press included; those not measured empty
        expected = None if name in NOT_MEASURED else pytest.approx(_value(name, 2))
        assert getattr(stored[2], name) == expected, name
    assert stored[1].lip_suck is None  # unreadable stays empty, never zero
    assert db_session.scalar(select(func.count()).select_from(ClipEmotionSecond)) == 0
    cells = _cells(db_session, up.rows.ad.id)
    assert {metric for _, metric, _ in cells} == set(CURVE_METRICS) - NOT_MEASURED
    assert ("", "lip_suck", 1) not in cells and cells[("", "lip_suck", 2)][0] == 1
    assert cells[("age", "chin_raise", 0)] == (1, pytest.approx(_value("chin_raise", 0)))
    clip = db_session.get(Clip, up.rows.clip.id)
    assert clip is not None and clip.provenance_id is not None
    stored_provenance = db_session.get(AnalysisProvenance, clip.provenance_id)
    assert stored_provenance is not None and stored_provenance.provenance == PROVENANCE


def test_emotion_values_get_their_own_rows_and_aggregates_and_erasure_removes_them(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis_adapter, "run", _fabricated(emotions=True))
    count_provenance = select(func.count()).select_from(AnalysisProvenance)
    provenance_before = db_session.scalar(count_provenance) or 0
    up = uploaded_clip(db_session, settings, [b"any bytes"], passthrough={"age": "18-24"})
    assert analyze_clip(up.rows.clip.id) == "done"

    emotion_rows = db_session.scalars(
        select(ClipEmotionSecond).where(ClipEmotionSecond.clip_id == up.rows.clip.id)
    ).all()
    assert sorted(r.second for r in emotion_rows) == [0, 1, 2]
    assert {r.second: r.valence for r in emotion_rows}[2] == pytest.approx(_value("valence", 2))
    cells = _cells(db_session, up.rows.ad.id)
    assert {metric for _, metric, _ in cells} == {*CURVE_METRICS, *EMOTION_METRICS} - NOT_MEASURED
    assert cells[("", "joy", 1)] == (1, pytest.approx(_value("joy", 1)))
    assert cells[("age", "valence", 2)] == (1, pytest.approx(_value("valence", 2)))

    db_session.expire_all()
    clip = db_session.get(Clip, up.rows.clip.id)
    assert clip is not None
    # Clips analysed alike share one provenance row.
    second = uploaded_clip(db_session, settings, [b"any bytes"], ad=up.rows.ad)
    assert analyze_clip(second.rows.clip.id) == "done"
    db_session.expire_all()
    again = db_session.get(Clip, second.rows.clip.id)
    assert again is not None and again.provenance_id == clip.provenance_id
    # At most one new row for the two clips (an earlier test of the run may have made it).
    assert db_session.scalar(count_provenance) - provenance_before <= 1
    for panel_session in (clip.session, again.session):
        withdraw(db_session, settings, panel_session, DeletionReason.ERASED)
    db_session.flush()
    after = _cells(db_session, up.rows.ad.id)
    assert all(n == 0 and total == pytest.approx(0.0) for n, total in after.values())
    assert db_session.scalar(select(func.count()).select_from(ClipEmotionSecond)) == 0


def _not_measured_as_nan(names: tuple[str, ...]) -> Any:
    """The engine as it is for an expression no model here measures: NaN in every second (and
    in the provenance's figures), however the engine's own tables carried it."""

    def run(
        path: Path, events: list[Event], ad_duration_s: float, **_asked: Any
    ) -> analysis_adapter.ClipAnalysis:
        seconds = []
        for second in range(3):
            row: dict[str, Any] = {m: _value(m, second) for m in CURVE_METRICS}
            row.update({name: float("nan") for name in names})
            row.update(second=second, n_frames=30, blinks=1.0)
            seconds.append(row)
        provenance = {**PROVENANCE, "figures": {name: float("nan") for name in names}}
        return analysis_adapter.ClipAnalysis(
            seconds=seconds, face_found_share=1.0, exclusion_reason=None, duration_s=3.0,
            n_frames=90, last_frame_s=2.97, version="fabricated-nan", provenance=provenance,
            rest_levels={name: float("nan") for name in names},
        )  # fmt: skip

    return run


@pytest.mark.parametrize("source", ["nan", "value"])
def test_an_expression_not_measured_is_stored_null_and_never_aggregated(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """All-NaN columns save (JSON has no NaN, PostgreSQL would keep one in a float column and
    poison the sums), and a not-measured expression stays null even if an engine gave numbers."""
    # The real set, and one more (chin_raise) so the test holds whatever candor.metrics lists.
    names = tuple(sorted({*NOT_MEASURED, "chin_raise"}))
    monkeypatch.setattr("worker.clip_job.NOT_MEASURED", frozenset(names))
    engine = _not_measured_as_nan(names) if source == "nan" else _fabricated(emotions=False)
    monkeypatch.setattr(analysis_adapter, "run", engine)
    up = uploaded_clip(db_session, settings, [b"any bytes"], passthrough={"age": "18-24"})
    assert analyze_clip(up.rows.clip.id) == "done"

    db_session.expire_all()
    clip = db_session.get(Clip, up.rows.clip.id)
    assert clip is not None and clip.usable and clip.failure_reason is None
    stored = db_session.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip.id)).all()
    assert len(stored) == 3
    for row in stored:
        for name in names:
            assert getattr(row, name) is None, (name, row.second)
        assert row.smile == pytest.approx(_value("smile", row.second))
    cells = _cells(db_session, up.rows.ad.id)
    assert not [key for key in cells if key[1] in names]
    assert cells[("", "smile", 1)] == (1, pytest.approx(_value("smile", 1)))
    if source == "nan":
        saved = db_session.get(AnalysisProvenance, clip.provenance_id)
        assert saved is not None and saved.provenance["figures"] == dict.fromkeys(names)
