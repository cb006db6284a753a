"""The one designer action that erases panelist rows, "delete the sample panelists", erases the
demo's generated sessions only: a real panelist's session, clip and video stay (PRODUCT.md:
nobody but the panelist erases their data; only withdrawal and the receipt code do)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import SessionStatus
from tests.support import panel, stored
from tests.support.auth import csrf_token
from web.clips.models import Clip, PanelSession
from web.clips.samples import mark_sample
from web.settings import Settings
from web.studies.models import Ad, Integration, Study


def _recording(client: TestClient, integration: Integration, respondent: str) -> panel.Started:
    started = panel.start(client, integration, respondent_id=respondent)
    panel.consent(client, started)
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, [b"a" * 3000, b"b" * 3000])
    return started


def test_deleting_the_samples_leaves_every_real_panelist_untouched(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    study: Study,
    ad: Ad,
    integration: Integration,
) -> None:
    db_session.refresh(study)  # its ad, seen by the panel API
    real = _recording(client, integration, "R_real")
    sample = _recording(client, integration, "R_sample")
    mark_sample(db_session, uuid.UUID(sample.session_id))
    real_clip = db_session.scalar(
        select(Clip).join(PanelSession).where(PanelSession.public_id == uuid.UUID(real.session_id))
    )
    assert real_clip is not None
    answer = client.post(
        f"/studies/{study.id}/samples/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text
    db_session.expire_all()
    sessions = {s.public_id: s for s in db_session.scalars(select(PanelSession))}
    assert uuid.UUID(sample.session_id) not in sessions
    kept = sessions[uuid.UUID(real.session_id)]
    assert kept.status == SessionStatus.CONSENTED and kept.respondent_hash
    assert db_session.get(Clip, real_clip.id) is not None
    assert stored.has_video(settings, real_clip.public_id)
