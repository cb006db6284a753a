"""`/erase`: a panelist deletes their recording and its measurements with the receipt code."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from web.clips import storage
from web.panel.models import Clip, PanelSession, SessionStatus
from web.settings import Settings


@pytest.fixture
def recorded(
    client: TestClient, db_session: Session, settings: Settings
) -> tuple[panel.Started, str, str]:
    """A consented panelist with a clip uploading (video on disk); their receipt code."""
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration, passthrough={"age": "18-24"})
    code = panel.consent(client, started)["receipt_code"]
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, [b"part one", b"part two"])
    assert storage.clip_dir(settings, clip_id).exists()
    return started, clip_id, code


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def _post(client: TestClient, code: str, locale: str = "en") -> tuple[int, str]:
    token = _token(client.get(f"/erase?locale={locale}").text)
    response = client.post(
        f"/erase?locale={locale}", data={"csrf_token": token, "receipt_code": code}
    )
    return response.status_code, response.text


def test_the_page_asks_for_the_code_in_the_panelists_language(client: TestClient) -> None:
    page = client.get("/erase")
    assert page.status_code == 200
    assert "Receipt code" in page.text and 'name="receipt_code"' in page.text
    # Panelists have no account: no log-in or sign-up links in their header.
    assert 'href="/signup"' not in page.text and 'href="/login"' not in page.text
    french = client.get("/erase", headers={"accept-language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert 'lang="fr"' in french.text and "Code de reçu" in french.text
    assert "Code de reçu" in client.get("/erase?locale=fr").text
    assert "Receipt code" in client.get("/erase?locale=de").text
    # A panelist who kept the code but not the address finds the page from the home page.
    assert 'href="/erase"' in client.get("/").text


def test_erasure_by_receipt_code_deletes_the_recording(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    recorded: tuple[panel.Started, str, str],
) -> None:
    started, clip_id, code = recorded
    typed = f" {code.lower().replace('-', ' ')} "  # as a person may type it back
    status, html = _post(client, typed)
    assert status == 200 and "Your data has been deleted" in html
    db_session.expire_all()
    assert db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id))) is None
    assert not storage.clip_dir(settings, clip_id).exists()
    row = db_session.scalars(
        select(PanelSession).where(PanelSession.public_id == uuid.UUID(started.session_id))
    ).one()
    assert row.status == SessionStatus.WITHDRAWN
    assert row.respondent_hash == "" and row.passthrough == {}
    # Asking again is harmless.
    assert _post(client, code, "fr")[0] == 200


def test_a_wrong_code_says_so_and_deletes_nothing(
    client: TestClient, settings: Settings, recorded: tuple[panel.Started, str, str]
) -> None:
    _started, clip_id, _code = recorded
    status, html = _post(client, "AAAA-BBBB-CCCC-DDDD")
    assert status == 404 and "No recording has this receipt code" in html
    assert 'value="AAAA-BBBB-CCCC-DDDD"' in html  # kept, to correct a typo
    status, html = _post(client, "ABC")
    assert status == 400 and "does not look like a receipt code" in html
    status, html = _post(client, "", "fr")
    assert status == 400 and "Saisissez le code" in html
    assert storage.clip_dir(settings, clip_id).exists()


def test_erasure_needs_the_pages_csrf_token(
    client: TestClient, settings: Settings, recorded: tuple[panel.Started, str, str]
) -> None:
    _started, clip_id, code = recorded
    client.get("/erase")
    response = client.post("/erase", data={"receipt_code": code})
    assert response.status_code == 403
    assert storage.clip_dir(settings, clip_id).exists()
