"""The one error shape: what a service refuses, said as a domain error that knows nothing of
HTTP. Each carries a kind (`code`: not_found, gone, conflict, refused, invalid, too_large,
rate_limited, unauthorized, forbidden, unsupported), which the app's one handler maps to a
status (`web/handlers.py`); a sentence for the person who made the request; and optional fields
(`missing` chunk indices, `retry_after`, the form `field` a message belongs beside...). A raise
may narrow the code a client reads (`Conflict("...", code="study_closed")`); its kind still
decides the status.
`web.ratelimit.RateLimited` and `web.studies.signing.ProofRefused` are two of them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refused request: its kind (`code`), a message, and optional fields."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.kind
        self.fields = fields


class Invalid(DomainError):
    """The input breaks a rule the message states."""

    kind = "invalid"


class Unauthorized(DomainError):
    """Who is asking is not known: no login, or a missing or expired token."""

    kind = "unauthorized"


class Forbidden(DomainError):
    """Known, but not allowed: a role too low, another session's token."""

    kind = "forbidden"


class Refused(DomainError):
    """The thing's state does not allow it (a withdrawn session, a proof that does not hold)."""

    kind = "refused"


class NotFound(DomainError):
    """No such thing, or not the asker's to see (never confirmed either way)."""

    kind = "not_found"


class Gone(DomainError):
    """It existed and no longer can be used: an invitation already used or expired."""

    kind = "gone"


class Conflict(DomainError):
    """Conflicts with the current state: already finished, a name in use, a race lost."""

    kind = "conflict"


class TooLarge(DomainError):
    """The body or file is larger than allowed."""

    kind = "too_large"


class Unsupported(DomainError):
    """A media type this endpoint does not take."""

    kind = "unsupported"
