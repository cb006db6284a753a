"""Data quality as an analyst reads it: erasures by receipt code counted apart from withdrawals,
and the recorder's decline reasons in words."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import login, make_user
from tests.support.factories import give_signing_secret, make_ad, make_integration, make_study
from web.settings import Settings
from web.studies.fieldwork import fieldwork


def test_erasures_by_receipt_are_not_withdrawals_and_decline_reasons_read_as_words(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    analyst = make_user(db_session)
    study = make_study(db_session, organisation=analyst.memberships[0].organisation)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    db_session.expire_all()

    withdrawing = panel.start(client, integration, respondent_id="w")
    panel.consent(client, withdrawing)
    withdrawn = client.post(
        f"/api/v1/panel/sessions/{withdrawing.session_id}/withdraw", headers=withdrawing.headers
    )
    assert withdrawn.status_code == 200
    for rid in ("e1", "e2"):
        erasing = panel.start(client, integration, respondent_id=rid)
        code = panel.consent(client, erasing)["receipt_code"]
        assert client.post("/api/v1/panel/erase", json={"receipt_code": code}).status_code == 200
    # A receipt used after the panelist already withdrew is still one withdrawal.
    both = panel.start(client, integration, respondent_id="both")
    code = panel.consent(client, both)["receipt_code"]
    client.post(f"/api/v1/panel/sessions/{both.session_id}/withdraw", headers=both.headers)
    client.post("/api/v1/panel/erase", json={"receipt_code": code})
    for rid, reason in (("d1", "privacy"), ("d2", "privacy"), ("d3", None)):
        declining = panel.start(client, integration, respondent_id=rid)
        response = client.post(
            f"/api/v1/panel/sessions/{declining.session_id}/consent",
            headers=declining.headers,
            json={
                "consent_text_id": declining.body["consent"]["consent_text_id"],
                "text_sha256": declining.body["consent"]["sha256"],
                "locale": "en",
                "decision": "decline",
                "reason": reason,
            },
        )
        assert response.status_code == 200

    login(client, settings, analyst)
    quality = client.get(f"/api/v1/studies/{study.id}/quality").json()
    assert (quality["withdrawn"], quality["erased_by_receipt"]) == (2, 2)
    # The same counts under sessions_by_status, which still adds up to every session.
    by_status = quality["sessions_by_status"]
    assert (by_status["withdrawn"], by_status["erased_by_receipt"]) == (2, 2)
    assert sum(by_status.values()) == quality["sessions"]
    page = client.get(f"/results/studies/{study.id}", headers={"accept": "text/html"}).text
    assert "<dd data-withdrawn>2</dd>" in page and "<dd data-erased>2</dd>" in page
    assert "<dt>Privacy</dt><dd>2</dd>" in page and "<dt>(no reason given)</dt><dd>1</dd>" in page


def test_restarted_panelists_are_counted_apart_and_decide_once(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """A panelist who started again, signed (without their resume token, or after the end),
    supersedes their earlier session: it is neither a withdrawal nor a second consent."""
    analyst = make_user(db_session)
    study = make_study(db_session, organisation=analyst.memberships[0].organisation)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    secret = give_signing_secret(db_session, integration)  # only signed starts supersede
    db_session.commit()
    db_session.expire_all()

    # r1 agreed, then opened the link again in another browser: a fresh start supersedes at once.
    panel.consent(client, panel.start(client, integration, respondent_id="r1", secret=secret))
    panel.consent(client, panel.start(client, integration, respondent_id="r1", secret=secret))
    # r2 finished, came back later and agreed again: superseded on agreeing.
    done = panel.start(client, integration, respondent_id="r2", secret=secret)
    panel.consent(client, done)
    client.post(
        f"/api/v1/panel/sessions/{done.session_id}/end",
        headers=done.headers,
        json={"status": "complete"},
    )
    panel.consent(client, panel.start(client, integration, respondent_id="r2", secret=secret))
    # r3 agreed, restarted, and said no the second time: one decision, "no".
    panel.consent(client, panel.start(client, integration, respondent_id="r3", secret=secret))
    panel.consent(
        client, panel.start(client, integration, respondent_id="r3", secret=secret), "decline"
    )
    # And one real withdrawal.
    leaving = panel.start(client, integration, respondent_id="w")
    panel.consent(client, leaving)
    client.post(f"/api/v1/panel/sessions/{leaving.session_id}/withdraw", headers=leaving.headers)

    login(client, settings, analyst)
    quality = client.get(f"/api/v1/studies/{study.id}/quality").json()
    assert (quality["restarted"], quality["withdrawn"], quality["erased_by_receipt"]) == (3, 1, 0)
    assert quality["sessions"] == 7
    assert quality["sessions_by_status"]["restarted"] == 3
    assert quality["sessions_by_status"]["withdrawn"] == 1
    assert sum(quality["sessions_by_status"].values()) == quality["sessions"]
    assert (quality["consented"], quality["declined"]) == (3, 1), "each panelist's last decision"
    work = fieldwork(db_session, study)
    assert (work.sessions, work.consented, work.declined) == (7, 3, 1), "the study page agrees"
    page = client.get(f"/results/studies/{study.id}", headers={"accept": "text/html"}).text
    assert "<dd data-restarted>3</dd>" in page and "<dd data-withdrawn>1</dd>" in page
    assert "Restarted (the panelist began again" in page
