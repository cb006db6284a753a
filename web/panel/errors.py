"""The one error type panel services raise; the API turns it into `{"detail": ...}` and a status."""

from __future__ import annotations

from typing import Any


class PanelError(Exception):
    """A refused panelist request: HTTP status, a sentence saying what was wrong, extra fields."""

    def __init__(self, status_code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.extra = extra
