"""Starting a panel session: consent text first, keyed respondent hashes, signed tokens, ads."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, inspect, select, text
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import PanelSession
from web.panel import tokens
from web.settings import Settings
from web.studies.models import AdOrder

API = panel.API


def _fielded(db_session: Session, n_ads: int = 2, **study_kwargs: object):  # type: ignore[no-untyped-def]
    study = make_study(db_session, **study_kwargs)
    ads = [make_ad(db_session, study, title=f"Ad {i}") for i in range(n_ads)]
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return study, ads, integration


def test_integration_shows_consent_text_in_the_panelists_language(
    client: TestClient, db_session: Session
) -> None:
    study, _ads, integration = _fielded(db_session)
    body = client.get(f"{API}/integrations/{integration.public_key}?locale=fr-CA").json()
    assert body["study_name"] == study.name
    assert body["locale"] == "fr"
    assert body["locales"] == ["en", "fr"]
    consent = body["consent"]
    assert consent["text"] == "J'accepte d'être filmé·e."
    assert consent["sha256"] == hashlib.sha256(consent["text"].encode()).hexdigest()
    # An unknown language falls back to the integration's default.
    assert (
        client.get(f"{API}/integrations/{integration.public_key}?locale=de").json()["locale"]
        == "en"
    )


def test_unknown_integration_is_404(client: TestClient, db_session: Session) -> None:
    response = client.get(f"{API}/integrations/nope")
    assert response.status_code == 404
    assert "integration" in response.json()["detail"]
    response = client.post(
        f"{API}/sessions", json={"integration": "nope", "respondent_id": "r1", "passthrough": {}}
    )
    assert response.status_code == 404


def test_session_start_stores_only_a_keyed_hash_of_the_respondent_id(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    _study, ads, integration = _fielded(db_session)
    raw_id = "respondent-7f3a-UNIQUE-MARKER"
    started = panel.start(client, integration, respondent_id=raw_id, passthrough={"age": "25-34"})
    row = db_session.scalar(select(PanelSession))
    assert row is not None
    expected = hmac.new(
        hashlib.sha256(f"respondent:{settings.secret_key}".encode()).digest(),
        raw_id.encode(),
        hashlib.sha256,
    ).hexdigest()
    assert row.respondent_hash == expected
    assert row.passthrough == {"age": "25-34"}
    assert started.ad_ids == [ad.id for ad in ads]
    # The raw id appears in no text column of any table.
    for table in inspect(db_session.get_bind()).get_table_names():
        columns = inspect(db_session.get_bind()).get_columns(table)
        for column in columns:
            if isinstance(column["type"], String | Text):
                hits = db_session.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE "{column["name"]}" LIKE :v'),
                    {"v": f"%{raw_id}%"},
                ).scalar_one()
                assert hits == 0, f"raw respondent id found in {table}.{column['name']}"


def test_undeclared_passthrough_variables_are_dropped(
    client: TestClient, db_session: Session
) -> None:
    _study, _ads, integration = _fielded(db_session)
    panel.start(client, integration, passthrough={"age": 31, "email": "x@example.org"})
    row = db_session.scalar(select(PanelSession))
    assert row is not None and row.passthrough == {"age": "31"}


@pytest.mark.parametrize(
    "body",
    [
        {"respondent_id": "r1"},
        {"integration": "k", "respondent_id": ""},
        {"integration": "k", "respondent_id": "r1", "passthrough": {"age": "x" * 201}},
        {"integration": "k", "respondent_id": "r1", "surprise": 1},
    ],
)
def test_bad_session_start_is_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post(f"{API}/sessions", json=body).status_code == 422


def test_random_ad_order_differs_between_panelists(client: TestClient, db_session: Session) -> None:
    _study, ads, integration = _fielded(db_session, n_ads=4, ad_order=AdOrder.RANDOM)
    orders = {tuple(panel.start(client, integration, f"r{i}").ad_ids) for i in range(20)}
    assert all(sorted(order) == sorted(ad.id for ad in ads) for order in orders)
    assert len(orders) > 1  # 20 draws of 24 orders all alike: p < 1e-25


def test_ad_video_url_plays_in_a_video_tag_with_range_requests(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    _study, ads, integration = _fielded(db_session, n_ads=1)
    payload = bytes(range(256)) * 40
    path = settings.ads_dir / ads[0].storage_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    video_url = panel.start(client, integration).body["ads"][0]["video_url"]
    assert "token=" in video_url
    full = client.get(video_url)
    assert full.status_code == 200 and full.content == payload
    assert full.headers["accept-ranges"] == "bytes"
    partial = client.get(video_url, headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206 and partial.content == payload[100:200]
    # A forged token, or one for another ad, is refused.
    forged = video_url.split("token=")[0] + "token=abc.def.ghi"
    assert client.get(forged).status_code == 401
    other = client.get(f"{API}/ads/{ads[0].id + 1}/video?token={video_url.split('token=')[1]}")
    assert other.status_code == 401


def test_missing_ad_file_is_404_not_500(client: TestClient, db_session: Session) -> None:
    _study, _ads, integration = _fielded(db_session, n_ads=1)
    video_url = panel.start(client, integration).body["ads"][0]["video_url"]
    assert client.get(video_url).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer forged.token.value", "Basic abc"])
def test_missing_or_forged_token_is_401(
    client: TestClient, db_session: Session, header: str | None
) -> None:
    _study, _ads, integration = _fielded(db_session)
    started = panel.start(client, integration)
    headers = {"Authorization": header} if header else {}
    response = client.post(f"{API}/sessions/{started.session_id}/withdraw", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_expired_token_is_401(
    client: TestClient, db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _study, _ads, integration = _fielded(db_session)
    started = panel.start(client, integration)
    row = db_session.scalar(select(PanelSession))
    assert row is not None
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - settings.session_token_ttl_seconds - 5)
    old_token, _ = tokens.session_token(settings, row.public_id)
    monkeypatch.setattr(time, "time", real_time)
    response = client.post(
        f"{API}/sessions/{started.session_id}/withdraw",
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_token_for_another_session_is_refused(client: TestClient, db_session: Session) -> None:
    _study, _ads, integration = _fielded(db_session)
    first = panel.start(client, integration, "r1")
    second = panel.start(client, integration, "r2")
    response = client.post(f"{API}/sessions/{second.session_id}/withdraw", headers=first.headers)
    assert response.status_code == 403


def test_cors_allows_the_recorder_on_other_origins_for_the_panel_api_only(
    client: TestClient, db_session: Session
) -> None:
    preflight = client.options(
        f"{API}/sessions",
        headers={"Origin": "https://survey.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    other = client.get("/healthz", headers={"Origin": "https://survey.example"})
    assert "access-control-allow-origin" not in other.headers


def test_receipt_codes_are_derived_and_tolerant_of_typing(
    settings: Settings, tmp_path: Path
) -> None:
    import uuid

    sid = uuid.uuid4()
    code = tokens.receipt_code(settings, sid)
    assert len(code) == 19 and code == tokens.receipt_code(settings, sid)
    typed = code.lower().replace("-", " ")
    assert tokens.receipt_hash(settings, typed) == tokens.receipt_hash(settings, code)
