"""Error pages for a logged-in browser, with the app's own per-request sessions (not the test
transaction): the session is closed by the time the page renders its header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from tests.support.auth import login, make_user
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import make_study
from web.accounts.models import Organisation, Role, User
from web.app import create_app
from web.settings import Settings
from web.studies.models import Study

HTML = {"accept": "text/html"}


@pytest.fixture
def world(
    committed: tuple[Committed, Session],  # noqa: F811
) -> Iterator[tuple[User, Study, Study]]:
    """An analyst of one organisation (committed), its study, and another organisation's."""
    helper, session = committed
    organisation = Organisation(name="Acme Research")
    analyst = make_user(
        session, f"ana-{uuid.uuid4().hex[:8]}@acme.example", Role.ANALYST, organisation
    )
    own, other = make_study(session, organisation), make_study(session, Organisation(name="Other"))
    session.commit()
    yield analyst, own, other
    with helper.factory() as cleanup:
        cleanup.execute(delete(User).where(User.id == analyst.id))
        cleanup.commit()


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)  # no session override: each request opens and closes its own
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_error_pages_render_for_a_logged_in_user(
    live_client: TestClient, settings: Settings, world: tuple[User, Study, Study]
) -> None:
    analyst, own, other = world
    login(live_client, settings, analyst)
    pages = {
        f"/studies/{own.id}/edit": (403, "Not allowed"),  # an analyst may not edit
        f"/studies/{other.id}": (404, "Not found"),  # another organisation's study
        f"/results/ads/{10**9}": (404, "Not found"),
        "/no-such-page": (404, "Not found"),  # no route, so no dependency loaded the user
    }
    for path, (status, title) in pages.items():
        response = live_client.get(path, headers=HTML)
        assert response.status_code == status, (path, response.text[:300])
        assert f"<h1>{title}</h1>" in response.text, path
        header = response.text.split("</header>")[0]
        assert analyst.email in header and "Log out" in header, path
