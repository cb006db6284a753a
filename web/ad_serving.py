"""Ad files answered to a request, from either ad store (web/ad_store.py), for routes that have
already checked who may see them: the whole file, or the one byte range a <video> element asks
for when it seeks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from starlette.responses import FileResponse, Response, StreamingResponse

from web.ad_store import ad_store
from web.errors import NotFound
from web.settings import Settings

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) of a single satisfiable `Range: bytes=` header; None to send it all.
    Several ranges are answered whole (RFC 9110 lets a server ignore Range)."""
    matched = _RANGE.match(header.strip()) if header else None
    if matched is None or size == 0:
        return None
    first, last = matched.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start > end:
        return (start, -1)  # unsatisfiable: the caller answers 416
    return start, end


def serve(
    settings: Settings,
    key: str | None,
    media_type: str | None,
    range_header: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The file under `key` for a route that has already checked who may see it: the whole
    file (200) or the one range asked for (206, or 416 past its end); NotFound if missing."""
    if not key:
        raise NotFound("This ad has no such file")
    store = ad_store(settings)
    path = store.local_path(key)
    if path is not None:  # Starlette answers Range requests for a file itself
        return FileResponse(path, media_type=media_type, headers=headers)
    size = store.size(key)
    if size is None:
        raise NotFound("The ad's file is missing from storage")
    answer_headers = {"Accept-Ranges": "bytes", **(headers or {})}
    wanted = _byte_range(range_header, size)
    if wanted is not None and wanted[1] < wanted[0]:
        answer_headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=answer_headers)
    start, end = wanted if wanted is not None else (0, size - 1)
    answer_headers["Content-Length"] = str(end - start + 1)
    if wanted is not None:
        answer_headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    pieces: Iterator[bytes] = iter(()) if size == 0 else store.read(key, start, end)
    return StreamingResponse(
        pieces,
        status_code=206 if wanted is not None else 200,
        media_type=media_type,
        headers=answer_headers,
    )
