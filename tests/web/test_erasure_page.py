"""`/erase`: a panelist deletes their recording and its measurements with the receipt code."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, SessionStatus
from tests.support import panel, stored
from tests.support.clips import make_webm, split
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import (
    Clip,
    ClipEmotionSecond,
    ClipSecond,
    DeletionAudit,
    PanelSession,
)
from web.settings import Settings
from worker import context
from worker.tasks import analyze_clip


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
    assert stored.has_video(settings, clip_id)
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
    assert not stored.has_video(settings, clip_id)
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
    assert stored.has_video(settings, clip_id)


def test_erasure_needs_the_pages_csrf_token(
    client: TestClient, settings: Settings, recorded: tuple[panel.Started, str, str]
) -> None:
    _started, clip_id, code = recorded
    client.get("/erase")
    response = client.post("/erase", data={"receipt_code": code})
    assert response.status_code == 403
    assert stored.has_video(settings, clip_id)


@pytest.fixture
def analysed(
    client: TestClient, db_session: Session, settings: Settings
) -> Iterator[tuple[str, str]]:
    """A panelist whose first recording was analysed by the worker (video deleted, curves kept)
    and whose second is still uploading; their receipt code and respondent id."""
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration, "respondent-4711", passthrough={"age": "18-24"})
    code = panel.consent(client, started)["receipt_code"]
    first, second = (panel.open_clip(client, started, ad) for ad in started.ad_ids)
    chunks = split(make_webm(seconds=2.0), 2)
    panel.upload(client, started, first, chunks)
    panel.upload(client, started, second, chunks[:1])
    client.post(
        f"/api/v1/panel/clips/{first}/events",
        headers=started.headers,
        json={"events": panel.playing_events(2000)},
    )
    finish = client.post(
        f"/api/v1/panel/clips/{first}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    assert finish.status_code in (200, 202), finish.text
    factory = sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint")
    context.configure(settings, factory)
    try:
        clip_id = db_session.scalar(select(Clip.id).where(Clip.public_id == uuid.UUID(first)))
        assert analyze_clip(clip_id) == "done"
        yield code, "respondent-4711"
    finally:
        context.configure(None)


def _show(client: TestClient, code: str, locale: str = "en") -> tuple[int, str]:
    token = _token(client.get(f"/erase?locale={locale}").text)
    response = client.post(
        f"/erase?locale={locale}",
        data={"csrf_token": token, "receipt_code": code, "action": "show"},
    )
    return response.status_code, response.text


def test_the_receipt_page_shows_what_is_held_and_when_the_video_was_deleted(
    client: TestClient, db_session: Session, analysed: tuple[str, str]
) -> None:
    code, respondent = analysed
    deleted_at = db_session.scalar(
        select(Clip.video_deleted_at).where(Clip.status == ClipStatus.DONE)
    )
    assert deleted_at is not None
    status, html = _show(client, code)
    assert status == 200
    assert "Recording 1" in html and "Recording 2" in html
    assert "Analysed into attention and expression curves." in html
    assert f"Video deleted on {deleted_at:%Y-%m-%d %H:%M:%S}." in html
    assert "encryption key was destroyed" in html
    assert re.search(r"Kept: \d+ seconds of curves", html)
    assert "Still being uploaded or analysed" in html  # the second recording
    assert "Delete the rest too" in html
    # Nothing identifying: not the respondent id, not a pass-through value, not an id of ours.
    assert respondent not in html and "18-24" not in html
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", html)

    # Erasing the rest: the curves go, the deletion times stay visible, in French too.
    token = _token(html)
    erased = client.post(
        "/erase?locale=fr", data={"csrf_token": token, "receipt_code": code, "action": "erase"}
    )
    assert erased.status_code == 200
    assert "Vos données ont été supprimées" in erased.text
    assert f"Vidéo supprimée le {deleted_at:%Y-%m-%d %H:%M:%S}." in erased.text
    assert "Sa clé de chiffrement a été détruite" in erased.text
    assert "secondes de courbes" not in erased.text
    # The time of the erasure, at the top and under what is held (issue 24.4).
    erased_at = db_session.scalar(
        select(func.max(DeletionAudit.deleted_at)).where(DeletionAudit.reason == "erased")
    )
    assert erased_at is not None
    told = re.search(r"Supprimé le (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \(UTC\)\.", erased.text)
    assert told, "the erasure's time is given"
    moment = datetime.strptime(told.group(1), "%Y-%m-%d %H:%M:%S")
    assert abs((moment - erased_at.replace(tzinfo=None, microsecond=0)).total_seconds()) <= 1
    assert (
        "Tout ce qui a été tiré de ces enregistrements a été supprimé le "
        f"{erased_at:%Y-%m-%d %H:%M:%S} (UTC)." in erased.text
    )
    assert db_session.scalars(select(ClipSecond)).all() == []
    status, again = _show(client, code)
    assert status == 200 and "Delete the rest too" not in again
    assert f"Video deleted on {deleted_at:%Y-%m-%d %H:%M:%S}." in again


def test_a_withdrawn_recording_reads_as_stopped_by_the_panelist(
    client: TestClient, recorded: tuple[panel.Started, str, str]
) -> None:
    started, _clip_id, code = recorded
    withdrawn = client.post(
        f"{panel.API}/sessions/{started.session_id}/withdraw", headers=started.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    status, html = _show(client, code)
    assert status == 200
    assert "You stopped this recording and had it deleted" in html
    assert "could not be" not in html
    assert re.search(r"was deleted on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\)", html)
    assert "Delete the rest too" not in html


def test_an_emotion_mode_panelist_is_told_their_emotion_curves_are_held(
    client: TestClient, db_session: Session, analysed: tuple[str, str]
) -> None:
    code, _respondent = analysed
    clip = db_session.scalar(select(Clip).where(Clip.status == ClipStatus.DONE))
    assert clip is not None
    row = db_session.scalar(select(PanelSession).where(PanelSession.id == clip.session_id))
    assert row is not None
    _status, plain = _show(client, code)
    assert "emotion" not in plain.lower(), "outside emotion mode no emotion words"
    row.emotion_mode = True
    for second in range(3):
        db_session.add(ClipEmotionSecond(clip_id=clip.id, ad_id=clip.ad_id, second=second))
    db_session.commit()
    status, html = _show(client, code)
    assert status == 200
    assert "Analysed into attention, expression and emotion curves." in html
    assert "Kept: 3 seconds of emotion curves" in html
    for name in ("joy", "contempt", "valence", "engagement"):
        assert name in html
    status, erased = _post(client, code)
    assert status == 200 and "seconds of emotion curves" not in erased
    assert db_session.scalars(select(ClipEmotionSecond)).all() == []
