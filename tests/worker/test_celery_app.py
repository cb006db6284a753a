"""The worker's Celery app registers every task the web app and beat send by name."""

from __future__ import annotations

from web.clips.queue import ANALYZE_CLIP, FINISH_IDLE_CLIPS, REQUEUE_CLIPS, SWEEP


def test_the_tasks_are_registered_by_name() -> None:
    from worker.celery_app import app

    app.loader.import_default_modules()
    assert {ANALYZE_CLIP, SWEEP, REQUEUE_CLIPS, FINISH_IDLE_CLIPS} <= set(app.tasks)
