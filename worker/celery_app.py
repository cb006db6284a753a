"""The worker's Celery app: the broker client of `web.clips.queue`, with the tasks and signals."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init, worker_ready

from web.clips import storage
from web.clips.queue import REQUEUE_CLIPS, make_celery
from worker import context

settings = context.default_settings()
app = make_celery(settings, include=["worker.tasks"])


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_connections_after_fork(**_kwargs: Any) -> None:
    """A forked pool process must not reuse the parent's database connections."""
    context.reset_after_fork()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _requeue_on_start(**_kwargs: Any) -> None:
    """Clips left queued while no worker (or no broker) was up are handed over again, and an
    opened clip a killed worker left on this host is removed."""
    # Past the lease, its claim is taken over: nobody is using that copy any more.
    storage.remove_stale_work_files(settings, settings.analysis_lease_seconds)
    app.send_task(REQUEUE_CLIPS, queue=settings.task_queue)  # by name, as the web app sends
