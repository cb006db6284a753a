"""The worker's Celery app: the broker client of `web.clips.queue`, with the tasks and signals."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init, worker_ready

from web.clips.queue import make_celery
from web.settings import Settings

settings = Settings()
app = make_celery(settings, include=["worker.tasks"])


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_connections_after_fork(**_kwargs: Any) -> None:
    """A forked pool process must not reuse the parent's database connections."""
    from worker import context

    context.reset_after_fork()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _requeue_on_start(**_kwargs: Any) -> None:
    """Clips left queued while no worker (or no broker) was up are handed over again."""
    from worker.tasks import requeue_clips

    requeue_clips.delay()
