"""Fieldwork control: a target of usable panelists, integrations paused or closed by hand or at
the target (new sessions refused with code study_closed), completes over time, consent rate."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_token
from tests.support.factories import make_clip
from web.clips.models import PanelSession
from web.db import utcnow
from web.studies.fieldwork import fieldwork, usable_panelists
from web.studies.models import Ad, Integration, IntegrationStatus, Study

HTML = {"accept": "text/html"}
API = "/api/v1/panel"


def _start(client: TestClient, integration: Integration) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"{API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "r-1", "locale": "en"},
    )
    return response.status_code, response.json()


def _set_status(client: TestClient, integration: Integration, status: str) -> int:
    response = client.post(
        f"/studies/{integration.study_id}/integrations/{integration.id}/status",
        data={"status": status, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    return response.status_code


def _usable_panelist(db_session: Session, ad: Ad, *, preview: bool = False) -> None:
    rows = make_clip(db_session, ad)
    rows.clip.usable = True
    rows.clip.analysed_at = utcnow()
    rows.panel_session.is_preview = preview
    db_session.flush()


def test_a_paused_or_closed_integration_starts_no_session_and_says_so(
    client: TestClient, db_session: Session, ad: Ad, integration: Integration
) -> None:
    integration.return_url_template = "https://survey.example/back?s={status}"
    db_session.commit()
    db_session.expire_all()  # the factory read study.ads before adding the ad
    started = _start(client, integration)
    assert started[0] == 201, started

    for status in ("paused", "closed"):
        assert _set_status(client, integration, status) == 303
        code, body = _start(client, integration)
        assert code == 409
        assert body["code"] == "study_closed" and body["intake"] == status
        # The recorder returns to the survey with "closed", so it needs the template.
        assert body["return_url_template"] == "https://survey.example/back?s={status}"
        info = client.get(f"{API}/integrations/{integration.public_key}").json()
        assert info["intake"] == status
        page = client.get(f"/studies/{ad.study_id}/integrations/{integration.id}", headers=HTML)
        assert f'data-intake="{status}"' in page.text and "Reopen" in page.text
        assert "data-closed-by-target" not in page.text

    assert _set_status(client, integration, "open") == 303
    assert _start(client, integration)[0] == 201
    assert _set_status(client, integration, "maybe") == 400


def test_reaching_the_target_closes_intake_only_when_asked(
    client: TestClient, db_session: Session, study: Study, ad: Ad, integration: Integration
) -> None:
    db_session.expire_all()  # the factory read study.ads before adding the ad
    form = {"target_usable": "2", "csrf_token": csrf_token(client)}
    assert client.post(f"/studies/{study.id}/fieldwork", data=form).status_code == 200
    db_session.refresh(study)
    assert (study.target_usable, study.close_at_target) == (2, False)

    _usable_panelist(db_session, ad)
    _usable_panelist(db_session, ad, preview=True)  # a designer's preview counts nowhere
    assert usable_panelists(db_session, study.id) == 1
    _usable_panelist(db_session, ad)
    db_session.commit()
    assert usable_panelists(db_session, study.id) == 2
    assert _start(client, integration)[0] == 201, "at target, but closing was not asked for"

    form = {"target_usable": "2", "close_at_target": "on", "csrf_token": csrf_token(client)}
    client.post(f"/studies/{study.id}/fieldwork", data=form)
    code, body = _start(client, integration)
    assert code == 409 and body["intake"] == "closed"
    assert integration.status == IntegrationStatus.OPEN, "closed by the target, not by hand"
    page = client.get(f"/studies/{study.id}", headers=HTML).text
    assert 'data-intake="closed"' in page and "2 of 2 (100%)" in page
    # The integration's page offers no Pause or Close (they would change nothing) but says how
    # to take more panelists.
    page = client.get(f"/studies/{study.id}/integrations/{integration.id}", headers=HTML).text
    assert "data-closed-by-target" in page and "raise the target" in page
    assert 'value="paused"' not in page and 'value="closed"' not in page

    # Raising the target reopens intake by itself.
    form = {"target_usable": "3", "close_at_target": "on", "csrf_token": csrf_token(client)}
    client.post(f"/studies/{study.id}/fieldwork", data=form)
    assert _start(client, integration)[0] == 201


def test_bad_fieldwork_settings_are_refused_in_plain_words(
    client: TestClient, study: Study
) -> None:
    for target, close, message in [
        ("many", "", "The target must be a whole number, such as 200."),
        ("0", "", "The target must be a whole number from 1 to 1,000,000."),
        ("", "on", "Set a target to close the study automatically when it is reached."),
    ]:
        form = {"target_usable": target, "close_at_target": close, "csrf_token": csrf_token(client)}
        response = client.post(f"/studies/{study.id}/fieldwork", data=form)
        assert response.status_code == 400 and message in response.text


def test_completes_over_time_and_the_live_consent_rate(
    client: TestClient, db_session: Session, study: Study, ad: Ad, integration: Integration
) -> None:
    db_session.expire_all()  # the factory read study.ads before adding the ad
    db_session.commit()
    agreed = [panel.start(client, integration, respondent_id=f"a{i}") for i in range(3)]
    for started in agreed:
        panel.consent(client, started)
    declined = panel.start(client, integration, respondent_id="d1")
    panel.consent(client, declined, decision="decline")
    panel.start(client, integration, respondent_id="undecided")
    _usable_panelist(db_session, ad)
    preview = panel.start(client, integration, respondent_id="designer")
    db_session.commit()
    db_session.query(PanelSession).filter(PanelSession.public_id == preview.session_id).update(
        {"is_preview": True}
    )
    db_session.commit()

    counts = fieldwork(db_session, study)
    # Five started sessions plus the factory's usable one; the preview counts nowhere.
    assert (counts.sessions, counts.consented, counts.declined, counts.usable) == (6, 3, 1, 1)
    assert counts.consent_rate == 0.75
    assert counts.unit == "hour"
    assert sum(b.sessions for b in counts.buckets) == 6
    assert sum(b.consents for b in counts.buckets) == 3
    assert sum(b.usable for b in counts.buckets) == 1
    page = client.get(f"/studies/{study.id}", headers=HTML).text
    assert "75% (3 agreed of 4 who answered)" in page
    assert "<rect" in page and "usable clips" in page

    # A study fielded over more than three days is counted per day.
    for row in db_session.query(PanelSession).filter(PanelSession.study_id == study.id).limit(2):
        row.created_at = row.created_at - timedelta(days=5)
    db_session.commit()
    daily = fieldwork(db_session, study)
    assert daily.unit == "day" and len(daily.buckets) == 6
    assert sum(b.sessions for b in daily.buckets) == 6
