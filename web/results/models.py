"""Per-panelist curves on ad time and the per-ad aggregates maintained as clips finish.

Curve columns are made from `candor.metrics`, the one list of metric names: `clip_second` holds
every name in CURVE_METRICS, and `clip_emotion_second` every name in EMOTION_METRICS. Emotion
values live in their own table so that a clip of a study not in emotion mode has no
emotion-shaped row or column anywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Double, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from web.db import Base

__all__ = [
    "CURVE_METRICS",
    "EMOTION_METRICS",
    "AdAggregate",
    "AnalysisProvenance",
    "ClipEmotionSecond",
    "ClipSecond",
]


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
