"""The recorder's "left the page" beacon and its "back" call (POST /sessions/{id}/presence).

A closed tab used to leave its clip uploading until the idle job's `session_idle_seconds`
(15 minutes) had passed. Now the recorder sends a beacon when its page is hidden or goes away:

- every leave (the page hidden, or going away) marks the session as left (`left_at`); from then
  on the idle job finishes its uploading clips by the idle rules (chunks 0..n-1 kept, the rest
  deleted as a gap, no chunk 0: abandoned) once they have had no chunk for `left_idle_seconds`,
  instead of waiting for the whole session to be idle for `session_idle_seconds`. Chunks after
  the mark (one in flight as the page went away, a hidden tab recording on) keep a clip open
  only while they come: they extend it, they do not cancel the leave, so a hidden tab closed
  later while offline (no beacon of its own) is finished `left_idle_seconds` after its last
  chunk. A "back" (the tab shown again) or a resume (a reload) undoes the mark;
- a final leave (the page is being unloaded) also lists the clips whose recording is over (the
  ad ended, or the camera stopped) and whose every chunk the server acknowledged, with their
  playback events not yet sent: nothing more can come for them from that page, so the events
  are stored and each clip is finished at once, exactly as the recorder's own finish would (or
  abandoned with no chunk at all). A clip with chunks the page had not sent is not listed
  (they go with the page: the left rule, or the reloaded recorder, has it finished with what
  arrived), nor one cut off mid-ad (a reload may offer that ad again,
  web/clips/reoffer.py): the left rule finishes those.

Messages carry the client's sequence number: the left mark follows the newest one only, so a
replayed or overtaken message does not move it; a listed clip is finished only while it is still
uploading, so a replay finds nothing to do. A message for a session that is no longer live
changes nothing at all. A leave is
authenticated by the session's bearer token, like a chunk (a beacon sends no headers, so the
token may come in its body); without a valid one nothing changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import LIVE_SESSION, ClipStatus
from web.clips import lifecycle
from web.clips.bounds import clip_bound
from web.clips.deletion import remove_videos
from web.clips.models import Chunk, Clip, PanelSession
from web.db import utcnow
from web.errors import DomainError, NotFound
from web.panel.schemas import PlaybackEventIn, PresenceIn
from web.panel.uploads import add_events
from web.settings import Settings

# Chunks that commit this soon after the leave were in flight as the page went away.
IN_FLIGHT_SECONDS = 5


@dataclass
class Left:
    """What a leave did; `queued` are clip ids to hand to the broker after the commit."""

    taken: bool
    queued: list[int] = field(default_factory=list)
    abandoned: int = 0


def update(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: PresenceIn
) -> Left:
    """Left (`present: false`): mark the session left and finish the clips listed. Back
    (`present: true`): the session is no longer left.

    The mark follows the newest message only. The clips of a final leave are finished whatever
    order the beacons arrive in (a page going away sends two at once, which may overtake each
    other): that is idempotent by the clip's own state, so a replay finds them finished."""
    panel_session = session.scalar(
        select(PanelSession).where(PanelSession.public_id == session_public_id).with_for_update()
    )
    if panel_session is None:
        raise NotFound("No such session")
    if panel_session.status not in LIVE_SESSION:
        session.rollback()
        return Left(taken=False)
    listed: list[tuple[Clip, int, list[PlaybackEventIn]]] = []
    for item in body.clips:
        clip = session.scalar(
            select(Clip)
            .where(Clip.public_id == item.clip_id, Clip.session_id == panel_session.id)
            .with_for_update()
        )
        if clip is None:  # another session's clip is reported exactly like a missing one
            session.rollback()
            raise NotFound("No such clip in this session")
        listed.append((clip, item.chunk_count, item.events))
    outcome = Left(taken=body.seq > panel_session.presence_seq)
    if outcome.taken:
        panel_session.presence_seq = body.seq
        left = utcnow() + timedelta(seconds=IN_FLIGHT_SECONDS)
        panel_session.left_at = None if body.present else left
    removals: list[str] = []
    for clip, chunk_count, events in listed:
        if clip.status != ClipStatus.UPLOADING:
            continue  # finished meanwhile (the recorder's finish, the idle job): nothing to do
        try:
            add_events(
                session, clip, events, clip_bound(settings, lifecycle.ad_duration_s(session, clip))
            )
        except DomainError:
            session.rollback()
            raise
        received = list(
            session.scalars(
                select(Chunk.index).where(Chunk.clip_id == clip.id).order_by(Chunk.index)
            )
        )
        if received != list(range(chunk_count)):
            continue  # the server and the page disagree: the idle rules decide, soon
        if chunk_count == 0:  # opened, nothing recorded: nothing to analyse
            stored = lifecycle.abandon(session, settings, clip)
            removals += [stored] if stored is not None else []
            outcome.abandoned += 1
        else:
            lifecycle.finish(clip, chunk_count)
            outcome.queued.append(clip.id)
    session.commit()
    remove_videos(settings, removals)
    return outcome
