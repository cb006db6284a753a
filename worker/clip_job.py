"""One clip's analysis job: claim, assemble, analyse, store curves on ad time, delete video.

Exactly-once where it matters: a clip is claimed with a lease (the Celery task id and a start
time), and results are saved only by the holder of a still-valid claim, under a row lock, in the
same transaction that adds the clip to its ad's aggregates. A redelivered or duplicate task finds
the clip done and skips it; a worker that died leaves an expired lease another one takes over.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from candor.metrics import CURVE_METRICS, EMOTION_METRICS, EXPRESSION_NAMES, NOT_MEASURED
from candor.statuses import ClipStatus, WorkerOutcome
from web.clips import keys, lifecycle, storage
from web.clips.bounds import clip_bound
from web.clips.deletion import remove_videos
from web.clips.models import (
    Clip,
    ClipEmotionSecond,
    ClipRestLevel,
    ClipSecond,
    PanelSession,
    PlaybackEvent,
)
from web.db import utcnow
from web.settings import Settings
from worker import analysis_adapter
from worker.analysis_adapter import ClipAnalysis
from worker.timemap import Event

log = logging.getLogger(__name__)
# The recording may end a little after the last event (the final chunk); beyond this it was cut.
# Not checked for a clip the server finished after its upload went idle: its tab closed, so its
# events may run past the chunks that arrived, and the curves cover the frames that did.
TRUNCATION_TOLERANCE_S = 2.0
MAX_REASON_CHARS = 300
# The database could not be reached: worth a retry, not a reason to fail the clip.
DATABASE_UNREACHABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
ASSEMBLED_NAME = re.compile(r"\S*candor-clip-\w+\.\w+")


@dataclass
class Outcome:
    """What happened to the clip; retry_in is set when another worker holds a live claim, and
    clip_status is the state a skipped clip was found in."""

    status: WorkerOutcome
    retry_in: float | None = None
    clip_status: ClipStatus | None = None

    def __str__(self) -> str:
        """The task's result: "done", or "skipped (failed)" with the state it was found in."""
        if self.clip_status is None:
            return self.status.value
        return f"{self.status.value} ({self.clip_status.value})"


class ClipRejected(Exception):
    """The clip cannot be analysed, for a reason that retrying will not change."""


@dataclass
class Claimed:
    public_id: uuid.UUID
    chunk_count: int
    suffix: str
    ad_duration_s: float
    events: list[Event]
    data_key: str | None = None
    auto_finished: bool = False
    # The session's emotion mode as it was when the panelist consented (never the study's now).
    emotion_mode: bool = False
    # The panelist's calmest rest levels over their clips of this session analysed so far.
    rest_levels: dict[str, float] = field(default_factory=dict)
    # The uploaded type: a video, or on-device face records (worker.analysis.ondevice).
    mime_type: str = ""


def _expected_failure(exc: BaseException) -> bool:
    """A clip that is bad, as opposed to code that crashed on it."""
    return analysis_adapter.is_analysis_error(exc) or isinstance(
        exc, ClipRejected | storage.MissingChunk | keys.UnreadableChunk | keys.KeyDestroyed
    )


def one_line(exc: BaseException) -> str:
    """The reason stored and shown for a failed clip: one line, bounded."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not _expected_failure(exc):
        text = f"{type(exc).__name__}: {text}"
    # The assembled file's name means nothing to anyone reading the reason.
    text = ASSEMBLED_NAME.sub("the clip", text)
    return text[:MAX_REASON_CHARS]


def claim(session: Session, clip_id: int, token: str, lease_s: int) -> Claimed | Outcome:
    """Take the clip for analysis if it is queued, ours already, or its claim has expired."""
    taken = lifecycle.claim(session, clip_id, token, lease_s)
    clip = session.get(Clip, clip_id, populate_existing=True)
    if clip is None:
        log.warning("clip %s does not exist (erased or never created); nothing to do", clip_id)
        return Outcome(WorkerOutcome.MISSING)
    if not taken:
        if clip.status == ClipStatus.PROCESSING and clip.processing_started_at is not None:
            held_for = (utcnow() - clip.processing_started_at).total_seconds()
            return Outcome(WorkerOutcome.BUSY, retry_in=max(1.0, lease_s - held_for + 1))
        log.info("clip %s is %s; skipped", clip_id, clip.status.value)
        return Outcome(WorkerOutcome.SKIPPED, clip_status=clip.status)
    emotion_mode = session.scalar(
        select(PanelSession.emotion_mode).where(PanelSession.id == clip.session_id)
    )
    events = session.scalars(
        select(PlaybackEvent).where(PlaybackEvent.clip_id == clip_id).order_by(PlaybackEvent.seq)
    ).all()
    # The panelist's calmest rest level per expression over their other analysed clips.
    earlier = session.execute(
        select(ClipRestLevel.metric, func.min(ClipRestLevel.level))
        .join(Clip, Clip.id == ClipRestLevel.clip_id)
        .where(
            Clip.session_id == clip.session_id,
            Clip.id != clip_id,
            Clip.status == ClipStatus.DONE,
        )
        .group_by(ClipRestLevel.metric)
    ).all()
    claimed = Claimed(
        public_id=clip.public_id,
        chunk_count=clip.expected_chunks or clip.chunks_received,
        suffix=storage.suffix_for(clip.mime_type),
        ad_duration_s=lifecycle.ad_duration_s(session, clip),
        events=[Event(e.seq, e.kind, e.clip_ms, e.ad_ms) for e in events],
        data_key=clip.data_key,
        auto_finished=clip.auto_finished,
        emotion_mode=bool(emotion_mode),
        rest_levels={metric: float(level) for metric, level in earlier},
        mime_type=clip.mime_type,
    )
    session.commit()
    return claimed


def analyse(settings: Settings, claimed: Claimed) -> tuple[ClipAnalysis, str, int]:
    """Open the chunks into a private file, analyse, and map the frames onto ad time. Removes its
    own file."""
    path, sha256, size = storage.assemble(
        settings, claimed.public_id, claimed.data_key, claimed.chunk_count, claimed.suffix
    )
    try:
        result = analysis_adapter.run(
            path,
            claimed.events,
            claimed.ad_duration_s,
            emotion_mode=claimed.emotion_mode,
            rest_levels=claimed.rest_levels,
            mime_type=claimed.mime_type,
            # Nothing past the ad's length plus the margin is decoded (chunks past it were
            # refused, but one chunk can claim any length).
            until_s=clip_bound(settings, claimed.ad_duration_s).seconds,
        )
    finally:
        path.unlink(missing_ok=True)
    recorded_s = max((e.clip_ms for e in claimed.events), default=0.0) / 1000
    if not claimed.auto_finished and recorded_s > result.last_frame_s + TRUNCATION_TOLERANCE_S:
        raise ClipRejected(
            f"truncated video: frames end at {result.last_frame_s:.1f} s but playback events "
            f"run to {recorded_s:.1f} s"
        )
    return result, sha256, size


def stored_value(name: str, value: Any) -> float | None:
    """A per-second value as stored: None (SQL null) where empty or not measured, never NaN.

    PostgreSQL would keep a NaN, and one NaN in an aggregate's running sum empties that second
    for every panelist; an expression no model here measures (NOT_MEASURED) is null whatever
    the engine returned, so no reader can draw it as a flat zero.
    """
    if value is None or name in NOT_MEASURED:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def curve_rows(
    clip_id: int, ad_id: int, result: ClipAnalysis
) -> list[ClipSecond | ClipEmotionSecond]:
    """The clip's stored seconds: curves always, emotion rows only if the analysis made them."""
    rows: list[ClipSecond | ClipEmotionSecond] = []
    # Emotion values are present only when the study's emotion mode asked the engine for them.
    has_emotions = any(name in row for row in result.seconds for name in EMOTION_METRICS)
    for row in result.seconds:
        where = {"clip_id": clip_id, "ad_id": ad_id, "second": row["second"]}
        curves = {name: stored_value(name, row.get(name)) for name in CURVE_METRICS}
        flag = row.get("flag")  # a mark ("hidden", "sparse") holds no values
        rows.append(ClipSecond(**where, n_frames=row["n_frames"], flag=flag, **curves))
        if has_emotions and flag is None:
            emotion_values = {m: stored_value(m, row.get(m)) for m in EMOTION_METRICS}
            rows.append(ClipEmotionSecond(**where, **emotion_values))
    return rows


def save(
    factory: sessionmaker[Session],
    settings: Settings,
    clip_id: int,
    token: str,
    analysed: tuple[ClipAnalysis, str, int],
) -> Outcome:
    """Store curves and quality, add to the aggregates, audit and delete the video: one commit."""
    result, sha256, size = analysed
    with factory() as session:
        clip = lifecycle.lock_if_claimed(session, clip_id, token)
        if clip is None:
            return _superseded(session, settings, clip_id)
        stored = lifecycle.save(session, settings, clip, as_rows(clip, result), (sha256, size))
        session.commit()
    remove_videos(settings, [stored] if stored else [])
    return Outcome(WorkerOutcome.DONE)


def as_rows(clip: Clip, result: ClipAnalysis) -> lifecycle.Analysed:
    """The analysis as the clip's rows: curves, rest levels (finite, of known expressions) and
    quality."""
    return lifecycle.Analysed(
        seconds=curve_rows(clip.id, clip.ad_id, result),
        rest_levels={
            metric: level
            for metric, level in result.rest_levels.items()
            if metric in EXPRESSION_NAMES and stored_value(metric, level) is not None
        },
        exclusion_reason=result.exclusion_reason,
        face_found_share=result.face_found_share,
        n_frames=result.n_frames,
        duration_s=result.duration_s,
        version=result.version,
        provenance=result.provenance,
    )


def fail(
    factory: sessionmaker[Session], settings: Settings, clip_id: int, token: str, reason: str
) -> Outcome:
    """Fail for good: reason recorded, video deleted and audited."""
    with factory() as session:
        clip = lifecycle.lock_if_claimed(session, clip_id, token)
        if clip is None:
            return _superseded(session, settings, clip_id)
        stored = lifecycle.fail(session, settings, clip, reason)
        session.commit()
    remove_videos(settings, [stored] if stored else [])
    log.info("clip %s failed for good: %s", clip_id, reason)
    return Outcome(WorkerOutcome.FAILED)


def _superseded(session: Session, settings: Settings, clip_id: int) -> Outcome:
    """Our claim is gone: the clip was withdrawn (delete what is left) or another worker won."""
    clip = session.get(Clip, clip_id)
    session.rollback()
    if clip is None:
        log.info("clip %s was withdrawn during analysis; results discarded", clip_id)
        return Outcome(WorkerOutcome.WITHDRAWN)
    log.info("clip %s was taken over by another worker; results discarded", clip_id)
    return Outcome(WorkerOutcome.SUPERSEDED)


def process_clip(
    clip_id: int, *, settings: Settings, factory: sessionmaker[Session], token: str
) -> Outcome:
    """Analyse one clip end to end. Database errors propagate (the task retries them)."""
    with factory() as session:
        claimed = claim(session, clip_id, token, settings.analysis_lease_seconds)
    if isinstance(claimed, Outcome):
        return claimed
    try:
        analysed = analyse(settings, claimed)
    except Exception as exc:
        # Any failure here is about this clip (bad video, missing chunk, an analysis bug):
        # retrying cannot help, and the video must not outlive the attempt.
        if not _expected_failure(exc):
            log.exception("analysis of clip %s crashed", clip_id)
        return fail(factory, settings, clip_id, token, one_line(exc))
    try:
        return save(factory, settings, clip_id, token, analysed)
    except DATABASE_UNREACHABLE:
        raise  # the task retries; if it never gets through, the TTL sweeper deletes the video
    except Exception as exc:
        # Anything else will fail the same way again (a value the database refuses, a bug):
        # fail closed, so the video is deleted and audited now instead of waiting in
        # `processing` to be analysed again on every lease expiry. The log gets the error's
        # first line only: the statement's parameters may hold a panelist's values.
        reason = f"results could not be saved: {one_line(exc)}"[:MAX_REASON_CHARS]
        log.error("clip %s: %s; video deleted", clip_id, reason)
        return fail(factory, settings, clip_id, token, reason)
