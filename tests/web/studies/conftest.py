"""Fixtures for study tests: a logged-in owner, and an ad whose files exist on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login, make_user
from tests.support.factories import make_ad, make_integration, make_study
from tests.support.videos import make_video
from web.accounts.models import Organisation, User
from web.settings import Settings
from web.studies.files import ad_file_path, ad_poster_path
from web.studies.models import Ad, Integration, Study


@pytest.fixture
def owner(client: TestClient, settings: Settings, db_session: Session) -> User:
    """An owner of a fresh organisation, logged in on `client`."""
    user = make_user(db_session, email="owner@example.org")
    login(client, settings, user)
    return user


@pytest.fixture
def organisation(owner: User) -> Organisation:
    return owner.memberships[0].organisation


@pytest.fixture
def study(db_session: Session, organisation: Organisation) -> Study:
    return make_study(db_session, organisation=organisation)


def ad_with_files(db_session: Session, settings: Settings, study: Study) -> Ad:
    """A factory ad with a stand-in video and poster on disk where the app looks for them."""
    ad = make_ad(db_session, study)
    ad.poster_key = ad.storage_key.replace(".mp4", ".jpg")
    db_session.flush()
    video, poster = ad_file_path(settings, ad), ad_poster_path(settings, ad)
    assert poster is not None
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"video bytes " * 100)
    poster.write_bytes(b"\xff\xd8\xff poster")
    return ad


@pytest.fixture
def ad(db_session: Session, settings: Settings, study: Study) -> Ad:
    return ad_with_files(db_session, settings, study)


@pytest.fixture
def integration(db_session: Session, study: Study) -> Integration:
    return make_integration(db_session, study)


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two-second clips in each accepted format, made once per run."""
    root = tmp_path_factory.mktemp("videos")
    return {kind: make_video(root / f"ad.{kind}", kind) for kind in ("mp4", "webm", "mov")}
