"""A designer's preview run goes through the whole flow and its analysis, but counts nowhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, DeletionReason
from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study, preview_token_for
from tests.web.panel.conftest import QueuedIds
from web.clips.models import AdAggregate, Clip, ClipSecond, DeletionAudit, PanelSession
from web.results import quality
from web.settings import Settings
from web.studies.models import Ad, Integration, Study
from worker import analysis_adapter, context
from worker.tasks import analyze_clip
from worker.timemap import Event, build_time_map

API = panel.API
AD_SECONDS = 3


@pytest.fixture
def worker(settings: Settings, db_session: Session) -> Iterator[None]:
    """Run analyze_clip in-process on the test's transaction (its commits are savepoints)."""
    factory = sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    context.configure(settings, factory)
    yield
    context.configure(None)


@pytest.fixture
def known_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis stands in with a usable clip of known curves: a panelist's would count."""

    def run(
        path: Path, events: list[Event], ad_duration_s: float, **_asked: Any
    ) -> analysis_adapter.ClipAnalysis:
        ad_t = build_time_map(events, ad_duration_s)(np.arange(0, AD_SECONDS, 0.1))
        seconds = sorted({int(s) for s in ad_t[np.isfinite(ad_t)]})
        return analysis_adapter.ClipAnalysis(
            seconds=[
                {"second": s, "attention": 1.0, "smile": 0.6, "blinks": 0, "n_frames": 10}
                for s in seconds
            ],
            face_found_share=1.0,
            exclusion_reason=None,
            duration_s=float(AD_SECONDS),
            n_frames=10 * AD_SECONDS,
            last_frame_s=AD_SECONDS - 0.1,
            version="known-1",
        )

    monkeypatch.setattr(analysis_adapter, "run", run)


def _run_through_api(
    client: TestClient, integration: Integration, queued_ids: QueuedIds, *, preview: bool
) -> int:
    """Start, agree, record one ad, finish, analyse (the queued task), end as complete."""
    body: dict[str, Any] = {
        "integration": integration.public_key,
        "respondent_id": f"preview-{uuid.uuid4().hex[:12]}" if preview else "R_1",
        "passthrough": {"age": "25-34"},
        "locale": "en",
    }
    if preview:
        body["preview"] = True
        body["preview_token"] = preview_token_for(integration)
    response = client.post(f"{API}/sessions", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["preview"] is preview
    started = panel.Started(
        response.json()["session_id"], response.json()["token"], response.json()
    )
    panel.consent(client, started)
    clip_key = panel.open_clip(client, started)
    panel.upload(client, started, clip_key, [b"first second", b"second second"])
    events = client.post(
        f"{API}/clips/{clip_key}/events",
        headers=started.headers,
        json={"events": panel.playing_events(AD_SECONDS * 1000)},
    )
    assert events.status_code == 200, events.text
    finished = client.post(
        f"{API}/clips/{clip_key}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    assert finished.status_code == 202, finished.text
    clip_id = queued_ids()[-1]
    assert analyze_clip(clip_id) == "done"
    ended = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )
    assert ended.status_code == 200, ended.text
    return clip_id


def _aggregates(db_session: Session, ad: Ad) -> dict[tuple[str, str, str, int], tuple[int, float]]:
    db_session.expire_all()
    rows = db_session.scalars(select(AdAggregate).where(AdAggregate.ad_id == ad.id))
    return {(r.segment_var, r.segment_value, r.metric, r.second): (r.n, r.sum) for r in rows}


def _fielded(db_session: Session) -> tuple[Study, Ad, Integration]:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=AD_SECONDS)
    integration = make_integration(db_session, study, passthrough_vars=["age"])
    db_session.refresh(study)
    return study, ad, integration


@pytest.mark.usefixtures("worker", "known_analysis")
def test_a_completed_preview_is_analysed_and_deleted_but_counts_nowhere(
    client: TestClient, db_session: Session, settings: Settings, queued_ids: QueuedIds
) -> None:
    study, ad, integration = _fielded(db_session)
    # A real panelist first: counted, so "unchanged" below is measured against real numbers.
    _run_through_api(client, integration, queued_ids, preview=False)
    aggregates = _aggregates(db_session, ad)
    assert aggregates[("", "", "smile", 0)] == (1, pytest.approx(0.6))
    assert aggregates[("age", "25-34", "attention", 2)] == (1, pytest.approx(1.0))
    before = quality.quality(db_session, study.id)
    assert (before.sessions, before.consented, before.usable_clips) == (1, 1, 1)
    progress = quality.progress_by_ad(db_session, [ad.id])[ad.id]

    clip_id = _run_through_api(client, integration, queued_ids, preview=True)

    # The designer's run went through the whole pipeline: analysed, curves stored, video gone.
    db_session.expire_all()
    clip = db_session.get(Clip, clip_id)
    assert clip is not None
    assert (clip.status, clip.usable, clip.aggregated) == (ClipStatus.DONE, True, False)
    assert db_session.get(PanelSession, clip.session_id).is_preview is True  # type: ignore[union-attr]
    seconds = db_session.scalars(select(ClipSecond.second).where(ClipSecond.clip_id == clip_id))
    assert sorted(seconds) == list(range(AD_SECONDS))
    assert not stored.has_video(settings, clip.public_id)
    audits = db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip_id))
    assert [a.reason for a in audits] == [DeletionReason.ANALYSED]
    # ...and left the study's results exactly as they were.
    assert _aggregates(db_session, ad) == aggregates
    assert quality.quality(db_session, study.id) == before
    assert quality.progress_by_ad(db_session, [ad.id])[ad.id] == progress


def test_sessions_are_not_previews_unless_asked(client: TestClient, db_session: Session) -> None:
    _study, _ad, integration = _fielded(db_session)
    started = panel.start(client, integration)
    assert started.body["preview"] is False
    row = db_session.scalar(select(PanelSession))
    assert row is not None and row.is_preview is False
    refused = client.post(
        f"{API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "r", "preview": "maybe"},
    )
    assert refused.status_code == 422
