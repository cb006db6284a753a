"""Per-second curves from the per-frame table, on clip time or on any other clock (ad time)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from candor.metrics import EXPRESSION_NAMES
from worker.analysis.arrays import Array, Table
from worker.analysis.constants import EMOTION_COLUMNS, FRAME_COLUMNS, second_columns
from worker.analysis.errors import AnalysisError

TimeMap = Callable[[Array], Array]


def _share(mask: Array, bins: Array, within: Array, n: int) -> Array:
    """Per bin: share of ``within`` frames where mask holds; NaN for bins with none."""
    hits = np.bincount(bins[within & mask], minlength=n).astype(float)
    totals = np.bincount(bins[within], minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def per_second(frames: Table, time_map: TimeMap | None = None) -> Table:
    """Per-second curves: attention, expressions, blinks, face presence and bystander shares.

    ``time_map`` maps frame times (s, clip clock) to the clock to bin on, e.g. ad time; frames
    it maps to NaN or below 0 are dropped (a stall, time before the ad started). Bystander
    frames (two faces or more) count only towards ``bystander`` and ``n_frames``. Attention is
    the share of attentive frames; each expression is its mean over attentive frames (NaN when
    there are none); blinks are counted where they start (NaN when no face was seen). Emotion
    columns, when the frames have them (emotion mode), are averaged like the expressions.
    """
    missing = [name for name in FRAME_COLUMNS if name not in frames]
    if missing:
        raise AnalysisError(f"frame table lacks columns: {', '.join(missing)}")
    t = np.asarray(frames["t"], dtype=float)
    clock = t if time_map is None else np.asarray(time_map(t), dtype=float)
    if clock.shape != t.shape:
        raise AnalysisError(f"time_map returned shape {clock.shape} for {t.shape} frame times")
    keep = np.isfinite(clock) & (clock >= 0)
    bins = np.zeros(len(t), dtype=np.intp)
    bins[keep] = np.floor(clock[keep]).astype(np.intp)
    n = int(bins[keep].max()) + 1 if keep.any() else 0

    present = np.asarray(frames["face_present"], dtype=bool)
    bystander = np.asarray(frames["n_faces"]) >= 2
    attentive = np.asarray(frames["attentive"], dtype=bool) & ~bystander
    usable = keep & ~bystander
    blink = np.asarray(frames["blink"], dtype=bool)
    # A blink starts on a blink frame whose previous frame was not one (in clip order).
    onset = blink & ~np.concatenate([[False], blink[:-1]])

    seconds: Table = {
        "second": np.arange(n, dtype=np.int64),
        "n_frames": np.bincount(bins[keep], minlength=n).astype(np.int64),
        "attention": _share(attentive, bins, usable, n),
    }
    emotions = all(name in frames for name in EMOTION_COLUMNS)
    for name in (*EXPRESSION_NAMES, *(EMOTION_COLUMNS if emotions else ())):
        values = np.asarray(frames[name], dtype=float)
        take = usable & attentive & np.isfinite(values)
        sums = np.bincount(bins[take], weights=values[take], minlength=n)
        taken = np.bincount(bins[take], minlength=n).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            seconds[name] = np.where(taken > 0, sums / np.maximum(taken, 1), np.nan)
    seen = np.bincount(bins[usable & present], minlength=n)
    blinks = np.bincount(bins[usable & onset], minlength=n).astype(float)
    seconds["blinks"] = np.where(seen > 0, blinks, np.nan)
    seconds["face_present"] = _share(present, bins, usable, n)
    seconds["bystander"] = _share(bystander, bins, keep, n)
    return {name: seconds[name] for name in second_columns(emotions)}
