"""How much recording one clip may hold: the ad's duration plus a margin.

The recorder records only while the ad plays (it pauses on a stall and stops on `ended`), in
slices of `chunkMs` (1 s by default, at least 250 ms) at `videoBitsPerSecond` (1 Mbit/s by
default). So a clip of an ad of D seconds is about D seconds long, in about D chunks, of about
D x 125 KB. The bound leaves room for what a real browser adds (the final slice at stop, a
slice cut short at each stall, keyframes over the target bitrate) and nothing like a recording
of another length:

- seconds:  D + clip_margin_s
- chunks:   ceil(seconds x clip_max_chunks_per_s)       (index 0 .. chunks-1)
- bytes:    ceil(seconds x clip_max_bitrate_bps / 8)

each also under the deployment-wide caps (max_chunks_per_clip, max_clip_bytes). A chunk past
the chunks or bytes bound is refused with 413 and a sentence naming the bound; playback
events past the seconds bound are refused the same way; the worker decodes no frame past the
seconds bound, and no more than seconds x MAX_DECODE_FPS frames whatever their timestamps say
(worker/analysis/decode.py), so a clip costs the worker at most what its ad is worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from web.settings import Settings


@dataclass(frozen=True)
class ClipBound:
    """What one clip of an ad may hold."""

    seconds: float
    chunks: int
    bytes: int

    def too_many_chunks(self, index: int) -> str | None:
        """Why chunk ``index`` is refused, or None."""
        if index < self.chunks:
            return None
        return (
            f"A clip of this ad holds at most {self.chunks} chunks "
            f"({round(self.seconds, 1):g} s of recording: the ad's length plus a margin)"
        )

    def too_many_bytes(self, total: int) -> str | None:
        """Why a clip of ``total`` bytes is refused, or None."""
        if total <= self.bytes:
            return None
        return (
            f"The clip would exceed {self.bytes} bytes, the most {round(self.seconds, 1):g} s of "
            "recording (the ad's length plus a margin) can hold"
        )

    def too_long(self, ms: float) -> str | None:
        """Why a playback event at ``ms`` of recording or of the ad is refused, or None."""
        if ms <= self.seconds * 1000:
            return None
        return (
            f"An event at {ms / 1000:g} s is past the end of this ad's recording "
            f"(at most {round(self.seconds, 1):g} s: the ad's length plus a margin)"
        )


def clip_bound(settings: Settings, ad_duration_s: float | None) -> ClipBound:
    """The bound for a clip of an ad lasting ``ad_duration_s`` (None or not finite: the
    deployment-wide caps alone)."""
    if ad_duration_s is None or not math.isfinite(ad_duration_s) or ad_duration_s < 0:
        return ClipBound(math.inf, settings.max_chunks_per_clip, settings.max_clip_bytes)
    seconds = float(ad_duration_s) + settings.clip_margin_s
    chunks = math.ceil(seconds * settings.clip_max_chunks_per_s)
    size = math.ceil(seconds * settings.clip_max_bitrate_bps / 8)
    return ClipBound(
        seconds=seconds,
        chunks=min(settings.max_chunks_per_clip, chunks),
        bytes=min(settings.max_clip_bytes, size),
    )
