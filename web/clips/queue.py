"""The broker: the Celery client the web app and the worker build from Settings, and the task
names both sides use (web sends by name and never imports the worker)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from celery import Celery

from web.settings import Settings

log = logging.getLogger(__name__)
ANALYZE_CLIP = "candor.analyze_clip"
SWEEP = "candor.sweep"
REQUEUE_CLIPS = "candor.requeue_clips"
FINISH_IDLE_CLIPS = "candor.finish_idle_clips"


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Redis: redelivery after the visibility timeout, and quick failure when it is down.

    kombu's SQLAlchemy transport passes its options to create_engine, so it gets none.
    """
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        return {
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        }
    return {}


def make_celery(settings: Settings, include: Sequence[str] = ()) -> Celery:
    """A Celery app for these settings: the worker runs it (with its task modules in `include`),
    the web app sends tasks by name."""
    if settings.resolved_broker_url.startswith("sqla+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("candor", broker=settings.resolved_broker_url, include=list(include))
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # A task is acknowledged only when done; a worker that dies mid-task gets it redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.task_queue,
        broker_transport_options=broker_transport_options(settings),
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        # Publishing gives up quickly: the web answers the panelist and the requeue job retries.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "candor-sweep": {"task": SWEEP, "schedule": settings.sweep_interval_seconds},
            "candor-requeue": {
                "task": REQUEUE_CLIPS,
                "schedule": settings.sweep_interval_seconds,
            },
            "candor-finish-idle": {
                "task": FINISH_IDLE_CLIPS,
                "schedule": settings.sweep_interval_seconds,
            },
        },
    )
    return app


_clients: dict[tuple[str, str, int], Celery] = {}
_lock = threading.Lock()


def celery_for(settings: Settings) -> Celery:
    """One Celery client per broker and queue (per process), configured like the worker."""
    key = (
        settings.resolved_broker_url,
        settings.task_queue,
        settings.broker_visibility_timeout_seconds,
    )
    with _lock:
        if key not in _clients:
            _clients[key] = make_celery(settings)
        return _clients[key]


def enqueue_analysis(settings: Settings, clip_id: int) -> bool:
    """Send analyze_clip; False (logged) if the broker cannot be reached — the clip stays queued
    and the periodic requeue job sends it once the broker is back."""
    try:
        celery_for(settings).send_task(ANALYZE_CLIP, args=[clip_id], queue=settings.task_queue)
    except Exception:  # broker down or misconfigured: never lose the upload over it
        log.warning("broker unavailable; clip %s stays queued for the requeue job", clip_id)
        return False
    return True
