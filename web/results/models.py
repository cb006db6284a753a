"""Per-panelist curves on ad time and the per-ad aggregates maintained as clips finish."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from web.db import Base

# Per-second curve columns stored for every clip; the aggregate keeps one row per metric.
CURVE_METRICS = (
    "attention",
    "smile",
    "brow_raise",
    "brow_furrow",
    "jaw_drop",
    "blinks",
    "face_present",
    "bystander",
)


class ClipSecond(Base):
    """One second of one panelist's curves, on ad time. Expressions are None if not attentive."""

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
    attention: Mapped[float | None]
    smile: Mapped[float | None]
    brow_raise: Mapped[float | None]
    brow_furrow: Mapped[float | None]
    jaw_drop: Mapped[float | None]
    blinks: Mapped[float | None]
    face_present: Mapped[float | None]
    bystander: Mapped[float | None]


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
