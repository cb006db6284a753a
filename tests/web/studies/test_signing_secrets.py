"""A designer makes, rotates and retires an integration's signing secret, and can require
signed respondent ids; the secret is shown once and never answered again."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_headers, csrf_token
from web.accounts.models import User
from web.studies.models import Ad, Integration, Study

HTML = {"accept": "text/html"}


def _base(study: Study, integration: Integration) -> str:
    return f"/api/v1/studies/{study.id}/integrations/{integration.id}"


def test_a_secret_is_shown_once_rotated_and_retired(
    client: TestClient,
    owner: User,
    study: Study,
    integration: Integration,
    ad: Ad,
    db_session: Session,
) -> None:
    db_session.refresh(study)  # with its ad
    base = _base(study, integration)
    first = client.post(f"{base}/signing-secret", headers=csrf_headers(client))
    assert first.status_code == 201
    old = first.json()["secret"]
    assert first.json()["previous_still_valid"] is False
    shown = client.get(base).json()
    assert shown["has_signing_secret"] is True and old not in str(shown)
    assert "signing_secret" not in shown

    second = client.post(f"{base}/signing-secret", headers=csrf_headers(client)).json()
    assert second["previous_still_valid"] is True and second["secret"] != old
    assert client.get(base).json()["rotation_in_progress"] is True
    key = integration.public_key
    assert panel.start(client, key, "R_1", secret=old).session_id  # both valid in rotation

    retired = client.delete(f"{base}/signing-secret/previous", headers=csrf_headers(client))
    assert retired.status_code == 204
    body = {"integration": key, "respondent_id": "R_2", **panel.signed(key, "R_2", old)}
    assert client.post(f"{panel.API}/sessions", json=body).status_code == 403
    assert panel.start(client, key, "R_2", secret=second["secret"]).session_id


def test_requiring_signatures_needs_a_secret_first(
    client: TestClient,
    owner: User,
    study: Study,
    integration: Integration,
    ad: Ad,
    db_session: Session,
) -> None:
    db_session.refresh(study)  # with its ad
    base = _base(study, integration)
    refused = client.patch(base, json={"require_signature": True}, headers=csrf_headers(client))
    assert refused.status_code == 409 and "signing secret" in refused.json()["detail"]
    client.post(f"{base}/signing-secret", headers=csrf_headers(client))
    ok = client.patch(base, json={"require_signature": True}, headers=csrf_headers(client))
    assert ok.status_code == 200 and ok.json()["require_signature"] is True
    unsigned = client.post(
        f"{panel.API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "R_1"},
    )
    assert unsigned.status_code == 403 and unsigned.json()["code"] == "signature_required"


def test_the_integration_page_makes_shows_once_and_requires(
    client: TestClient, owner: User, study: Study, integration: Integration
) -> None:
    page = f"/studies/{study.id}/integrations/{integration.id}"
    assert 'data-signing="none"' in client.get(page, headers=HTML).text
    form = {"csrf_token": csrf_token(client)}
    made = client.post(f"{page}/signing-secret", data=form, headers=HTML)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = re.search(r'id="signing-secret"[^>]*value="([^"]+)"', made.text)
    assert secret is not None
    shown = client.get(page, headers=HTML).text
    assert 'data-signing="available"' in shown and secret.group(1) not in shown
    required = client.post(
        f"{page}/signing-required", data={**form, "required": "1"}, headers=HTML,
        follow_redirects=False,
    )  # fmt: skip
    assert required.status_code == 303
    assert 'data-signing="required"' in client.get(page, headers=HTML).text
    forged = client.post(f"{page}/signing-secret", data={"csrf_token": "x"}, headers=HTML)
    assert forged.status_code == 403
