"""A Celery app for tests whose analysis says when it starts and then waits, so a test can kill
the worker in the middle of a task (CANDOR_TEST_* variables set by the test)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from worker import analysis_adapter
from worker.celery_app import app

__all__ = ["app"]
_real_run = analysis_adapter.run


def _announced_run(path: Path, events: Any, ad_duration_s: float, **asked: Any) -> Any:
    started = os.environ.get("CANDOR_TEST_STARTED_FILE")
    if started:
        with open(started, "a") as handle:
            handle.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("CANDOR_TEST_ANALYSIS_DELAY", "0")))
    return _real_run(path, events, ad_duration_s, **asked)


analysis_adapter.run = _announced_run
