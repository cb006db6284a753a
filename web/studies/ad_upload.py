"""Receive an ad upload end to end: CSRF, streaming to disk, decoding, storing. Shared by the
page and the API so both refuse the same things in the same words."""

from __future__ import annotations

import logging
from pathlib import PurePath

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from web.csrf import CSRF_FIELD, CSRF_HEADER, check_token
from web.settings import Settings
from web.studies import service, thumbnails
from web.studies.files import incoming_dir
from web.studies.media import probe_video
from web.studies.models import Ad, Study
from web.studies.upload import receive_file

MAX_TITLE = 200
log = logging.getLogger(__name__)


async def upload_ad(request: Request, *, settings: Settings, session: Session, study: Study) -> Ad:
    """Store the `file` part of a multipart request as a new ad of the study.

    Raises Invalid (NotAVideo among them), TooLarge, Conflict (the same file twice) or
    CsrfRefused; on any of them nothing is left on disk.
    """
    header_token = request.headers.get(CSRF_HEADER)
    if header_token is not None:
        check_token(request, settings, header_token)

    def csrf_before_file(fields: dict[str, str]) -> None:
        # Forms send the token as a field, which must come before the file in the body.
        if header_token is None:
            check_token(request, settings, fields.get(CSRF_FIELD))

    received = await receive_file(
        request,
        directory=incoming_dir(settings),
        max_bytes=settings.max_ad_bytes,
        before_file=csrf_before_file,
    )
    try:
        # Decoding takes CPU time; keep the event loop free for other requests meanwhile.
        info = await run_in_threadpool(probe_video, received.path)
        title = _title(received.fields.get("title", ""), received.filename, len(study.ads))
        ad = service.add_ad(
            session=session, settings=settings, study=study, title=title, upload=received, info=info
        )
        # The ad's pictures along its timeline, once, now (the results pages and reports show
        # them); one that fails is tried again on first use, the upload stands.
        try:
            await run_in_threadpool(thumbnails.extract, settings, ad)
        except thumbnails.NoFrames as exc:
            log.warning("ad %s uploaded without pictures: %s", ad.id, exc)
        return ad
    finally:
        # After add_ad the file has moved; on any failure it is still here and must go.
        received.path.unlink(missing_ok=True)


def _title(given: str, filename: str, existing: int) -> str:
    title = given.strip() or PurePath(filename.replace("\\", "/")).stem.strip()
    return (title or f"Ad {existing + 1}")[:MAX_TITLE]
