"""The clip's tables: panelist sessions and their consent records, clips with their chunks and
playback events, the deletion audit, and what the analysis stores (per-second curves on ad time,
rest levels, provenance) with the per-ad aggregates maintained as clips finish.

Curve columns are made from `candor.metrics`, the one list of metric names: `clip_second` holds
every name in CURVE_METRICS, and `clip_emotion_second` every name in EMOTION_METRICS. Emotion
values live in their own table so that a clip of a study not in emotion mode has no
emotion-shaped row or column anywhere.

The foreign keys name the studies' tables (`ad`, `study`, `integration`, `consent_text`) by
name only: web.clips sits below web.studies and never imports it. A process that writes these
rows loads every table first (`web.models`), so the names resolve.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from candor.statuses import (
    LIVE_SESSION,
    ClipStatus,
    ConsentDecision,
    PlaybackEventKind,
    SessionStatus,
)
from web.db import Base, utcnow

# A respondent's session is "live" while it can still record: started or consented. At most one
# live *signed* session per respondent of an integration (the database refuses a second: two
# signed starts at once cannot both win). Unsigned starts prove nothing about who they are, so
# they never displace anyone: several may be live under one respondent id, each its own.
# Enum columns hold member names.
_LIVE_SQL = text(
    f"status IN ({', '.join(repr(status.name) for status in LIVE_SESSION)}) AND signed"
)
LIVE_RESPONDENT_INDEX = "uq_panel_session_live_respondent"


class PanelSession(Base):
    """One panelist in one integration. No IP address and no raw respondent id is stored."""

    __tablename__ = "panel_session"
    __table_args__ = (
        Index(
            LIVE_RESPONDENT_INDEX,
            "integration_id",
            "respondent_hash",
            "is_preview",
            unique=True,
            postgresql_where=_LIVE_SQL,
            sqlite_where=_LIVE_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), index=True
    )
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    # Keyed hash (HMAC-SHA256) of the survey's respondent id.
    respondent_hash: Mapped[str] = mapped_column(String(64), index=True)
    passthrough: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[SessionStatus] = mapped_column(
        Enum(SessionStatus, native_enum=False, length=20), default=SessionStatus.STARTED
    )
    # Ad ids in the order this panelist sees them (randomised per panelist if the study says so).
    ad_order: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Keyed hash of the receipt code shown to the panelist for later erasure.
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Keyed hash of the resume token that only the panelist's browser holds (tokens.py): a start
    # for this respondent resumes this session only with it. None on sessions from before it.
    resume_hash: Mapped[str | None] = mapped_column(String(64))
    # A designer trying the flow on themselves (the integration page's preview link): analysed
    # and deleted like any session, but never counted in the study's results.
    is_preview: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Started with a valid respondent signature (web/studies/signing.py): only such a session
    # supersedes, or by its receipt erases, the respondent's other sessions.
    signed: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The study's emotion mode when this panelist agreed (set with the consent, never after):
    # the worker infers emotions for this session's clips only if it is true.
    emotion_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The study's on-device mode when this panelist agreed (set with the consent, never after):
    # its clips are accepted as face records only, never as video.
    on_device: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A generated panelist of the demo (web/demo/panelists.py): analysed and counted like any other,
    # labelled as sample data wherever results are shown, and removable in one click.
    is_sample: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Withdrawn later with the receipt code (/erase) rather than with "stop and delete" in the
    # recorder: counted apart in data quality.
    erased_by_receipt: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Erased because the same respondent started again (a new session superseded this one):
    # counted apart in data quality as "restarted", not as a withdrawal.
    superseded: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The recorder's beacon said the panelist left the page (web/panel/presence.py): when,
    # plus IN_FLIGHT_SECONDS, so a chunk already in flight as the page went away does not
    # count as a sign of life; and the client's sequence number of the latest leave/back
    # message taken (older ones are replays).
    left_at: Mapped[datetime | None]
    presence_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    clips: Mapped[list[Clip]] = relationship(back_populates="session", cascade="all, delete-orphan")


class ConsentRecord(Base):
    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("panel_session.id", ondelete="CASCADE"), index=True
    )
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_text.id"))
    text_sha256: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(10))
    decision: Mapped[ConsentDecision] = mapped_column(
        Enum(ConsentDecision, native_enum=False, length=20)
    )
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[PanelSession] = relationship(back_populates="consents")


class Clip(Base):
    """One panelist's recording of one ad. Its video is stored, sealed, only until analysed."""

    __tablename__ = "clip"
    # AUTOINCREMENT on SQLite: an erased clip's id, kept in its deletion audit rows, is never
    # given to another clip (SQLite would otherwise reuse the highest id once it is deleted).
    __table_args__ = (UniqueConstraint("session_id", "ad_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("panel_session.id", ondelete="CASCADE"), index=True
    )
    ad_id: Mapped[int] = mapped_column(ForeignKey("ad.id", ondelete="CASCADE"), index=True)
    status: Mapped[ClipStatus] = mapped_column(
        Enum(ClipStatus, native_enum=False, length=20), default=ClipStatus.UPLOADING, index=True
    )
    mime_type: Mapped[str] = mapped_column(String(100))
    bytes_received: Mapped[int] = mapped_column(default=0)
    chunks_received: Mapped[int] = mapped_column(default=0)
    # Set by the recorder's "finish": how many chunks the clip has in all.
    expected_chunks: Mapped[int | None]
    # Finished by the server after the upload went idle (the tab closed before "finish"): the
    # clip is what arrived, its recording may end before its playback events do.
    auto_finished: Mapped[bool] = mapped_column(default=False, server_default=false())
    sha256: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Data quality, filled by the analysis.
    usable: Mapped[bool | None]
    exclusion_reason: Mapped[str | None] = mapped_column(String(40))
    face_found_share: Mapped[float | None]
    n_frames: Mapped[int | None]
    duration_s: Mapped[float | None]
    # Provenance of the curves: which model and code made them.
    analysis_version: Mapped[str | None] = mapped_column(String(200))
    # Which model files (sha256), package versions, code version and settings made the curves:
    # shared by every clip analysed alike, so kept once in its own table, not per clip.
    provenance_id: Mapped[int | None] = mapped_column(
        ForeignKey("analysis_provenance.id", ondelete="SET NULL"), index=True
    )

    # True while this clip's seconds are counted in its ad's aggregates (withdrawal subtracts).
    aggregated: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Last successful hand-over to the broker; None while queued means "enqueue again".
    enqueued_at: Mapped[datetime | None]
    # A worker's lease on the clip: the Celery task id and when it started (expired → reclaimable).
    processing_token: Mapped[str | None] = mapped_column(String(64))
    processing_started_at: Mapped[datetime | None]
    analysed_at: Mapped[datetime | None]
    video_deleted_at: Mapped[datetime | None]
    # The clip's random data key, wrapped by a key derived from the server secret (web.clips.keys).
    # Every stored chunk is sealed with it; set to None in the transaction that audits the
    # video's deletion, so any copy of the chunks left anywhere is noise from then on.
    data_key: Mapped[str | None] = mapped_column(String(80))

    session: Mapped[PanelSession] = relationship(back_populates="clips")
    chunks: Mapped[list[Chunk]] = relationship(
        back_populates="clip", cascade="all, delete-orphan", order_by="Chunk.index"
    )
    events: Mapped[list[PlaybackEvent]] = relationship(
        back_populates="clip", cascade="all, delete-orphan", order_by="PlaybackEvent.seq"
    )


class Chunk(Base):
    """Receipt of one ~1 s chunk; its bytes are sealed in the clip store (web.clips.objects)."""

    __tablename__ = "chunk"
    __table_args__ = (UniqueConstraint("clip_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    index: Mapped[int]
    bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    clip: Mapped[Clip] = relationship(back_populates="chunks")


class PlaybackEvent(Base):
    """Ad playback event; clip_ms is recording time, ad_ms the ad's currentTime."""

    __tablename__ = "playback_event"
    __table_args__ = (UniqueConstraint("clip_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[PlaybackEventKind] = mapped_column(
        Enum(PlaybackEventKind, native_enum=False, length=20)
    )
    clip_ms: Mapped[float]
    ad_ms: Mapped[float]

    clip: Mapped[Clip] = relationship(back_populates="events")


class DeletionAudit(Base):
    """One row per deleted video file: what, how big, why, when. Never the content."""

    __tablename__ = "deletion_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the clip row itself may be erased later, the audit stays.
    # None for a stray file the sweeper found with no clip row at all.
    clip_id: Mapped[int | None] = mapped_column(index=True)
    # Whose clip it was (no foreign keys either): the receipt page lists a panelist's deletions
    # even after erasure removed the clip rows.
    session_id: Mapped[int | None] = mapped_column(index=True)
    ad_id: Mapped[int | None]
    # The clip's data key was destroyed in the same transaction: no copy of its chunks opens.
    key_destroyed: Mapped[bool] = mapped_column(default=False, server_default=false())
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int]
    reason: Mapped[str] = mapped_column(String(40))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClipSecond(Base):
    """One second of one panelist's curves, on ad time: a column per name in CURVE_METRICS.

    Expressions are None where the panelist was not attentive or the part of the face was
    hidden (unreadable), never zero.
    """

    __tablename__ = "clip_second"
    __table_args__ = (UniqueConstraint("clip_id", "second"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ad.id", ondelete="CASCADE"), index=True)
    second: Mapped[int]
    n_frames: Mapped[int] = mapped_column(default=0)
    # A second kept only as a mark (candor.quality.SECOND_FLAGS: "hidden", "sparse"): it holds
    # no values, so it is never aggregated, but the gap in the curve is explained.
    flag: Mapped[str | None] = mapped_column(String(10))


class ClipEmotionSecond(Base):
    """One second of one panelist's emotion curves (emotion mode only): EMOTION_METRICS."""

    __tablename__ = "clip_emotion_second"
    __table_args__ = (UniqueConstraint("clip_id", "second"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ad.id", ondelete="CASCADE"), index=True)
    second: Mapped[int]


class ClipRestLevel(Base):
    """A panelist's rest level of one expression in one clip (the least expressive level the
    analysis read the expression against, see worker.analysis.signals.finalise): one number,
    pooled (lowest) over the panelist's clips of a session, erased with the clip."""

    __tablename__ = "clip_rest_level"
    __table_args__ = (UniqueConstraint("clip_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(40))  # a name in candor.metrics.EXPRESSION_NAMES
    level: Mapped[float] = mapped_column(Double)


# One nullable float column per metric, added through the declarative class (SQLAlchemy appends
# it to the table and the mapper), so the names are written once, in candor/metrics.py.
for _metric in CURVE_METRICS:
    setattr(ClipSecond, _metric, mapped_column(_metric, Double, nullable=True))
for _metric in EMOTION_METRICS:
    setattr(ClipEmotionSecond, _metric, mapped_column(_metric, Double, nullable=True))
del _metric


class AnalysisProvenance(Base):
    """What made a clip's curves: each model file's sha256 and package version, the code
    version and the analysis settings. One row per distinct provenance, shared by every clip
    analysed alike (clip.provenance_id); nothing in it is about a panelist."""

    __tablename__ = "analysis_provenance"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the canonical JSON
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)


class AdAggregate(Base):
    """Running sums per ad, segment, metric and second: mean and CI come from n, sum, sumsq.

    segment_var/segment_value are "" for the whole sample. Withdrawal subtracts a clip's share.
    """

    __tablename__ = "ad_aggregate"
    __table_args__ = (
        UniqueConstraint("ad_id", "segment_var", "segment_value", "metric", "second"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ad.id", ondelete="CASCADE"), index=True)
    segment_var: Mapped[str] = mapped_column(String(64), default="")
    segment_value: Mapped[str] = mapped_column(String(200), default="")
    metric: Mapped[str] = mapped_column(String(32))
    second: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(default=0)
    sum: Mapped[float] = mapped_column(Float, default=0.0)
    sumsq: Mapped[float] = mapped_column(Float, default=0.0)
