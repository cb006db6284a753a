"""The headers a report's answers carry, written once per router: a route class adds them to
every answer of its routes, a refusal's included."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

# A shared report is for its recipient only: not cached, not indexed, its URL never sent on.
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
# A member's report and share page: theirs alone, kept by no cache.
PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}


def headed(headers: dict[str, str]) -> type[APIRoute]:
    """A route class whose every answer, a refusal's included, carries `headers`: a router's
    caching and referrer rules written once, not in each of its routes."""

    class Headed(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    response = await handler(request)
                except Exception as exc:
                    response = await _answered_by_app(request, exc)
                response.headers.update(headers)
                return response

            return answer

    return Headed


async def _answered_by_app(request: Request, exc: Exception) -> Response:
    """The answer `create_app`'s handler for this kind of exception gives (a refusal in the one
    error shape, a login page's redirect); an exception it has no handler for goes on up."""
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind in handlers:
            answered: Response = await handlers[kind](request, exc)
            return answered
    raise exc
