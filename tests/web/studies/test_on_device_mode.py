"""On-device mode (issue 22): a study setting, off by default, not with emotion mode, fixed once a
panelist agreed; consent only to a text that describes it; the session says where the face
reader is; the server takes face records only from such a session, never video (and no records
from any other); the reader's files are served pinned and cacheable."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.ondevice import MIME_TYPE, MODEL_SHA256
from tests.support import panel
from tests.support.auth import csrf_headers
from tests.support.factories import add_consent_text, make_ad, make_integration
from web.accounts.models import Organisation
from web.clips.models import PanelSession
from web.ondevice import ASSETS, ASSETS_PREFIX, MODEL_NAME
from web.studies.consent_defaults import DEFAULT_LOCALES, default_consent
from web.studies.models import ConsentText, Integration, Study


def _switch(client: TestClient, study: Study, on: bool) -> object:
    return client.patch(
        f"/api/v1/studies/{study.id}", json={"on_device": on}, headers=csrf_headers(client)
    )


def _fieldable(db_session: Session, study: Study, described: bool = True) -> Integration:
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    if described:
        for locale in ("en", "fr"):
            text = add_consent_text(db_session, integration, locale, f"Numbers only ({locale}).", 2)
            text.on_device = True
        db_session.flush()
    db_session.refresh(study)
    return integration


def test_off_by_default_and_not_with_emotion_mode(
    client: TestClient, study: Study, organisation: Organisation
) -> None:
    assert client.get(f"/api/v1/studies/{study.id}").json()["on_device"] is False
    both = client.post(
        f"/api/v1/orgs/{organisation.id}/studies",
        json={
            "name": "Both",
            "attest_not_employees_or_students": True,
            "emotion_mode": True,
            "on_device": True,
        },
        headers=csrf_headers(client),
    )
    assert both.status_code == 422 and "emotion" in both.text
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    refused = client.patch(
        f"/api/v1/studies/{study.id}", json={"emotion_mode": True}, headers=csrf_headers(client)
    )
    assert refused.status_code == 400 and "device" in refused.json()["detail"]


def test_default_texts_say_the_video_never_leaves_the_device() -> None:
    for locale in DEFAULT_LOCALES:
        plain = default_consent(locale, organisation="Acme", contact="a@example.org")
        local = default_consent(
            locale, organisation="Acme", contact="a@example.org", on_device=True
        )
        assert local.on_device and not plain.on_device
        never = {"en": "The video never leaves your device", "fr": "ne quitte jamais"}[locale]
        assert never in local.consent_text and never not in plain.consent_text
        deleted = {"en": "The video is deleted", "fr": "La vidéo est supprimée"}[locale]
        assert deleted in plain.consent_text and deleted not in local.consent_text


def test_session_consent_and_uploads_follow_the_mode(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study)
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    started = panel.start(client, integration)
    reader = started.body["on_device"]
    assert reader["mime_type"] == MIME_TYPE and reader["model_sha256"] == MODEL_SHA256
    assert reader["assets"] == ASSETS_PREFIX and reader["library_version"] == "0.10.34"
    assert panel.consent(client, started)["status"] == "consented"
    assert db_session.scalar(select(PanelSession.on_device)) is True
    # Fixed once a panelist agreed.
    locked = _switch(client, study, False)
    assert locked.status_code == 409  # type: ignore[attr-defined]

    url = f"{panel.API}/sessions/{started.session_id}/clips"
    ad_id = started.ad_ids[0]
    for video in ("video/webm", "video/webm;codecs=vp9", "video/mp4"):
        refused = client.post(
            url, headers=started.headers, json={"ad_id": ad_id, "mime_type": video}
        )
        assert refused.status_code == 415 and "never video" in refused.json()["detail"]
    other = MIME_TYPE.replace("lib=0.10.34", "lib=1.0.0")
    refused = client.post(url, headers=started.headers, json={"ad_id": ad_id, "mime_type": other})
    assert refused.status_code == 415
    opened = client.post(
        url, headers=started.headers, json={"ad_id": ad_id, "mime_type": MIME_TYPE}
    )
    assert opened.status_code == 200, opened.text


def test_a_server_mode_session_takes_no_records_and_no_on_device_text(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study)  # its texts say "on device"; the study is not
    started = panel.start(client, integration)
    assert started.body["on_device"] is None
    text = started.body["consent"]
    refused = client.post(
        f"{panel.API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json={
            "consent_text_id": text["consent_text_id"],
            "text_sha256": text["sha256"],
            "locale": text["locale"],
            "decision": "agree",
        },
    )
    assert refused.status_code == 409 and "on our server" in refused.json()["detail"]
    for row in db_session.scalars(
        select(ConsentText).where(ConsentText.integration_id == integration.id)
    ):
        row.on_device = False
    db_session.flush()
    panel.consent(client, started)
    refused = client.post(
        f"{panel.API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": started.ad_ids[0], "mime_type": MIME_TYPE},
    )
    assert refused.status_code == 415 and "records video" in refused.json()["detail"]


def test_an_on_device_study_needs_a_text_that_describes_it(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study, described=False)
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    started = panel.start(client, integration)
    text = started.body["consent"]
    refused = client.post(
        f"{panel.API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json={
            "consent_text_id": text["consent_text_id"],
            "text_sha256": text["sha256"],
            "locale": text["locale"],
            "decision": "agree",
        },
    )
    assert refused.status_code == 409 and "on your device" in refused.json()["detail"]


def test_the_face_reader_is_served_pinned_and_cacheable(client: TestClient) -> None:
    for name, asset in ASSETS.items():
        response = client.get(f"{ASSETS_PREFIX}/{name}")
        assert response.status_code == 200, name
        assert hashlib.sha256(response.content).hexdigest() == asset.sha256
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["content-type"].startswith(asset.media_type)
    assert MODEL_NAME.startswith("face_landmarker-64184e22")
    for missing in ("vision_wasm_nosimd_internal.wasm", "vision_bundle.cjs", "..%2Fpackage.json"):
        assert client.get(f"{ASSETS_PREFIX}/{missing}").status_code == 404
    # The recorder's own module (the worker) is still served by the /recorder mount, with a CSP
    # of its own (a worker takes its script's): nothing but this origin, WebAssembly allowed.
    worker = client.get("/recorder/ondevice/face-worker.js")
    assert worker.status_code == 200
    policy = worker.headers["content-security-policy"]
    assert "connect-src 'self'" in policy and "'wasm-unsafe-eval'" in policy
    assert "default-src 'none'" in policy


def test_results_say_which_mode_made_the_curves(client: TestClient, study: Study) -> None:
    page = client.get(f"/results/studies/{study.id}", headers={"accept": "text/html"}).text
    assert "Analysed on each panelist's device" not in page
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    page = client.get(f"/results/studies/{study.id}", headers={"accept": "text/html"}).text
    assert "Analysed on each panelist's device" in page and "not measured" in page
