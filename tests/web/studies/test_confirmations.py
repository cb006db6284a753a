"""Destructive buttons ask first: deleting an ad, removing a member or leaving."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import make_user
from tests.support.factories import make_ad
from web.accounts.models import Organisation, Role, User
from web.studies.models import Study

HTML = {"accept": "text/html"}


class _Forms(HTMLParser):
    """The onsubmit attribute of each form, by action."""

    def __init__(self) -> None:
        super().__init__()
        self.onsubmit: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            values = dict(attrs)
            self.onsubmit[values.get("action") or ""] = values.get("onsubmit")


def _question(html: str, action: str) -> str:
    parser = _Forms()
    parser.feed(html)
    assert action in parser.onsubmit, list(parser.onsubmit)
    script = parser.onsubmit[action]
    assert script and script.startswith("return confirm(") and script.endswith(")"), script
    question: str = json.loads(script[len("return confirm(") : -1])
    return question


def test_deleting_an_ad_asks_first(client: TestClient, db_session: Session, study: Study) -> None:
    ad = make_ad(db_session, study, title='It\'s "new" <b>')
    db_session.refresh(study)  # the study's ad list, as a new request would load it
    html = client.get(f"/studies/{study.id}", headers=HTML).text
    question = _question(html, f"/studies/{study.id}/ads/{ad.id}/delete")
    # The title comes through whole: quotes cannot break out of the script or the attribute.
    assert question == 'Delete the ad “It\'s "new" <b>” and its video file? This cannot be undone.'


def test_removing_a_member_or_leaving_asks_first(
    client: TestClient, db_session: Session, owner: User, organisation: Organisation
) -> None:
    other = make_user(db_session, "olga@example.org", Role.ANALYST, organisation)
    html = client.get(f"/orgs/{organisation.id}/members", headers=HTML).text
    mine, theirs = (
        next(m for m in organisation.memberships if m.user_id == user.id) for user in (owner, other)
    )
    base = f"/orgs/{organisation.id}/members"
    assert _question(html, f"{base}/{mine.id}/remove") == f"Leave {organisation.name}?"
    assert _question(html, f"{base}/{theirs.id}/remove") == (
        f"Remove olga@example.org from {organisation.name}?"
    )
