"""Seed analysed panelists for results tests: clip rows, their seconds, and apply_clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from candor.metrics import EMOTION_METRICS
from candor.statuses import ClipStatus
from tests.support.factories import ClipRows, make_clip
from web.clips.aggregates import apply_clip
from web.clips.models import ClipEmotionSecond, ClipSecond
from web.studies.models import Ad


def add_panelist(
    session: Session,
    ad: Ad | None,
    curves: Mapping[str, Sequence[float | None]],
    passthrough: dict[str, Any] | None = None,
    preview: bool = False,
    **clip_fields: Any,
) -> ClipRows:
    """One analysed, usable panelist of `ad` whose seconds are `curves`, added to the aggregates
    (`preview`: a designer's preview run instead, which apply_clip leaves out). Emotion metrics
    among `curves` go to the clip's emotion rows, as the pipeline stores them in emotion mode."""
    rows = make_clip(session, ad, passthrough)
    rows.panel_session.is_preview = preview
    rows.clip.status = clip_fields.pop("status", ClipStatus.DONE)
    rows.clip.usable = clip_fields.pop("usable", True)
    rows.clip.face_found_share = clip_fields.pop("face_found_share", 1.0)
    for name, value in clip_fields.items():
        setattr(rows.clip, name, value)
    length = max(len(values) for values in curves.values())
    emotional = any(m in EMOTION_METRICS for m in curves)
    for second in range(length):
        values = {m: v[second] if second < len(v) else None for m, v in curves.items()}
        emotions = {m: values.pop(m) for m in EMOTION_METRICS if m in values}
        where = {"clip_id": rows.clip.id, "ad_id": rows.ad.id, "second": second}
        session.add(ClipSecond(**where, n_frames=30, **values))
        if emotional:
            session.add(ClipEmotionSecond(**where, **emotions))
    session.flush()
    if rows.clip.status == ClipStatus.DONE and rows.clip.usable is not False:
        # As the worker records it (worker/clip_job.py): counted iff apply_clip added cells.
        rows.clip.aggregated = apply_clip(session, rows.clip.id, +1) > 0
        session.flush()
    return rows


def flat(value: float | None, seconds: int) -> list[float | None]:
    return [value] * seconds
