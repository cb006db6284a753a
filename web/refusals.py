"""How the app answers a refused request, written once: the status of each kind of
`DomainError`, the one JSON body (`{"detail", "code", ...fields}`) and its headers. Read by the
app's handlers (`web/handlers.py`) and by the form helper (`web/forms.py`), which answers a
refused form with the same status; imports nothing but `web.errors`."""

from __future__ import annotations

from typing import Any

from web.errors import DomainError

# Each kind of refusal answered with one status, here and nowhere else.
STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "refused": 403,
    "not_found": 404,
    "gone": 410,
    "conflict": 409,
    "too_large": 413,
    "unsupported": 415,
    "rate_limited": 429,
}


# The code an error the framework raises (an unknown address, a wrong method, a malformed
# request) carries, so that every JSON error has the same two keys.
CODE_OF_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported",
    422: "invalid",
    429: "rate_limited",
}


def status_of(exc: DomainError) -> int:
    return STATUS[exc.kind]


def error_body(exc: DomainError) -> dict[str, Any]:
    """The one JSON error shape: `detail` (a sentence), `code`, then any fields."""
    return {"detail": exc.message, "code": exc.code, **exc.fields}


def error_headers(exc: DomainError) -> dict[str, str] | None:
    if exc.kind == "unauthorized":
        return {"WWW-Authenticate": "Bearer"}
    if exc.kind == "rate_limited":
        return {"Retry-After": str(exc.fields["retry_after"])}
    return None
