"""One error shape end to end: every operation of the OpenAPI document, asked wrongly three ways
(without a login, with ids that do not exist, with a body that is not the one it takes), answers
each refusal with the same JSON body, `{"detail": ..., "code": ...}`, and a status its entry in the
document lists.

Generic on purpose, like test_api_fuzz.py: the operations come from the app's own document at
run time, so an endpoint added later is walked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_token, login, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.csrf import CSRF_HEADER
from web.settings import Settings

UNKNOWN_ID = 2_147_483_647  # the largest id the edge guard lets through: no row has it
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@pytest.fixture
def owner(app: FastAPI, settings: Settings, db_session: Session) -> Iterator[dict[str, Any]]:
    """A logged-in owner's client with its CSRF header, and the ids of what they own."""
    with TestClient(app) as client:
        user = make_user(db_session, email="shape-owner@example.org")
        organisation = user.memberships[0].organisation
        study = make_study(db_session, organisation)
        ad = make_ad(db_session, study)
        integration = make_integration(db_session, study)
        db_session.commit()
        db_session.expire_all()  # study.ads was read before the ad existed
        login(client, settings, user)
        client.headers[CSRF_HEADER] = csrf_token(client)
        started = panel.start(client, integration)
        yield {
            "client": client,
            # The panelist API's bearer token, so its bodies are read too.
            "panel_headers": started.headers,
            "known": {
                "org_id": organisation.id,
                "organisation_id": organisation.id,
                "study_id": study.id,
                "ad_id": ad.id,
                "integration_id": integration.id,
                "locale": "en",
                "public_key": integration.public_key,
                "session_id": started.session_id,
            },
        }


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    paths = app.openapi()["paths"]
    return [
        (path, method.upper(), op) for path, item in paths.items() for method, op in item.items()
    ]


def _fill(path: str, known: dict[str, Any] | None = None) -> str:
    """The path with every parameter filled: a known id if given one, else one that exists
    nowhere."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if known and name in known:
            return str(known[name])
        return str(UNKNOWN_ID) if name.endswith("id") else "zz-unknown"

    return PARAM.sub(value, path)


def _shape_problem(method: str, path: str, op: dict[str, Any], response: Response) -> str | None:
    """What is wrong with a refusal's answer, or None (a success is not this test's business)."""
    status = response.status_code
    if not 400 <= status < 500:
        return None
    where = f"{method} {path} -> {status}"
    if str(status) not in op["responses"]:
        return f"{where}: the document does not list {status} (it lists {sorted(op['responses'])})"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{where}: not JSON ({response.headers.get('content-type')}): {response.text[:120]}"
    body = response.json()
    if not isinstance(body, dict) or not {"detail", "code"} <= body.keys():
        return f"{where}: not the error shape: {body!r:.200}"
    if not isinstance(body["code"], str) or not body["code"]:
        return f"{where}: `code` is not a word: {body!r:.200}"
    # A sentence; for a malformed request (422), FastAPI's list of where and what.
    detail_ok = isinstance(body["detail"], str) and body["detail"].strip()
    if status == 422:
        detail_ok = isinstance(body["detail"], list) and all(
            {"loc", "msg"} <= item.keys() for item in body["detail"]
        )
    if not detail_ok:
        return f"{where}: `detail` is not what it should be: {body!r:.200}"
    return None


def test_every_operation_refuses_in_one_shape(
    app: FastAPI, owner: dict[str, Any], db_session: Session
) -> None:
    operations = _operations(app)
    assert len(operations) > 40, "the OpenAPI document lost its operations"
    client: TestClient = owner["client"]
    problems: list[str] = []
    refusals = {"anonymous": 0, "unknown id": 0, "bad body": 0}
    with TestClient(app) as anonymous:
        for path, method, op in operations:
            # 1. Nobody logged in (no cookie, no token), ids that exist nowhere.
            asked = [("anonymous", anonymous.request(method, _fill(path)))]
            # 2. Logged in, ids that exist nowhere.
            if PARAM.search(path):
                asked.append(("unknown id", client.request(method, _fill(path))))
            # 3. Logged in, real ids, a body of the wrong kind (a list where one is expected).
            if "requestBody" in op:
                filled = _fill(path, owner["known"])
                headers = {"content-type": "application/json"}
                if path.startswith("/api/v1/panel/"):
                    headers |= owner["panel_headers"]
                response = client.request(method, filled, content=b"[1]", headers=headers)
                asked.append(("bad body", response))
            for case, response in asked:
                assert response.status_code < 500, f"{case}: {method} {path}: {response.text}"
                if response.status_code >= 400:
                    refusals[case] += 1
                problem = _shape_problem(method, path, op, response)
                if problem:
                    problems.append(f"{case}: {problem}")
            db_session.rollback()
    assert not problems, f"{len(problems)} answer(s) out of shape:\n" + "\n".join(problems)
    # The walk refused something in each way, or it proved nothing.
    assert all(count > 10 for count in refusals.values()), refusals


def test_every_documented_refusal_has_the_one_shape(app: FastAPI) -> None:
    """Each operation's listed 4xx answers point at the Error schema (422: FastAPI's list, with
    the same `code`), and refusals no signature shows are listed too (web/openapi.py)."""
    document = app.openapi()
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["required"]) == {"detail", "code"}
    assert "code" in schemas["HTTPValidationError"]["properties"]
    for path, method, op in _operations(app):
        for status, answer in op["responses"].items():
            if not status.startswith("4"):
                continue
            schema = answer["content"]["application/json"]["schema"]
            wanted = "HTTPValidationError" if status == "422" else "Error"
            assert schema == {"$ref": f"#/components/schemas/{wanted}"}, (method, path, status)
    accept = document["paths"]["/api/v1/invites/accept"]["post"]["responses"]
    assert {"404", "410"} <= accept.keys()
