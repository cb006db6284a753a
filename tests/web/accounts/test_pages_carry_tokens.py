"""Every POST form the pages render carries a working CSRF token, as a browser would send it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.settings import Settings

HTML = {"accept": "text/html"}


class _Forms(HTMLParser):
    """Collects each POST form's action and the CSRF token inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.forms.append({"action": values.get("action"), "token": None})
        elif tag == "input" and values.get("name") == "csrf_token" and self.forms:
            self.forms[-1]["token"] = values.get("value")


def post_forms(page: str) -> list[dict[str, str | None]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def test_signup_with_the_token_from_the_page(client: TestClient) -> None:
    page = client.get("/signup", headers=HTML).text
    (form,) = post_forms(page)
    response = client.post(
        "/signup",
        data={
            "csrf_token": form["token"],
            "name": "Dana",
            "email": "dana@example.org",
            "password": "correct horse battery",
            "organisation_name": "Acme",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_every_post_form_has_a_valid_token(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    user = make_user(db_session)
    org = user.memberships[0].organisation
    study = make_study(db_session, organisation=org)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.expire_all()  # the factories added ads behind study.ads' back
    login(client, settings, user)
    pages = [
        f"/orgs/{org.id}/members",
        f"/orgs/{org.id}/studies/new",
        f"/studies/{study.id}",
        f"/studies/{study.id}/edit",
        f"/studies/{study.id}/integrations/new",
        f"/studies/{study.id}/integrations/{integration.id}/edit",
        f"/studies/{study.id}/integrations/{integration.id}/consent/en",
        "/logout",
        "/orgs/new",
    ]
    seen = 0
    for path in pages:
        forms = post_forms(client.get(path, headers=HTML).text)
        assert forms, path
        for form in forms:
            assert form["token"] and re.fullmatch(r"[0-9a-f]{64}", form["token"]), (path, form)
            seen += 1
    assert seen >= 12
    # And a token taken from a page is accepted (move the second ad up).
    forms = post_forms(client.get(f"/studies/{study.id}", headers=HTML).text)
    move = next(f for f in forms if str(f["action"]).endswith("/move"))
    response = client.post(
        str(move["action"]),
        data={"csrf_token": move["token"], "direction": "down"},
        follow_redirects=False,
    )
    assert response.status_code == 303
