"""analyze_clip: curves on ad time stored, aggregates updated, video deleted and audited."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, DeletionReason
from tests.support import stored
from tests.support.clips import make_webm, split
from tests.support.factories import make_ad
from tests.worker.conftest import uploaded_clip
from web.clips import keys, storage
from web.clips.deletion import keyed_fingerprint
from web.clips.lifecycle import withdraw
from web.clips.models import (
    AdAggregate,
    AnalysisProvenance,
    Chunk,
    Clip,
    ClipRestLevel,
    ClipSecond,
    DeletionAudit,
    PanelSession,
)
from web.settings import Settings
from worker import analysis_adapter, clip_job, context
from worker.analysis import ANALYSIS_VERSION
from worker.tasks import analyze_clip
from worker.timemap import Event, build_time_map

pytestmark = pytest.mark.usefixtures("configured")


def _reload(db_session: Session, clip_id: int) -> Clip:
    db_session.expire_all()
    clip = db_session.get(Clip, clip_id)
    assert clip is not None
    return clip


def _audits(db_session: Session, clip_id: int) -> list[DeletionAudit]:
    return list(db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip_id)))


def test_a_clip_is_analysed_on_ad_time_then_its_video_deleted(
    db_session: Session, settings: Settings
) -> None:
    video = make_webm(seconds=3.0, fps=15)
    # The ad started 0.5 s into the recording and played 2.5 s to the end of the recording.
    up = uploaded_clip(
        db_session, settings, split(video, 3), events=[("start", 500, 0), ("end", 3000, 2500)]
    )
    clip_id = up.rows.clip.id

    assert analyze_clip(clip_id) == "done"

    clip = _reload(db_session, clip_id)
    assert clip.status == ClipStatus.DONE
    assert clip.analysis_version is not None
    assert clip.analysis_version.startswith(f"candor-analysis {ANALYSIS_VERSION}; mediapipe")
    assert clip.sha256 == keyed_fingerprint(settings, hashlib.sha256(video).hexdigest())
    assert clip.n_frames is not None and clip.n_frames >= 44
    seconds = db_session.scalars(
        select(ClipSecond).where(ClipSecond.clip_id == clip_id).order_by(ClipSecond.second)
    ).all()
    # Frames before the ad started are dropped; the rest fall on ad seconds 0, 1, 2.
    assert [row.second for row in seconds] == [0, 1, 2]
    assert [row.n_frames for row in seconds][:2] == [15, 15]
    assert all(row.ad_id == up.rows.ad.id for row in seconds)
    # The video and its chunk receipts are gone; one audit row says what was deleted and why.
    assert not stored.has_video(settings, clip.public_id)
    assert db_session.scalars(select(Chunk).where(Chunk.clip_id == clip_id)).all() == []
    (audit,) = _audits(db_session, clip_id)
    assert audit.reason == DeletionReason.ANALYSED
    assert audit.sha256 == keyed_fingerprint(settings, hashlib.sha256(video).hexdigest())
    assert audit.bytes == len(video)
    assert clip.video_deleted_at is not None


def test_a_done_clip_is_skipped(db_session: Session, settings: Settings) -> None:
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    assert analyze_clip(up.rows.clip.id) == "done"
    assert analyze_clip(up.rows.clip.id) == "skipped (done)"
    assert len(_audits(db_session, up.rows.clip.id)) == 1
    assert len(db_session.scalars(select(ClipSecond)).all()) == 2


def _known_run(attention: float, smile: float) -> Any:
    """A stand-in for the analysis with known output, to check what the pipeline stores."""

    def run(
        path: Path, events: list[Event], ad_duration_s: float, **_asked: Any
    ) -> analysis_adapter.ClipAnalysis:
        ad_t = build_time_map(events, ad_duration_s)(np.arange(0, 3, 0.1))
        seconds = sorted({int(s) for s in ad_t[np.isfinite(ad_t)]})
        return analysis_adapter.ClipAnalysis(
            seconds=[
                {"second": s, "attention": attention, "smile": smile, "blinks": 0, "n_frames": 10}
                for s in seconds
            ],
            face_found_share=1.0,
            exclusion_reason=None,
            duration_s=3.0,
            n_frames=30,
            last_frame_s=2.9,
            version="known-1",
        )

    return run


def test_a_usable_clip_is_added_to_the_aggregates_once_even_when_rerun(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis_adapter, "run", _known_run(1.0, 0.4))
    up = uploaded_clip(db_session, settings, [b"any bytes"], passthrough={"age": "18-24"})
    clip_id = up.rows.clip.id
    assert analyze_clip(clip_id) == "done"
    clip = _reload(db_session, clip_id)
    assert clip.usable is True and clip.aggregated is True and clip.analysis_version == "known-1"

    def cells() -> dict[tuple[str, str, int], tuple[int, float]]:
        db_session.expire_all()
        rows = db_session.scalars(select(AdAggregate).where(AdAggregate.ad_id == clip.ad_id))
        return {(r.segment_var, r.metric, r.second): (r.n, r.sum) for r in rows}

    first = cells()
    assert first[("", "smile", 0)] == (1, pytest.approx(0.4))
    assert first[("age", "attention", 2)] == (1, pytest.approx(1.0))
    # Analysed again (say, a new analysis version): the clip's share is replaced, not added.
    monkeypatch.setattr(analysis_adapter, "run", _known_run(1.0, 0.8))
    clip.data_key = keys.new_wrapped_key(settings.secret_key, clip.public_id)
    stored.put_plain(settings, clip, 0, b"any bytes")
    clip.status = ClipStatus.QUEUED
    db_session.flush()
    assert analyze_clip(clip_id) == "done"
    again = cells()
    assert again[("", "smile", 0)] == (1, pytest.approx(0.8))
    assert set(again) == set(first)


def test_a_panelist_s_later_clip_is_read_against_their_calmest_rest_and_the_rest_stays_theirs(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict[str, Any]] = []

    def run(path: Path, events: list[Event], ad_duration_s: float, **kwargs: Any) -> Any:
        asked.append(kwargs)
        result = _known_run(1.0, 0.4)(path, events, ad_duration_s)
        result.provenance = {"settings": {"fps": 15.0}}
        # The first clip was calm (smile rests at 0.02), the second smiled throughout (0.3).
        rest = {"smile": 0.02, "brow_furrow": 0.1} if len(asked) == 1 else {"smile": 0.3}
        result.rest_levels = rest
        return result

    monkeypatch.setattr(analysis_adapter, "run", run)
    first = uploaded_clip(db_session, settings, [b"any bytes"])
    assert analyze_clip(first.rows.clip.id) == "done"
    assert asked[0]["rest_levels"] == {}  # nothing earlier in the session
    # A second ad's clip in the same panelist session.
    second_ad = make_ad(db_session, first.rows.study)
    public_id = uuid.uuid4()
    second = Clip(
        public_id=public_id,
        session_id=first.rows.panel_session.id,
        ad_id=second_ad.id,
        mime_type="video/webm",
        data_key=keys.new_wrapped_key(settings.secret_key, public_id),
        status=ClipStatus.QUEUED,
        expected_chunks=1,
        chunks_received=1,
    )
    db_session.add(second)
    db_session.flush()
    stored.put_plain(settings, second, 0, b"other bytes")
    db_session.add(Chunk(clip_id=second.id, index=0, bytes=11, sha256="0" * 64))
    db_session.flush()
    assert analyze_clip(second.id) == "done"
    assert asked[1]["rest_levels"] == {"smile": 0.02, "brow_furrow": 0.1}
    # A clip of another panelist is never read against this one's rest.
    other = uploaded_clip(db_session, settings, [b"any bytes"])
    assert analyze_clip(other.rows.clip.id) == "done"
    assert asked[2]["rest_levels"] == {}

    # The rest levels are the panelist's own: numbers on their clip, not in the shared
    # provenance...
    def levels(clip_id: int) -> dict[str, float]:
        rows = db_session.scalars(select(ClipRestLevel).where(ClipRestLevel.clip_id == clip_id))
        return {row.metric: row.level for row in rows}

    clip = _reload(db_session, first.rows.clip.id)
    assert levels(clip.id) == {"smile": 0.02, "brow_furrow": 0.1}
    shared = db_session.get(AnalysisProvenance, clip.provenance_id)
    assert shared is not None and "rest_levels" not in shared.provenance
    # ...and erased with the panelist's session.
    withdraw(db_session, settings, first.rows.panel_session, DeletionReason.ERASED)
    db_session.flush()
    db_session.expire_all()
    assert levels(first.rows.clip.id) == {} and levels(second.id) == {}
    assert levels(other.rows.clip.id) == {"smile": 0.3}  # another panelist's, untouched


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"this is not a video at all" * 100, "video"),
        ("truncated", "truncat"),
    ],
)
def test_bad_video_fails_for_good_and_is_deleted(
    db_session: Session, settings: Settings, payload: bytes | str, reason: str
) -> None:
    events: list[tuple[str, float, float]] = []
    if payload == "truncated":
        video = make_webm(seconds=6.0)
        payload = video[: len(video) // 2]
        events = [("start", 0, 0), ("end", 6000, 6000)]
    assert isinstance(payload, bytes)
    up = uploaded_clip(db_session, settings, split(payload, 2), events=events)
    assert analyze_clip(up.rows.clip.id) == "failed"
    clip = _reload(db_session, up.rows.clip.id)
    assert clip.status == ClipStatus.FAILED
    assert clip.failure_reason is not None and reason in clip.failure_reason.lower()
    assert "\n" not in clip.failure_reason and "candor-clip-" not in clip.failure_reason
    assert not stored.has_video(settings, clip.public_id)
    (audit,) = _audits(db_session, clip.id)
    assert audit.reason == DeletionReason.FAILED and audit.bytes == len(payload)
    assert db_session.scalars(select(ClipSecond)).all() == []


def test_a_chunk_missing_from_the_store_fails_the_clip(
    db_session: Session, settings: Settings
) -> None:
    up = uploaded_clip(db_session, settings, split(make_webm(3.0), 3))
    storage.remove_chunks(settings, up.rows.clip.public_id, [1])
    assert analyze_clip(up.rows.clip.id) == "failed"
    clip = _reload(db_session, up.rows.clip.id)
    assert clip.failure_reason == "chunk 1 is no longer stored"
    assert not stored.has_video(settings, clip.public_id)


def test_a_missing_row_is_logged_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    assert analyze_clip(987654321) == "missing"
    assert "987654321" in caplog.text


def test_a_clip_held_by_a_live_worker_is_left_to_it(
    db_session: Session, settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    clip_id = up.rows.clip.id
    with worker_factory() as session:
        assert isinstance(clip_job.claim(session, clip_id, "worker-a", 600), clip_job.Claimed)
    busy = clip_job.process_clip(
        clip_id, settings=settings, factory=worker_factory, token="worker-b"
    )
    assert busy.status == "busy" and busy.retry_in is not None and 590 < busy.retry_in <= 601
    # Worker A died: once its lease has expired, B takes the clip over and finishes it.
    clip = _reload(db_session, clip_id)
    clip.processing_started_at = clip.processing_started_at.replace(year=2000)  # type: ignore[union-attr]
    db_session.flush()
    done = clip_job.process_clip(
        clip_id, settings=settings, factory=worker_factory, token="worker-b"
    )
    assert done.status == "done"
    # A's late result is discarded: its claim is no longer the clip's.
    late = clip_job.fail(worker_factory, settings, clip_id, "worker-a", "late")
    assert late.status == "superseded"
    assert _reload(db_session, clip_id).status == ClipStatus.DONE
    assert len(_audits(db_session, clip_id)) == 1


def test_withdrawal_during_analysis_discards_the_results(
    db_session: Session,
    settings: Settings,
    worker_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    up = uploaded_clip(db_session, settings, split(make_webm(2.0), 2))
    clip_id = up.rows.clip.id
    real_analyse = clip_job.analyse

    def analyse_then_withdraw(directory: Path, claimed: clip_job.Claimed) -> Any:
        result = real_analyse(directory, claimed)
        with worker_factory() as session:  # the panelist presses "stop and delete" meanwhile
            panel_session = session.get(PanelSession, up.rows.panel_session.id)
            assert panel_session is not None
            withdraw(session, settings, panel_session, DeletionReason.WITHDRAWN)
            session.commit()
        return result

    monkeypatch.setattr(clip_job, "analyse", analyse_then_withdraw)
    assert analyze_clip(clip_id) == "withdrawn"
    db_session.expire_all()
    assert db_session.get(Clip, clip_id) is None
    assert db_session.scalars(select(ClipSecond)).all() == []


def test_transient_database_errors_are_retried_then_the_video_is_kept(
    db_session: Session, settings: Settings
) -> None:
    up = uploaded_clip(db_session, settings, split(make_webm(1.0), 1))
    attempts = []

    class Unreachable:
        def __call__(self) -> Session:
            attempts.append(1)
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    context.configure(settings, Unreachable())  # type: ignore[arg-type]
    result = analyze_clip.apply(args=[up.rows.clip.id])
    assert result.state == "FAILURE"
    assert len(attempts) == analyze_clip.max_retries + 1
    # Not a failure of the clip: its video waits for the next try (or the sweeper's TTL).
    assert stored.has_video(settings, up.rows.clip.public_id)


def test_a_save_the_database_refuses_fails_the_clip_and_deletes_its_video(
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12 item 1: a NUL in a pass-through value (stored before the edge refused it)
    made PostgreSQL refuse the save; the clip stayed `processing` with its chunks on disk and
    was analysed again on every lease expiry, and the value reached the worker log."""
    monkeypatch.setattr(analysis_adapter, "run", _known_run(1.0, 0.4))
    secret = "25\u000034"
    up = uploaded_clip(db_session, settings, [b"any bytes"], passthrough={"age": secret})
    clip_id = up.rows.clip.id

    assert analyze_clip(clip_id) == "failed"

    clip = _reload(db_session, clip_id)
    assert clip.status == ClipStatus.FAILED
    assert clip.failure_reason is not None
    assert clip.failure_reason.startswith("results could not be saved")
    assert not stored.has_video(settings, clip.public_id)
    (audit,) = _audits(db_session, clip_id)
    assert audit.reason == DeletionReason.FAILED and audit.bytes == len(b"any bytes")
    assert db_session.scalars(select(ClipSecond)).all() == []  # nothing half-saved
    assert db_session.scalars(select(AdAggregate)).all() == []
    assert secret not in caplog.text and "\\u0000" not in caplog.text
    assert analyze_clip(clip_id) == "skipped (failed)"  # never analysed again
