"""The demo: an organisation, owner, study, a generated ad that plays, and an integration to try."""

from __future__ import annotations

import hashlib

import av
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import panel
from web.accounts.auth import verify_password
from web.accounts.models import Membership, Organisation, Role, User
from web.demo.seed import AD_SECONDS, DEMO_EMAIL, seed_demo
from web.settings import Settings
from web.studies.models import Ad, ConsentText, Integration, Study


def test_seeding_twice_makes_one_demo_with_a_playable_ad(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    first = seed_demo(db_session, settings)
    second = seed_demo(db_session, settings)
    assert first.integration_key == second.integration_key
    assert first.password and second.password == first.password
    for model in (Organisation, Study, Ad, Integration):
        assert db_session.scalar(select(func.count()).select_from(model)) == 1
    user = db_session.scalar(select(User).where(User.email == DEMO_EMAIL))
    assert user is not None and verify_password(user.password_hash, first.password)
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None and membership.role == Role.OWNER

    texts = db_session.scalars(select(ConsentText).order_by(ConsentText.locale)).all()
    assert [t.locale for t in texts] == ["en", "fr"]
    assert all(t.sha256 == hashlib.sha256(t.consent_text.encode()).hexdigest() for t in texts)

    ad = db_session.scalar(select(Ad))
    assert ad is not None and ad.poster_key
    video = settings.ads_dir / ad.storage_key
    assert ad.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (ad.width, ad.height)
    assert abs(frames / 25 - AD_SECONDS) < 0.1

    # A panelist can start on it and the ad and poster load as a <video> would load them.
    started = panel.start(client, first.integration_key)
    assert started.body["consent"]["text"] == texts[0].consent_text
    assert client.get(started.body["ads"][0]["video_url"]).content == video.read_bytes()
    poster = client.get(started.body["ads"][0]["poster_url"])
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"  # JPEG
