"""The result of analysing one clip: per-frame table, per-second curves, quality, provenance."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from candor.quality import ExclusionReason
from worker.analysis.arrays import Table
from worker.analysis.constants import EMOTION_COLUMNS, frame_columns, second_columns

Scalar = int | float | bool | None


@dataclass(frozen=True)
class Quality:
    """How usable the clip is, and why it is excluded if it is."""

    face_found_share: float  # frames with exactly one face
    bystander_share: float  # frames with two faces or more
    mean_brightness: float  # mean luma 0..255
    duration_s: float
    n_frames: int  # frames analysed
    exclusion_reason: ExclusionReason | None  # the contract the producers import (candor.quality)
    occluded_share: float = 0.0  # face frames whose mouth or eyes are hidden (hand, sunglasses)
    # On-device mode: the plausibility rules the record stream broke (ondevice.PLAUSIBILITY_RULES)
    stream_flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return asdict(self)


def _scalar(value: Any) -> Scalar:
    """A numpy cell as a plain Python value; NaN becomes None."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def records(table: Table, columns: tuple[str, ...]) -> list[dict[str, Scalar]]:
    """Rows of a columnar table as dicts of plain values (NaN → None)."""
    n = len(table[columns[0]]) if columns else 0
    return [{name: _scalar(table[name][i]) for name in columns} for i in range(n)]


@dataclass(frozen=True)
class AnalysisResult:
    """Everything the analysis of one clip produced."""

    frames: Table  # keys: frame_columns(emotions), one row per analysed frame
    seconds: Table  # keys: second_columns(emotions), one row per second of clip time
    quality: Quality
    provenance: dict[str, Any]

    @property
    def emotions(self) -> bool:
        """True when the analysis ran in emotion mode (the tables carry emotion columns)."""
        return EMOTION_COLUMNS[0] in self.seconds

    def seconds_records(self) -> list[dict[str, Scalar]]:
        """Per-second rows as dicts, None where a value is undefined."""
        return records(self.seconds, second_columns(self.emotions))

    def frame_records(self) -> list[dict[str, Scalar]]:
        """Per-frame rows as dicts, None where a value is undefined."""
        return records(self.frames, frame_columns(self.emotions))

    def to_dict(self, *, frames: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: seconds, quality, provenance (and frames if asked)."""
        out: dict[str, Any] = {
            "seconds": self.seconds_records(),
            "quality": self.quality.as_dict(),
            "provenance": self.provenance,
        }
        if frames:
            out["frames"] = self.frame_records()
        return out


def _cell(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != 0 else "0"
    return str(value)


def write_csv(table: Table, columns: tuple[str, ...], path: str | Path) -> None:
    """Write a columnar table as CSV (empty cell for undefined values, 0/1 for flags)."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in records(table, columns):
            writer.writerow([_cell(row[name]) for name in columns])
