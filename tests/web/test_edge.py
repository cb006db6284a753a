"""The edge guard: control characters and integers past 32 bits get a 422 everywhere, never a 500
(issue 12 items 1 and 2: each of these answered 500 on PostgreSQL, or kept a panelist's video)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_headers, login, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import PanelSession
from web.settings import Settings

TOO_BIG = 2**31


def _assert_refused(response: object, where: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert isinstance(detail, list) and detail[0]["loc"][0] == where, detail


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/panel/integrations/a%00b",
        "/api/v1/panel/integrations/key?locale=e%00n",
        "/r/a%00b",
        "/erase?code=%01",
    ],
)
def test_control_characters_in_paths_and_queries_are_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    _assert_refused(response, "path" if "%00b" in path else "query")


def test_nul_in_a_json_body_is_refused_before_login(client: TestClient) -> None:
    headers = csrf_headers(client)
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "a\u0000b@example.org", "password": "x"},
        headers=headers,
    )
    _assert_refused(response, "body")


def test_nul_in_a_form_body_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"email": "a\u0000b@example.org", "password": "x"})
    _assert_refused(response, "body")


def test_lone_surrogate_in_json_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/panel/erase",
        content=b'{"receipt_code": "ABCD-\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    _assert_refused(response, "body")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/studies/{TOO_BIG}",
        f"/api/v1/ads/{TOO_BIG}/curves",
        f"/api/v1/orgs/{-TOO_BIG - 1}/studies",
        f"/api/v1/studies/1/integrations/{TOO_BIG}/consent/en/versions",
    ],
)
def test_ids_past_32_bits_in_paths_are_refused(
    client: TestClient, settings: Settings, db_session: Session, path: str
) -> None:
    login(client, settings, make_user(db_session))
    _assert_refused(client.get(path), "path")


def test_ids_past_32_bits_in_bodies_and_queries_are_refused(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    db_session.expire_all()
    started = panel.start(client, integration)
    consent = started.body["consent"]
    response = client.post(
        f"/api/v1/panel/sessions/{started.session_id}/consent",
        json={
            "consent_text_id": TOO_BIG,
            "text_sha256": consent["sha256"],
            "locale": "en",
            "decision": "agree",
        },
        headers=started.headers,
    )
    _assert_refused(response, "body")
    login(client, settings, make_user(db_session))
    _assert_refused(client.get(f"/api/v1/compare?ad_ids={TOO_BIG}"), "query")


def test_a_long_numeric_respondent_id_is_still_welcome(
    client: TestClient, db_session: Session
) -> None:
    """Only integer parameters are range-checked: a survey's long numeric id is text."""
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    response = client.get(f"/r/{integration.public_key}?rid=123456789012345&age=99999999999")
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["25\u000034", "25\r=1+1", "a\nb", "\t"])
def test_a_passthrough_value_with_a_control_character_starts_no_session(
    client: TestClient, db_session: Session, value: str
) -> None:
    """A NUL here once reached the worker, failed its save on PostgreSQL and kept the video."""
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    response = client.post(
        "/api/v1/panel/sessions",
        json={
            "integration": integration.public_key,
            "respondent_id": "r1",
            "passthrough": {"age": value},
        },
    )
    assert response.status_code == 422, response.text
    assert db_session.scalars(select(PanelSession)).all() == []


def test_the_openapi_document_bounds_integers_and_lists_errors(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    parameter = next(
        p
        for p in document["paths"]["/api/v1/studies/{study_id}"]["get"]["parameters"]
        if p["name"] == "study_id"
    )
    assert parameter["schema"]["maximum"] == 2**31 - 1
    responses = document["paths"]["/api/v1/studies/{study_id}"]["get"]["responses"]
    assert {"400", "401", "403", "404", "422"} <= set(responses)
    integration_in = document["components"]["schemas"]["IntegrationIn"]["properties"]
    assert {"type": "string", "description": "names separated by commas or spaces"} in (
        integration_in["passthrough_vars"]["anyOf"]
    )


def test_the_openapi_document_lists_the_headers_the_panel_api_reads_itself(
    client: TestClient,
) -> None:
    """The bearer token and X-Chunk-Sha256 are read from the headers directly (cheaper on the
    upload path than declared parameters); the document still shows them where they apply."""
    paths = client.get("/openapi.json").json()["paths"]

    def headers(path: str, method: str) -> set[str]:
        parameters = paths[f"/api/v1/panel{path}"][method].get("parameters", [])
        return {p["name"] for p in parameters if p["in"] == "header"}

    assert headers("/clips/{clip_id}/chunks/{index}", "put") == {"authorization", "x-chunk-sha256"}
    assert headers("/clips/{clip_id}/finish", "post") == {"authorization"}
    assert headers("/sessions/{session_id}/consent", "post") == {"authorization"}
    assert headers("/sessions", "post") == set()  # starts a session: no token yet
    assert headers("/ping", "get") == set()


def test_a_bad_consent_locale_answers_422_in_the_documented_list_shape(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    """Issue 12 item 8: this 422 had a string `detail` where the schema says a list."""
    user = make_user(db_session)
    study = make_study(db_session, user.memberships[0].organisation)
    integration = make_integration(db_session, study)
    login(client, settings, user)
    path = (
        f"/api/v1/studies/{study.id}/integrations/{integration.id}/consent/not-a-locale!/versions"
    )
    _assert_refused(client.get(path), "path")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_chunk_body_is_left_to_the_upload_whatever_its_content_type(
    client: TestClient, db_session: Session, content_type: str
) -> None:
    """The guard reads only bodies the route itself parses; a chunk is streamed by its route."""
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    db_session.expire_all()
    started = panel.start(client, integration)
    panel.consent(client, started)
    clip_id = panel.open_clip(client, started)
    response = client.put(
        f"/api/v1/panel/clips/{clip_id}/chunks/0",
        content=b"\x00\x1a\x45\xdf\xa3 video bytes with NULs \x00",
        headers={**started.headers, "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
