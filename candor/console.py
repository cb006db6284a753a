"""What `candor serve` lets through to its console from its children: what helps an operator
(startup, each clip's task, warnings and errors of our own), without the lines third-party
libraries print on every start or clip that say nothing actionable."""

from __future__ import annotations

import re
import sys
import threading
from typing import IO

# Lines dropped wherever they appear.
NOISE = re.compile(
    "|".join(
        (
            # mediapipe/TFLite, once per process and per model: internal C++ notices.
            r"inference_feedback_manager\.cc",
            r"landmark_projection_calculator\.cc",
            r"All log messages before absl::InitializeLog\(\) is called",
            r"Created TensorFlow Lite XNNPACK delegate",
            # The periodic jobs run every few seconds; their failures still show (as errors).
            r"Task candor\.(sweep|requeue_clips|finish_idle_clips)\[[^\]]*\] (received|succeeded)",
            r"Scheduler: Sending due task",
            r"^\s*_warn_or_raise_security_error\(",  # the source line after the root warning
        )
    )
)
# Celery's warning when the worker runs as root, several lines long, from its first line to its
# "User information" line (at most ROOT_WARNING_LINES). Serve is the single-machine default;
# deployments run workers as a user (compose.yml).
ROOT_WARNING_START = re.compile(r"SecurityWarning: You're running the worker with superuser")
ROOT_WARNING_END = re.compile(r"^User information: uid=")
ROOT_WARNING_LINES = 8


class LineFilter:
    """Decides line by line; holds the state of a multi-line warning being skipped."""

    def __init__(self) -> None:
        self.skipping = 0  # lines of the root warning still to skip at most

    def keep(self, line: str) -> bool:
        if self.skipping:
            self.skipping = 0 if ROOT_WARNING_END.search(line) else self.skipping - 1
            return False
        if ROOT_WARNING_START.search(line):
            self.skipping = ROOT_WARNING_LINES
            return False
        return not NOISE.search(line)


def relay(source: IO[bytes], target: IO[str] | None = None) -> threading.Thread:
    """Copy a child's output to the console through a LineFilter, on a daemon thread."""
    out = target or sys.stderr
    line_filter = LineFilter()

    def pump() -> None:
        for raw in iter(source.readline, b""):
            line = raw.decode("utf-8", "replace")
            if line_filter.keep(line):
                out.write(line)
                out.flush()
        source.close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread
