"""What every request must satisfy before any route sees it, written once for the whole app.

Two things the database refuses, refused here first with a 422 in FastAPI's own error shape:
control characters in text (PostgreSQL cannot store NUL; none has a use in a name, an id or a
survey value) and integers outside 32 bits (every id column is a 32-bit integer). Checked in
every path parameter, every query value and every JSON or form body, for every route, present
and future: the guard is an app-wide dependency, so a route cannot forget it. Chunk bodies
(binary, read by the route itself) are never touched, so the upload path pays only for its
path parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# C0 controls but tab, line feed and carriage return (text areas hold lines), DEL, and lone
# surrogates (a JSON "\ud800" decodes to one; no database encoding can store it).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_JSON_TYPES = ("application/json",)
_FORM_TYPE = "application/x-www-form-urlencoded"
_INTEGER = re.compile(r"^[+-]?\d+$")


def _error(loc: tuple[str | int, ...], msg: str, kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


def text_error(loc: tuple[str | int, ...], value: str) -> dict[str, Any] | None:
    """The error for a string holding a forbidden character, or None."""
    if FORBIDDEN_CHARACTERS.search(value) is None:
        return None
    return _error(loc, "Control characters are not allowed", "control_character", repr(value))


def integer_error(loc: tuple[str | int, ...], value: int) -> dict[str, Any] | None:
    if INT_MIN <= value <= INT_MAX:
        return None
    return _error(
        loc, f"Integers must lie between {INT_MIN} and {INT_MAX}", "integer_range", str(value)
    )


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[dict[str, Any]]:
    """Errors anywhere in a decoded JSON document: in keys, strings and integers."""
    if isinstance(value, str):
        error = text_error(loc, value)
        if error:
            yield error
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        error = integer_error(loc, value)
        if error:
            yield error
    elif isinstance(value, dict):
        for key, item in value.items():
            error = text_error((*loc, key), key)
            if error:
                yield error
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


def _parameter_errors(request: Request) -> Iterator[dict[str, Any]]:
    """Control characters in any path parameter or query name or value."""
    values = [(("path", k), v) for k, v in request.path_params.items() if isinstance(v, str)]
    values += [(("query", k), v) for k, v in request.query_params.multi_items()]
    for loc, value in values:
        error = text_error(loc, value) or text_error(loc, loc[1])
        if error:
            yield error


async def _body_errors(request: Request, route: Any) -> list[dict[str, Any]]:
    """Errors in a JSON or form body, read only where the route reads it anyway: a body the
    route streams itself (a chunk, whatever its content type) is left to the route."""
    declares_body = getattr(route, "body_field", None) is not None
    # HTML form pages (not in the API schema) read their form themselves, after this.
    reads_form = declares_body or not getattr(route, "include_in_schema", True)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_JSON_TYPES) and declares_body:
        body = await request.body()  # cached by Starlette: the route's own parsing reuses it
        if not body:
            return []
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return []  # the route's own parsing says what is wrong, in its own words
        return list(_walk(document, ("body",)))
    if content_type.startswith(_FORM_TYPE) and reads_form:
        form = await request.form()  # cached: CSRF checks and views read the same one
        return [
            error
            for key, value in form.multi_items()
            if isinstance(value, str)
            for error in (text_error(("body", key), value), text_error(("body", key), key))
            if error
        ]
    return []  # binary bodies (chunks, ad files) are the route's to read


async def edge_guard(request: Request) -> None:
    """App-wide dependency: 422 for control characters or out-of-range integers anywhere."""
    route = request.scope.get("route")
    errors = list(_parameter_errors(request))
    errors += _integer_parameter_errors(request, route)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        errors += await _body_errors(request, route)
    if errors:
        raise RequestValidationError(errors)


def _integer_parameter_errors(request: Request, route: Any) -> list[dict[str, Any]]:
    """Path and query parameters the route declares as integers, checked against 32 bits."""
    names = _integer_parameters(route) if route is not None else None
    if not names:
        return []
    errors = []
    for location, name in names:
        source = request.path_params if location == "path" else request.query_params
        raw = source.get(name)
        if isinstance(raw, str) and _INTEGER.match(raw.strip()):
            error = integer_error((location, name), int(raw))
            if error:
                errors.append(error)
    return errors


_INTEGER_PARAMETERS: dict[int, tuple[tuple[str, str], ...]] = {}


def _integer_parameters(route: Any) -> tuple[tuple[str, str], ...]:
    """(location, name) of the route's integer path and query parameters, worked out once."""
    key = id(route)
    cached = _INTEGER_PARAMETERS.get(key)
    if cached is not None:
        return cached
    dependant = getattr(route, "dependant", None)
    found: list[tuple[str, str]] = []
    for node in dependants(dependant) if dependant is not None else ():
        for location, fields in (("path", node.path_params), ("query", node.query_params)):
            for field in fields:
                if _is_integer(field.field_info.annotation):
                    found.append((location, field.alias))
    _INTEGER_PARAMETERS[key] = tuple(found)
    return _INTEGER_PARAMETERS[key]


def dependants(dependant: Any) -> Iterator[Any]:
    """A route's dependant and all its sub-dependencies, depth first."""
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    arguments = getattr(annotation, "__args__", ())
    return any(argument is int for argument in arguments)
