"""Panel tests: a Redis queue of their own per test, so enqueued tasks can be inspected."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.conftest import TEST_REDIS_URL
from tests.support.stack import forget_queue
from web.settings import Settings

QueuedIds = Callable[[], list[int]]


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    queue = f"candor-test-{uuid.uuid4().hex[:12]}"
    yield settings.model_copy(update={"task_queue": queue})
    forget_queue(TEST_REDIS_URL, queue)


@pytest.fixture
def queued_ids(settings: Settings) -> Iterator[QueuedIds]:
    """The clip ids of analyze_clip tasks waiting in this test's Redis queue, oldest first."""
    client = redis.Redis.from_url(TEST_REDIS_URL)

    def ids() -> list[int]:
        found = []
        for raw in reversed(client.lrange(settings.task_queue, 0, -1)):
            envelope = json.loads(raw)
            assert envelope["headers"]["task"] == "candor.analyze_clip"
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            found.append(int(args[0]))
        return found

    yield ids
    client.close()
