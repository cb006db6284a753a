"""/docs says how to authenticate: a bearer security scheme on every designer/analyst route, a
description on every operation, and curl examples that work as written."""

from __future__ import annotations

import json
import re
import shlex

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import make_user
from web.accounts.tokens import new_token
from web.settings import Settings
from web.studies.models import Study


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, object]]]:
    schema = client.get("/openapi.json").json()
    return [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


def test_every_operation_has_a_description(client: TestClient) -> None:
    missing = [f"{m.upper()} {p}" for m, p, op in _operations(client) if not op.get("description")]
    assert missing == []


def test_routes_that_need_a_login_take_an_api_token(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    secured = {p for m, p, op in _operations(client) if op.get("security")}
    assert "/api/v1/me" in secured and "/api/v1/orgs/{org_id}/studies" in secured
    assert "/api/v1/compare/differences" in secured
    # The panelist API and the login itself take no designer's token.
    assert not any(p.startswith("/api/v1/panel/") for p in secured)
    assert "/api/v1/auth/login" not in secured


def _curl_examples(description: str) -> list[list[str]]:
    block = re.search(r"```sh\n(.*?)```", description, re.S)
    assert block is not None, "the description shows its examples in a sh block"
    commands = block.group(1).replace("\\\n", " ").splitlines()
    return [shlex.split(c) for c in commands if c.startswith("curl ")]


def test_the_curl_examples_in_the_docs_work(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Each example run as a shell would, with the token and ORG_ID filled in (as the text
    says): curl's arguments become the same request through the test client."""
    owner = make_user(db_session)
    org_id = owner.memberships[0].organisation_id
    secret = new_token(
        session=db_session, settings=settings, user=owner, organisation_id=org_id, name="docs"
    ).secret
    description = client.get("/openapi.json").json()["info"]["description"]
    examples = _curl_examples(description)
    assert len(examples) == 2
    client.cookies.clear()
    for argv in examples:
        method, headers, body, url = "GET", {}, None, None
        args = iter(argv[1:])
        for arg in args:
            if arg == "-X":
                method = next(args)
            elif arg == "-H":
                name, _, value = next(args).partition(": ")
                headers[name] = value.replace("$CANDOR_TOKEN", secret)
            elif arg == "-d":
                body = next(args)
            else:
                url = arg
        assert url is not None and url.startswith(settings.base_url.rstrip("/"))
        path = url[len(settings.base_url.rstrip("/")) :].replace("ORG_ID", str(org_id))
        response = client.request(
            method, path, headers=headers, content=body.encode() if body else None
        )
        assert response.status_code in {200, 201}, (argv, response.text)
    created = db_session.scalar(select(Study))
    assert created is not None and created.name == json.loads(body or "{}")["name"]
