"""The one way a page's form is answered when it is refused: read and validated, handed to a
service, and on a validation error or a refused request (a `DomainError`) shown again with the
message beside the field it belongs to and the refusal's status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Response
from pydantic import ValidationError

from web.csrf import CsrfRefused
from web.errors import DomainError
from web.pages import field_errors
from web.refusals import status_of

T = TypeVar("T")

# Shows the form again with {field: message} and answers with the status given.
Again = Callable[[dict[str, str], int], Response]


def submit(action: Callable[[], T], again: Again, *, field: str = "form") -> T | Response:
    """`action()`'s result, or the form again: a schema's field errors with a 400, a refused
    request's message beside the field it names (`field=` of the raise, else `field` here) with
    the status of its kind.

    A view returns the Response as it is and carries on with anything else:
        result = submit(lambda: service.x(data=Schema.model_validate(values)), again)
        if isinstance(result, Response):
            return result
    """
    try:
        return action()
    except ValidationError as exc:
        return again(field_errors(exc), 400)
    except DomainError as exc:
        return _again(exc, again, field)


async def submit_async(
    action: Callable[[], Awaitable[T]], again: Again, *, field: str = "form"
) -> T | Response:
    """`submit` for an action that must be awaited (an upload read from the request body)."""
    try:
        return await action()
    except ValidationError as exc:
        return again(field_errors(exc), 400)
    except DomainError as exc:
        return _again(exc, again, field)


def _again(exc: DomainError, again: Again, field: str) -> Response:
    if isinstance(exc, CsrfRefused):
        # Not the form's content but the page it came from (an upload checks its token as it
        # reads the body): the error page, as for any other form.
        raise exc
    return again({exc.fields.get("field", field): exc.message}, status_of(exc))
