"""The Celery app, configured from the same Settings as the web app. JSON only, late acks."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from web.settings import Settings


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


def make_celery(settings: Settings) -> Celery:
    """A Celery app for these settings: the worker runs it, the web app sends tasks by name."""
    if settings.resolved_broker_url.startswith("sqla+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("candor", broker=settings.resolved_broker_url, include=["worker.tasks"])
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
            "candor-sweep": {"task": "candor.sweep", "schedule": settings.sweep_interval_seconds},
            "candor-requeue": {
                "task": "candor.requeue_clips",
                "schedule": settings.sweep_interval_seconds,
            },
            "candor-finish-idle": {
                "task": "candor.finish_idle_clips",
                "schedule": settings.sweep_interval_seconds,
            },
        },
    )
    app.candor_settings = settings
    return app


settings = Settings()
app = make_celery(settings)


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
