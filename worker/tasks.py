"""Celery tasks: thin, named by constant, taking ids; the work is in clip_job, idle and sweeper."""

from __future__ import annotations

import uuid
from typing import Any

import kombu.exceptions
import sqlalchemy.exc

from web.clips import idle
from web.clips import sweep as sweeper
from web.clips.queue import (
    ANALYZE_CLIP,
    FINISH_IDLE_CLIPS,
    REQUEUE_CLIPS,
    SWEEP,
    enqueue_analysis,
)
from worker import clip_job, context
from worker.celery_app import app

# Worth retrying: the database or broker was briefly unreachable. Anything else is final.
TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    kombu.exceptions.OperationalError,
)


@app.task(
    name=ANALYZE_CLIP,
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=10,
)  # type: ignore[untyped-decorator]
def analyze_clip(self: Any, clip_id: int) -> str:
    """Analyse one clip, store its curves on ad time, delete its video. Idempotent."""
    token = self.request.id or f"direct-{uuid.uuid4()}"
    outcome = clip_job.process_clip(
        int(clip_id), settings=context.settings(), factory=context.session_factory(), token=token
    )
    if outcome.retry_in is not None:  # another worker holds a live claim: look again later
        raise self.retry(countdown=outcome.retry_in)
    return str(outcome)


@app.task(name=SWEEP, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)  # type: ignore[untyped-decorator]
def sweep() -> str:
    """Delete any clip video older than the TTL, leftovers and strays."""
    return str(sweeper.sweep(settings=context.settings(), factory=context.session_factory()))


@app.task(name=REQUEUE_CLIPS, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)  # type: ignore[untyped-decorator]
def requeue_clips() -> int:
    """Hand queued clips the broker never got, or lost, to it again."""
    settings = context.settings()
    return sweeper.requeue_clips(
        settings=settings,
        factory=context.session_factory(),
        send=lambda clip_id: enqueue_analysis(settings, clip_id),
    )


@app.task(name=FINISH_IDLE_CLIPS, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)  # type: ignore[untyped-decorator]
def finish_idle_clips() -> str:
    """Finish uploads whose tab closed before "finish", from what arrived, and queue them; end
    the sessions left behind."""
    settings = context.settings()
    factory = context.session_factory()
    report = idle.finish_idle_clips(
        settings=settings,
        factory=factory,
        send=lambda clip_id: enqueue_analysis(settings, clip_id),
    )
    # After the clips: a session is ended only once nothing of it is uploading any more.
    ended = idle.end_idle_sessions(settings=settings, factory=factory)
    return f"{report}; sessions ended {ended}" if ended else str(report)
