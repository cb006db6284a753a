"""Worker tests: tasks run in-process on the test's rolled-back transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, PlaybackEventKind
from tests.support import stored
from tests.support.factories import ClipRows, make_clip
from web.clips.models import Chunk, PlaybackEvent
from web.settings import Settings
from worker import context


@pytest.fixture
def worker_factory(db_session: Session) -> sessionmaker[Session]:
    """Sessions for the pipeline that join the test's transaction (their commits are savepoints)."""
    return sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


@pytest.fixture
def configured(settings: Settings, worker_factory: sessionmaker[Session]) -> Iterator[None]:
    """Point the Celery tasks at the test's settings and transaction."""
    context.configure(settings, worker_factory)
    yield
    context.configure(None)


@dataclass
class Uploaded:
    rows: ClipRows
    data: bytes


def uploaded_clip(
    db_session: Session,
    settings: Settings,
    chunks: list[bytes],
    events: list[tuple[str, float, float]] | None = None,
    status: ClipStatus = ClipStatus.QUEUED,
    **clip_kwargs: object,
) -> Uploaded:
    """A clip with its chunks sealed in the store and their rows, finished and queued, as the API
    leaves it."""
    rows = make_clip(db_session, **clip_kwargs)  # type: ignore[arg-type]
    clip = rows.clip
    for index, data in enumerate(chunks):
        stored.put_plain(settings, clip, index, data)
        db_session.add(Chunk(clip_id=clip.id, index=index, bytes=len(data), sha256="0" * 64))
    for seq, (kind, clip_ms, ad_ms) in enumerate(events or []):
        db_session.add(
            PlaybackEvent(
                clip_id=clip.id, seq=seq, kind=PlaybackEventKind(kind), clip_ms=clip_ms, ad_ms=ad_ms
            )
        )
    clip.status = status
    clip.expected_chunks = len(chunks)
    clip.chunks_received = len(chunks)
    clip.bytes_received = sum(map(len, chunks))
    db_session.flush()
    return Uploaded(rows, b"".join(chunks))
