"""The broker client is configured from Settings: JSON only, late acks, one task at a time."""

from __future__ import annotations

from pathlib import Path

from web.clips.queue import FINISH_IDLE_CLIPS, REQUEUE_CLIPS, SWEEP, make_celery
from web.settings import Settings


def test_configuration_from_settings(tmp_path: Path) -> None:
    redis = Settings(data_dir=tmp_path, broker_url="redis://127.0.0.1:6379/5", task_queue="q1")
    app = make_celery(redis)
    conf = app.conf
    assert conf.broker_url == "redis://127.0.0.1:6379/5"
    assert (conf.task_serializer, conf.result_serializer, conf.accept_content) == (
        "json",
        "json",
        ["json"],
    )
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "q1"
    assert (
        conf.broker_transport_options["visibility_timeout"]
        == redis.broker_visibility_timeout_seconds
    )
    schedule = {entry["task"] for entry in conf.beat_schedule.values()}
    assert schedule == {SWEEP, REQUEUE_CLIPS, FINISH_IDLE_CLIPS}
    assert {entry["schedule"] for entry in conf.beat_schedule.values()} == {
        redis.sweep_interval_seconds
    }


def test_embedded_default_is_kombus_sqlalchemy_transport_on_a_local_file(tmp_path: Path) -> None:
    app = make_celery(Settings(data_dir=tmp_path / "data"))
    assert app.conf.broker_url == f"sqla+sqlite:///{(tmp_path / 'data' / 'broker.db').resolve()}"
    # Its options go to create_engine, so it gets none of Redis's.
    assert app.conf.broker_transport_options == {}
