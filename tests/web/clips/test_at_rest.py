"""Through the panel API, on either clip store: what is stored is not video and holds none of the
uploaded bytes; the worker's copy opens to exactly what was uploaded."""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel, stored
from tests.support.clips import make_webm, split
from tests.support.factories import make_ad, make_integration, make_study
from web.app import create_app
from web.clips.models import Clip
from web.deps import get_session
from web.settings import Settings

EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # how every WebM file starts


@pytest.fixture
def store_client(store_settings: Settings, db_session: Session) -> Iterator[TestClient]:
    application = create_app(store_settings)

    def _session() -> Iterator[Session]:
        yield db_session

    application.dependency_overrides[get_session] = _session
    with TestClient(application) as test_client:
        yield test_client


def _readable_as_video(data: bytes) -> bool:
    try:
        with av.open(io.BytesIO(data)) as container:
            return any(True for _frame in container.decode(video=0))
    except (av.error.FFmpegError, ValueError, IndexError):
        return False


def test_a_stored_chunk_is_not_video_and_holds_none_of_the_uploaded_bytes(
    store_client: TestClient, db_session: Session, store_settings: Settings
) -> None:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(store_client, integration)
    panel.consent(store_client, started)
    clip_id = panel.open_clip(store_client, started)
    video = make_webm(seconds=2.0)
    assert _readable_as_video(video)  # the check below can fail
    chunks = split(video, 3)
    panel.upload(store_client, started, clip_id, chunks)

    assert stored.indices(store_settings, clip_id) == [0, 1, 2]
    for index, chunk in enumerate(chunks):
        sealed = stored.sealed(store_settings, clip_id, index)
        assert not _readable_as_video(sealed)
        assert EBML_MAGIC not in sealed
        # No run of 32 uploaded bytes appears in what is stored.
        assert not any(chunk[i : i + 32] in sealed for i in range(0, len(chunk) - 32, 16))
        assert stored.plain(db_session, store_settings, clip_id, index) == chunk
    whole = b"".join(stored.sealed(store_settings, clip_id, i) for i in range(3))
    assert not _readable_as_video(whole)
    # The key that opens them is in the clip's row only, and not in clear.
    clip = db_session.query(Clip).filter(Clip.public_id == clip_id).one()
    assert clip.data_key is not None and len(clip.data_key) == 80
