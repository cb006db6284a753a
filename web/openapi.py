"""The OpenAPI document says what the API does: its errors, and the integers it takes.

FastAPI documents the success answer and 422 of each route; the other answers every Candor route
can give come from shared machinery (the edge guard, login, CSRF, bearer tokens, rate limits,
the one error shape), so they are added here from what each route depends on, once for all
routes, present and future.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from web.cookies import COOKIE_NAME
from web.edge import INT_MAX, INT_MIN, dependants

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "title": "Detail"},
        "code": {
            "type": "string",
            "title": "Code",
            "description": "What kind of refusal (web/errors.py: not_found, gone, conflict, "
            "refused, invalid, too_large, rate_limited, unauthorized, forbidden, unsupported), "
            "or a narrower reason where one is named (study_closed, session_conflict, "
            "signature_required, unknown_metric, not_a_video, csrf, ...)",
        },
    },
    "required": ["detail", "code"],
}
# A malformed request (FastAPI's 422) has the same two keys; its `detail` is the list of
# problems, each with where (`loc`) and what (`msg`).
_VALIDATION_CODE = {"type": "string", "title": "Code", "enum": ["invalid"]}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
# How a designer or analyst authenticates (web/accounts/tokens.py; the login cookie).
SECURITY_SCHEMES = {
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cnd_…",
        "description": "An API token made on /account: acts as its user in one organisation, "
        "with the user's role there; no CSRF token needed",
    },
    "loginCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "A browser's login; writes also need the X-CSRF-Token header "
        "(GET /api/v1/auth/csrf)",
    },
}
_USER_SECURITY: list[dict[str, list[str]]] = [{"apiToken": []}, {"loginCookie": []}]
_UNSAFE = {"post", "put", "patch", "delete"}
DESCRIPTIONS = {
    400: "Bad request: the body could not be read, or breaks a rule stated in the message",
    401: "Login required (cookie session or API token: an unknown or revoked token too), or a "
    "missing or expired panelist session token",
    403: "Not allowed: role too low, CSRF token missing or wrong, another session's token, or a "
    "start whose respondent signature or preview token does not hold (`code` says which)",
    404: "Not found, or not yours to see",
    410: "No longer usable (an invitation already used or expired)",
    409: "Conflicts with the current state (e.g. a clip already finished, a name in use)",
    413: "Body too large",
    429: "Too many attempts: wait the number of seconds in Retry-After",
}


def optional_header(name: str) -> dict[str, Any]:
    """An optional header parameter, for a header a route or dependency reads itself (straight
    from `request.headers`: a declared `Header()` costs FastAPI's generic parameter machinery
    on every request, which the chunk upload path cannot afford)."""
    title = "-".join(part.capitalize() for part in name.split("-"))
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}
    return {"name": name, "in": "header", "required": False, "schema": schema}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own error answers beyond those derived here."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": schema or _ERROR_REF}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return response


def _calls(route: Any) -> set[str]:
    """Names of the functions a route depends on, directly or not."""
    return {getattr(node.call, "__name__", "") for node in dependants(route.dependant)}


# Refusals a service gives that nothing in its route's signature shows, by path: an invitation's
# token may name no invitation (404), or one already used or expired (410).
KNOWN_REFUSALS = {
    "/api/v1/invites/accept": {404, 410},
    "/api/v1/invites/accept-new": {404, 410},
}


def _statuses(route: Any, method: str) -> set[int]:
    """The error answers a route can give, from its parameters and dependencies."""
    nodes = list(dependants(route.dependant))
    calls = _calls(route)
    statuses = {400}
    if any(node.path_params for node in nodes):
        statuses.add(404)
    if "current_user" in calls or "token_session" in calls:
        statuses |= {401, 403, 404}
    if "csrf_protect" in calls and method in _UNSAFE:
        statuses.add(403)
    if method in _UNSAFE:
        statuses.add(409)
    return statuses | KNOWN_REFUSALS.get(route.path_format, set())


def _bound_integers(node: Any) -> None:
    """Every integer the API takes is 32-bit (the edge guard refuses others): say so."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT_MIN)
            node.setdefault("maximum", INT_MAX)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def install(app: FastAPI) -> None:
    """Replace app.openapi with one that documents every error answer (built once, cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR_SCHEMA
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"]["properties"]["code"] = _VALIDATION_CODE
        schema["components"]["securitySchemes"] = SECURITY_SCHEMES
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            path = schema["paths"].get(route.path_format, {})
            for method in route.methods or ():
                operation = path.get(method.lower())
                if operation is None:
                    continue
                if "token_session" in _calls(route):  # it reads the bearer token itself
                    operation.setdefault("parameters", []).append(optional_header("authorization"))
                if {"current_user", "optional_user"} & _calls(route):  # token or login
                    operation["security"] = _USER_SECURITY
                responses = operation.setdefault("responses", {})
                for status in sorted(_statuses(route, method.lower())):
                    responses.setdefault(str(status), _error_response(status, _ERROR_REF))
                for status, answer in responses.items():
                    # A route's own words for a refusal ({413: {"description": ...}}) keep
                    # the one body shape.
                    if status.startswith("4") and "content" not in answer:
                        answer["content"] = {"application/json": {"schema": _ERROR_REF}}
        for operation in (op for p in schema["paths"].values() for op in p.values()):
            for parameter in operation.get("parameters", []):
                _bound_integers(parameter.get("schema"))
            _bound_integers(operation.get("requestBody"))
        for component in schema["components"]["schemas"].values():
            _bound_integers(component)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
