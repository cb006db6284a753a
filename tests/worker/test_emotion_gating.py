"""Emotions are computed only for clips of sessions consented in emotion mode, never otherwise:
the worker passes the session's snapshot to the analysis, and nothing emotion-shaped is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from candor.statuses import ClipStatus
from tests.support.clips import make_webm, split
from tests.worker.conftest import uploaded_clip
from web.clips.models import AdAggregate
from web.db import Base
from web.settings import Settings
from worker import analysis_adapter
from worker.tasks import analyze_clip
from worker.timemap import Event, build_time_map

pytestmark = pytest.mark.usefixtures("configured")


def emotion_values_stored(session: Session) -> int:
    """Rows anywhere holding an emotion value, and aggregate cells of an emotion metric."""
    found = 0
    for table in Base.metadata.tables.values():
        columns = [column for column in table.c if column.name in EMOTION_METRICS]
        if columns:
            found += (
                session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(or_(*(column.is_not(None) for column in columns)))
                )
                or 0
            )
    found += (
        session.scalar(
            select(func.count())
            .select_from(AdAggregate)
            .where(AdAggregate.metric.in_(EMOTION_METRICS))
        )
        or 0
    )
    return found


class Spy:
    """Records how the worker called the analysis adapter (a process-boundary stand-in)."""

    def __init__(self, call_real: bool) -> None:
        self.calls: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.real = analysis_adapter.run
        self.call_real = call_real

    def __call__(self, path: Path, events: list[Event], ad_duration_s: float, **kwargs: Any) -> Any:
        self.calls.append({"emotion_mode": kwargs.get("emotion_mode")})
        # The stand-in returns curves only: storing emotion rows is the results store's part.
        if self.call_real:
            result = self.real(path, events, ad_duration_s, **kwargs)
        else:
            result = _known(build_time_map(events, ad_duration_s))
        self.rows.extend(result.seconds)
        return result


def _known(time_map: Any) -> analysis_adapter.ClipAnalysis:
    """An analysis with known curves."""
    ad_t = time_map(np.arange(0, 2, 0.1))
    seconds = [
        {**{name: 0.5 for name in CURVE_METRICS}, "second": s, "n_frames": 10}
        for s in sorted({int(s) for s in ad_t[np.isfinite(ad_t)]})
    ]
    return analysis_adapter.ClipAnalysis(
        seconds=seconds,
        face_found_share=1.0,
        exclusion_reason=None,
        duration_s=2.0,
        n_frames=20,
        last_frame_s=1.9,
        version="known-1",
    )


def test_a_clip_of_a_study_without_emotion_mode_is_analysed_without_emotions(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(call_real=True)
    monkeypatch.setattr(analysis_adapter, "run", spy)
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    assert up.rows.study.emotion_mode is False and up.rows.panel_session.emotion_mode is False

    assert analyze_clip(up.rows.clip.id) == "done"

    assert spy.calls == [{"emotion_mode": False}]
    assert spy.rows and not any(set(EMOTION_METRICS) & set(row) for row in spy.rows)
    assert emotion_values_stored(db_session) == 0


def test_a_later_switch_to_emotion_mode_does_not_reach_clips_consented_before(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(call_real=False)
    monkeypatch.setattr(analysis_adapter, "run", spy)
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    up.rows.study.emotion_mode = True  # switched after this panelist consented without it
    db_session.flush()

    assert analyze_clip(up.rows.clip.id) == "done"

    assert spy.calls == [{"emotion_mode": False}]
    assert emotion_values_stored(db_session) == 0


def test_a_clip_of_a_session_consented_in_emotion_mode_asks_for_emotions(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(call_real=False)
    monkeypatch.setattr(analysis_adapter, "run", spy)
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    up.rows.study.emotion_mode = True
    up.rows.panel_session.emotion_mode = True
    db_session.flush()

    assert analyze_clip(up.rows.clip.id) == "done"

    assert spy.calls == [{"emotion_mode": True}]
    db_session.expire_all()
    assert up.rows.clip.status == ClipStatus.DONE
