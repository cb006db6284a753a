"""Signed respondent ids (issue 19): the public key and a respondent id are no proof of who a
panelist is, so a start without a signature never erases, replaces or hides another session's
data (PRODUCT.md, privacy invariants); only a signed start (or the session's own resume token)
resumes, supersedes or erases."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, SessionStatus
from tests.support import panel
from tests.support.factories import (
    give_signing_secret,
    make_ad,
    make_integration,
    make_study,
    preview_token_for,
)
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, Clip, ClipSecond, DeletionAudit, PanelSession
from web.results.quality import quality
from web.settings import Settings
from web.studies.models import Integration
from web.studies.signing import rotate_secret, signature

API = panel.API


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _analysed(db_session: Session, clip_public_id: str) -> Clip:
    """The clip as the worker leaves it: three seconds of curves, counted unless a duplicate."""
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_public_id)))
    assert clip is not None
    db_session.add_all(
        ClipSecond(clip_id=clip.id, ad_id=clip.ad_id, second=s, attention=1.0, n_frames=15)
        for s in range(3)
    )
    clip.status, clip.usable, clip.video_deleted_at = ClipStatus.DONE, True, clip.created_at
    db_session.flush()
    clip.aggregated = apply_clip(db_session, clip.id, +1) > 0  # as worker/clip_job.py records
    db_session.flush()
    return clip


def _completed(
    client: TestClient,
    db_session: Session,
    integration: Integration,
    rid: str,
    secret: str | None = None,
) -> tuple[panel.Started, str, Clip]:
    started = panel.start(client, integration, rid, secret=secret)
    receipt = panel.consent(client, started)["receipt_code"]
    clip = _analysed(db_session, panel.open_clip(client, started))
    ended = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )
    assert ended.status_code == 200, ended.text
    return started, receipt, clip


def _snapshot(db_session: Session, session_public_id: str) -> tuple[object, ...]:
    """Everything an attack could take from a panelist: status, flags, curves, counts."""
    db_session.expire_all()
    row = db_session.scalar(
        select(PanelSession).where(PanelSession.public_id == uuid.UUID(session_public_id))
    )
    assert row is not None
    seconds = db_session.scalar(
        select(func.count())
        .select_from(ClipSecond)
        .join(Clip, Clip.id == ClipSecond.clip_id)
        .where(Clip.session_id == row.id)
    )
    counted = db_session.scalar(
        select(func.coalesce(func.max(AdAggregate.n), 0)).where(AdAggregate.segment_var == "")
    )
    return (
        row.status,
        row.superseded,
        row.erased_by_receipt,
        row.respondent_hash != "",
        row.receipt_hash is not None,
        seconds,
        counted,
    )


@pytest.mark.parametrize("victim_signed", [False, True], ids=["unsigned", "signed"])
def test_a_start_without_proof_never_erases_replaces_or_hides_another_session(
    client: TestClient, db_session: Session, victim_signed: bool
) -> None:
    """The privacy invariant: the attack of issue 19, every way it was tried."""
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    victim, receipt, _clip = _completed(
        client, db_session, integration, "R_1001", secret=secret if victim_signed else None
    )
    before = _snapshot(db_session, victim.session_id)
    assert before[5] == 3 and before[6] == 1, "three seconds of curves, one panelist counted"

    # Start, with no resume token and with a wrong one; agree; end; erase by its own receipt.
    for token in (None, "not-the-token"):
        attacker = panel.start(client, integration, "R_1001", resume_token=token)
        assert attacker.session_id != victim.session_id
        attacker_receipt = panel.consent(client, attacker)["receipt_code"]
        _analysed(db_session, panel.open_clip(client, attacker))
        erased = client.post(f"{API}/erase", json={"receipt_code": attacker_receipt})
        assert erased.status_code == 200
        assert _snapshot(db_session, victim.session_id) == before

    # The victim's own receipt still works, and says nothing of anyone else.
    assert client.post(f"{API}/erase", json={"receipt_code": receipt}).json()["erased"] is True
    assert _snapshot(db_session, victim.session_id)[5] == 0


def test_a_start_without_proof_leaves_a_live_recording_alone(
    client: TestClient, db_session: Session
) -> None:
    """Against a live panelist the attacker's start alone used to delete the clip."""
    integration = _integration(db_session)
    victim = panel.start(client, integration, "R_7")
    panel.consent(client, victim)
    clip_id = panel.open_clip(client, victim)
    panel.upload(client, victim, clip_id, [b"zero", b"one"])

    attacker = panel.start(client, integration, "R_7")
    panel.consent(client, attacker)
    assert panel.put_chunk(client, victim, clip_id, 2, b"two").status_code == 201
    finished = client.post(
        f"{API}/clips/{clip_id}/finish", headers=victim.headers, json={"chunk_count": 3}
    )
    assert finished.status_code == 202, finished.text
    assert db_session.scalar(select(func.count()).select_from(DeletionAudit)) == 0
    # Both sessions are live: unsigned starts of one id are each their own.
    statuses = db_session.scalars(select(PanelSession.status).order_by(PanelSession.id)).all()
    assert statuses == [SessionStatus.CONSENTED, SessionStatus.CONSENTED]


def test_a_signed_start_supersedes_a_live_session_of_that_respondent(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    first = panel.start(client, integration, "R_8")
    panel.consent(client, first)
    clip_id = panel.open_clip(client, first)
    panel.upload(client, first, clip_id, [b"zero"])

    second = panel.start(client, integration, "R_8", secret=secret)
    assert second.session_id != first.session_id
    assert panel.put_chunk(client, first, clip_id, 1, b"one").status_code in (403, 404)
    reasons = db_session.scalars(select(DeletionAudit.reason)).all()
    assert reasons == ["superseded"]


def test_duplicates_are_kept_flagged_and_counted_once(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    _completed(client, db_session, integration, "R_9")
    _completed(client, db_session, integration, "R_9")
    _completed(client, db_session, integration, "R_10")

    assert db_session.scalar(select(func.count()).select_from(PanelSession)) == 3
    assert db_session.scalar(select(func.count()).select_from(ClipSecond)) == 9, "none deleted"
    counted = db_session.scalar(select(func.max(AdAggregate.n)).where(AdAggregate.second == 0))
    assert counted == 2, "one clip per respondent id per ad: R_9 once, R_10 once"
    found = quality(db_session, integration.study_id)
    assert (found.duplicate_sessions, found.duplicate_clips_left_out) == (1, 1)
    assert found.sessions_by_status["withdrawn"] == 0


def _start_body(integration: Integration, rid: str, **extra: object) -> dict[str, object]:
    return {"integration": integration.public_key, "respondent_id": rid, **extra}


def test_bad_expired_or_missing_signatures_are_refused_with_a_clear_403(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    key = integration.public_key
    good = panel.signed(key, "R_1", secret)
    cases = {
        "signature_invalid": [
            {**good, "respondent_id": "R_2"},  # another id under R_1's signature
            {**good, "exp": good["exp"] + 1},
            {**good, "sig": "0" * 64},
            {"sig": good["sig"]},  # no exp
            panel.signed(key, "R_1", "not-the-secret"),
            panel.signed(key, "R_1", secret, ttl_s=400 * 86400),  # too far ahead
        ],
        "signature_expired": [panel.signed(key, "R_1", secret, ttl_s=-5)],
    }
    for code, bodies in cases.items():
        for extra in bodies:
            body = {**_start_body(integration, "R_1"), **extra}
            answer = client.post(f"{API}/sessions", json=body)
            assert answer.status_code == 403, (extra, answer.text)
            assert answer.json()["code"] == code and answer.json()["detail"]
    malformed = client.post(
        f"{API}/sessions", json={**_start_body(integration, "R_1"), **good, "sig": "xyz"}
    )
    assert malformed.status_code == 422
    assert db_session.scalar(select(func.count()).select_from(PanelSession)) == 0

    ok = client.post(f"{API}/sessions", json={**_start_body(integration, "R_1"), **good})
    assert ok.status_code == 201
    # The recorder may carry exp and sig as pass-through values (a link's query, data-vars).
    carried = {"exp": str(good["exp"]), "sig": good["sig"].upper()}
    via_vars = client.post(
        f"{API}/sessions", json=_start_body(integration, "R_1", passthrough=carried)
    )
    assert via_vars.status_code == 201, via_vars.text
    row = db_session.scalars(select(PanelSession).order_by(PanelSession.id.desc())).first()
    assert row is not None and row.signed and "sig" not in row.passthrough


def test_an_integration_that_requires_signing_refuses_unsigned_starts(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    integration.require_signature = True
    db_session.flush()
    answer = client.post(f"{API}/sessions", json=_start_body(integration, "R_1"))
    assert answer.status_code == 403 and answer.json()["code"] == "signature_required"
    assert panel.start(client, integration, "R_1", secret=secret).session_id


def test_the_signature_is_the_documented_hmac() -> None:
    """docs/panelist-api.md's worked example, to the character."""
    sig = signature("s3cr3t-from-the-integration-page", "kq3xT0pV9mLw2bYc", "R_1001", 1893456000)
    assert sig == "d76476dad8fa2b081f7be2673cf7d3a747d08c48f077f19e62ead5f76cb31bda"


def test_a_preview_needs_the_integration_pages_token(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    other = make_integration(db_session, integration.study)
    refused = {
        None: "preview_token_required",
        "forged": "preview_token_invalid",
        preview_token_for(other): "preview_token_invalid",
    }
    for token, code in refused.items():
        extra = {"preview": True} | ({"preview_token": token} if token else {})
        answer = client.post(f"{API}/sessions", json=_start_body(integration, "p-1", **extra))
        assert answer.status_code == 403 and answer.json()["code"] == code, answer.text
    ok = client.post(
        f"{API}/sessions",
        json=_start_body(
            integration, "p-1", preview=True, preview_token=preview_token_for(integration)
        ),
    )
    assert ok.status_code == 201 and ok.json()["preview"] is True


def test_rotation_keeps_the_previous_secret_until_it_is_retired(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    old = give_signing_secret(db_session, integration)
    new = give_signing_secret(db_session, integration)
    assert old != new
    assert panel.start(client, integration, "R_1", secret=old).session_id
    assert panel.start(client, integration, "R_2", secret=new).session_id
    integration.previous_signing_secret = None  # retired
    db_session.flush()
    body = {**_start_body(integration, "R_3"), **panel.signed(integration.public_key, "R_3", old)}
    assert client.post(f"{API}/sessions", json=body).status_code == 403
    assert old not in (integration.signing_secret or "") and new not in (
        integration.signing_secret or ""
    ), "stored wrapped, never as typed"


def test_a_secret_wrapped_under_another_server_secret_refuses_cleanly(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """After the server secret changed, old signing secrets sign nothing: a 403, never a 500."""
    integration = _integration(db_session)
    elsewhere = settings.model_copy(update={"secret_key": "another-server-secret-" + "x" * 20})
    secret = rotate_secret(elsewhere, integration)
    db_session.flush()
    body = {
        **_start_body(integration, "R_1"),
        **panel.signed(integration.public_key, "R_1", secret),
    }
    answer = client.post(f"{API}/sessions", json=body)
    assert answer.status_code == 403 and answer.json()["code"] == "signature_invalid"
