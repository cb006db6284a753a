"""Hand clips to the broker by task name (web never imports the analysis)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from web.settings import Settings

log = logging.getLogger(__name__)
ANALYZE_CLIP = "candor.analyze_clip"


_clients: dict[tuple[str, str, int], Any] = {}
_lock = threading.Lock()


def celery_for(settings: Settings) -> Any:
    """One Celery client per broker and queue (per process), configured like the worker."""
    from worker.celery_app import make_celery

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
