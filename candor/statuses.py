"""The clip's life as a contract: the states of a panelist's session and clip, the kinds of
playback event the recorder reports, why a video was deleted and what a worker's analysis job
came to. Pure data, like `candor.metrics`: the panel API, the worker and the results import these
names, and the database stores the member names (`Enum(..., native_enum=False)`).
"""

from __future__ import annotations

import enum


class SessionStatus(enum.StrEnum):
    STARTED = "started"
    CONSENTED = "consented"
    COMPLETE = "complete"
    # The panelist went through every ad but no clip is (or promises to be) usable: a reload,
    # a closed tab or a hidden tab cut the recording short (web/clips/coverage.py).
    INCOMPLETE = "incomplete"
    DECLINED = "declined"
    NO_CAMERA = "no_camera"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    # Ended by the idle job: no sign of life for session_idle_seconds (the tab was closed).
    ABANDONED = "abandoned"


# A respondent's session is "live" while it can still record: started or consented.
LIVE_SESSION = (SessionStatus.STARTED, SessionStatus.CONSENTED)


class ConsentDecision(enum.StrEnum):
    AGREE = "agree"
    DECLINE = "decline"


class ClipStatus(enum.StrEnum):
    UPLOADING = "uploading"  # chunks arriving
    QUEUED = "queued"  # finished by the recorder, analysis not yet enqueued or not yet started
    PROCESSING = "processing"
    DONE = "done"  # curves stored, video deleted
    FAILED = "failed"  # failed for good, video deleted, reason recorded
    ABANDONED = "abandoned"  # never finished; swept


# States a clip never leaves: its video is deleted (or due for deletion) in each.
TERMINAL_CLIP = (ClipStatus.DONE, ClipStatus.FAILED, ClipStatus.ABANDONED)


class PlaybackEventKind(enum.StrEnum):
    START = "start"
    STALL = "stall"
    RESUME = "resume"
    END = "end"
    HIDDEN = "hidden"
    VISIBLE = "visible"


class DeletionReason(enum.StrEnum):
    """Why a video was deleted (DeletionAudit.reason)."""

    ANALYSED = "analysed"  # curves stored, video no longer needed
    FAILED = "failed"  # analysis failed for good
    WITHDRAWN = "withdrawn"  # the panelist pressed "stop and delete"
    ERASED = "erased"  # erasure later, by receipt code
    SUPERSEDED = "superseded"  # the same respondent agreed again in a new session
    ABANDONED = "abandoned"  # never finished uploading (or nothing decodable: no chunk 0)
    GAP = "gap"  # chunks after a missing one, dropped when an idle upload was finished
    RESTARTED = "restarted"  # an interrupted take, replaced when the ad was offered again
    EXPIRED = "expired"  # older than the TTL, whatever its state
    SWEPT = "swept"  # leftover found by the sweeper (stray file, or a deletion that was cut short)
    SAMPLE_REMOVED = "sample_removed"  # the demo's generated panelists, removed by a designer


class WorkerOutcome(enum.StrEnum):
    """What one analysis task came to (the task's result)."""

    DONE = "done"  # curves stored, video deleted
    FAILED = "failed"  # failed for good, video deleted
    MISSING = "missing"  # no such clip (erased, or never created)
    BUSY = "busy"  # another worker holds a live claim: try again later
    SKIPPED = "skipped"  # not queued (already done, failed or abandoned)
    WITHDRAWN = "withdrawn"  # withdrawn during the analysis: results discarded
    SUPERSEDED = "superseded"  # another worker took the claim over: results discarded
