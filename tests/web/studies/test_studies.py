"""Creating, listing and editing studies; the AI Act attestation is required."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, csrf_token, make_user
from tests.support.factories import make_study
from web.accounts.models import Organisation, User
from web.studies.models import AdOrder, Study

HTML = {"accept": "text/html"}


def _count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Study)) or 0


def test_create_study_page_requires_the_attestation(
    client: TestClient, db_session: Session, organisation: Organisation, owner: User
) -> None:
    form = {"name": "Spring", "ad_order": "random", "csrf_token": csrf_token(client)}
    refused = client.post(f"/orgs/{organisation.id}/studies/new", data=form, headers=HTML)
    assert refused.status_code == 400
    assert "not your organisation&#39;s employees or students" in refused.text
    assert 'value="Spring"' in refused.text
    assert _count(db_session) == 0

    created = client.post(
        f"/orgs/{organisation.id}/studies/new",
        data={**form, "attest_not_employees_or_students": "on"},
        headers=HTML,
        follow_redirects=False,
    )
    assert created.status_code == 303
    study = db_session.scalar(select(Study))
    assert study is not None and created.headers["location"] == f"/studies/{study.id}"
    assert study.ad_order == AdOrder.RANDOM
    assert study.attested_not_employees_or_students
    assert study.attested_by_id == owner.id and study.attested_at is not None
    assert study.emotion_mode is False


def test_create_study_api_requires_the_attestation(
    client: TestClient, db_session: Session, organisation: Organisation, owner: User
) -> None:
    url = f"/api/v1/orgs/{organisation.id}/studies"
    for body in ({"name": "S"}, {"name": "S", "attest_not_employees_or_students": False}):
        response = client.post(url, json=body, headers=csrf_headers(client))
        assert response.status_code == 422
    assert _count(db_session) == 0
    ok = client.post(
        url,
        json={"name": "S", "attest_not_employees_or_students": True},
        headers=csrf_headers(client),
    )
    assert ok.status_code == 201
    assert ok.json()["ad_order"] == "fixed"
    assert ok.json()["results_url"] == f"/studies/{ok.json()['id']}/results"


def test_study_list_shows_only_this_organisation(
    client: TestClient, db_session: Session, organisation: Organisation, owner: User
) -> None:
    make_study(db_session, organisation=organisation, name="Ours")
    other = make_user(db_session, email="other@example.org")
    make_study(db_session, organisation=other.memberships[0].organisation, name="Theirs")
    names = [s["name"] for s in client.get(f"/api/v1/orgs/{organisation.id}/studies").json()]
    assert names == ["Ours"]
    page = client.get(f"/orgs/{organisation.id}", headers=HTML)
    assert "Ours" in page.text and "Theirs" not in page.text
    assert 'href="/studies/' in page.text and "/results" in page.text


def test_edit_study(client: TestClient, db_session: Session, study: Study) -> None:
    response = client.patch(
        f"/api/v1/studies/{study.id}",
        json={"name": "Autumn", "ad_order": "random", "min_cell_size": 25},
        headers=csrf_headers(client),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["min_cell_size"]) == ("Autumn", 25)
    too_small = client.patch(
        f"/api/v1/studies/{study.id}", json={"min_cell_size": 3}, headers=csrf_headers(client)
    )
    assert too_small.status_code == 400 and "cannot go below 10" in too_small.json()["detail"]

    page = client.post(
        f"/studies/{study.id}/edit",
        data={"name": "", "csrf_token": csrf_token(client)},
        headers=HTML,
    )
    assert page.status_code == 400 and "This is required." in page.text
    page = client.post(
        f"/studies/{study.id}/edit",
        data={"name": "Winter", "ad_order": "fixed", "csrf_token": csrf_token(client)},
        headers=HTML,
        follow_redirects=False,
    )
    assert page.status_code == 303
    db_session.refresh(study)
    assert (study.name, study.ad_order) == ("Winter", AdOrder.FIXED)


def test_study_page_shows_no_emotion_mode(client: TestClient, study: Study) -> None:
    page = client.get(f"/studies/{study.id}", headers=HTML)
    assert page.status_code == 200
    assert "emotion" not in page.text.lower()
    assert "Upload an ad" in page.text
