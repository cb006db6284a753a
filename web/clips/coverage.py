"""Is a session's data usable? What the return status may say when the recorder ends it.

The recorder asks to end a session `complete` once it has shown every ad. That says the panelist
went through the flow, not that Candor holds anything an analyst can use: after a reload, a
closed-and-reopened tab or a tab hidden while the ad played, the only clip may cover a fraction
of its ad and be excluded as "incomplete" (candor.quality.MIN_AD_COVERAGE). The survey is told
the truth instead: `complete` only when at least one clip of the session is, or promises to be,
usable; otherwise `incomplete` (docs/panelist-api.md, README's return-URL placeholders).

A clip already analysed counts by its verdict (`usable`). A clip finished but not analysed yet
is judged by what its playback events say the panelist saw: the ad seconds that played in a
visible tab, between events (the same reading as worker/timemap.py, whose frames the analysis
maps onto ad time), must cover MIN_AD_COVERAGE of the ad. A stretch after the last event has no
known end (the recording was cut off: a reload, a closed tab) and counts for nothing. A clip with
no event at all is taken as the recorder's older protocol (the recording is the ad), as the
analysis takes it. The analysis may still exclude a promising clip (no face, too dark): that
shows in data quality; the survey hears at once only what is known at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from candor.quality import MIN_AD_COVERAGE
from candor.statuses import ClipStatus, PlaybackEventKind
from web.clips.models import Clip, PlaybackEvent

# The one column of the studies' `ad` table coverage reads, named as the clip's foreign key names
# the table: web.clips sits below web.studies and never imports it.
_AD = table("ad", column("id"), column("duration_s"))

PLAYING_ON = {PlaybackEventKind.START, PlaybackEventKind.RESUME}
PLAYING_OFF = {PlaybackEventKind.STALL, PlaybackEventKind.END}
# Finished by the recorder (or the idle job) and waiting for, or under, analysis.
PENDING = (ClipStatus.QUEUED, ClipStatus.PROCESSING)


Event = tuple[PlaybackEventKind, float, float]  # kind, clip_ms, ad_ms


def seen_seconds(events: Sequence[Event], duration_s: float) -> float:
    """Seconds of the ad seen in a visible tab, from (kind, clip_ms, ad_ms) events in order.

    Only stretches closed by a later event count: after the last one nothing is known."""
    intervals: list[tuple[float, float]] = []
    playing, visible = False, True
    for position, (kind, clip_ms, ad_ms) in enumerate(events):
        if kind in PLAYING_ON:
            playing = True
        elif kind in PLAYING_OFF:
            playing = False
        elif kind == PlaybackEventKind.HIDDEN:
            visible = False
        elif kind == PlaybackEventKind.VISIBLE:
            visible = True
        if position + 1 == len(events) or not (playing and visible):
            continue
        length = (events[position + 1][1] - clip_ms) / 1000
        start = max(0.0, ad_ms / 1000)
        end = min(duration_s, ad_ms / 1000 + length)
        if end > start:
            intervals.append((start, end))
    covered, reach = 0.0, 0.0
    for start, end in sorted(intervals):  # the union: a replayed second counts once
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return covered


def promises_usable(session: Session, clip: Clip, duration_s: float) -> bool:
    """True if the clip counts (analysed: its verdict) or should (pending: its playback)."""
    if clip.status == ClipStatus.DONE:
        return bool(clip.usable)
    if clip.status not in PENDING:
        return False  # still uploading (the end abandons it), failed or abandoned
    rows = session.execute(
        select(PlaybackEvent.kind, PlaybackEvent.clip_ms, PlaybackEvent.ad_ms)
        .where(PlaybackEvent.clip_id == clip.id)
        .order_by(PlaybackEvent.seq, PlaybackEvent.clip_ms)
    ).all()
    if not rows:
        return True
    events = [(PlaybackEventKind(kind), float(clip), float(ad)) for kind, clip, ad in rows]
    return seen_seconds(events, duration_s) >= MIN_AD_COVERAGE * duration_s


def any_usable(session: Session, panel_session_id: int) -> bool:
    """At least one clip of the session is usable, or promises to be."""
    clips = session.execute(
        select(Clip, _AD.c.duration_s)
        .join(_AD, _AD.c.id == Clip.ad_id)
        .where(Clip.session_id == panel_session_id)
        .order_by(Clip.id)
    ).all()
    return any(promises_usable(session, clip, float(duration)) for clip, duration in clips)
