"""Stream a multipart upload straight to disk, with a size cap, never holding it in memory."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from web.errors import Invalid, TooLarge
from web.pages import filesize

MAX_FIELDS = 10
MAX_FIELD_BYTES = 10_000
# Room for the multipart framing and the small text fields around the file.
FRAMING_ALLOWANCE = 64 * 1024


@dataclass
class ReceivedFile:
    """A completely received file part, in a temporary file the caller must move or delete."""

    path: Path
    bytes: int
    sha256: str
    filename: str
    fields: dict[str, str]


@dataclass
class _State:
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    part_name: str = ""
    part_data: bytearray = field(default_factory=bytearray)
    in_file: bool = False
    file: IO[bytes] | None = None
    filename: str = ""
    bytes: int = 0
    files_seen: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


async def receive_file(
    request: Request,
    *,
    directory: Path,
    max_bytes: int,
    file_field: str = "file",
    before_file: Callable[[dict[str, str]], None] | None = None,
) -> ReceivedFile:
    """Write the single file part `file_field` to `directory`, refusing more than `max_bytes`.

    `before_file` sees the text fields that came before the file (e.g. the CSRF token) and may
    raise to refuse the upload before a byte of it is written.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid("Send the file as multipart/form-data.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FRAMING_ALLOWANCE:
        raise TooLarge(_too_large(max_bytes))

    path = directory / f"{secrets.token_hex(16)}.part"
    state = _State()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.header_name.lower()] = state.header_value
        state.header_name, state.header_value = b"", b""

    def on_headers_finished() -> None:
        _disposition, options = parse_options_header(state.headers.get(b"content-disposition"))
        state.part_name = options.get(b"name", b"").decode("utf-8", "replace")
        state.part_data = bytearray()
        state.in_file = b"filename" in options
        if not state.in_file:
            if len(state.fields) >= MAX_FIELDS:
                raise Invalid("The form has too many fields.")
            return
        if state.part_name != file_field or state.files_seen:
            raise Invalid(f"Send exactly one file, in the field \u201c{file_field}\u201d.")
        state.files_seen += 1
        state.filename = options[b"filename"].decode("utf-8", "replace")
        if before_file is not None:
            before_file(dict(state.fields))
        state.file = path.open("xb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not state.in_file:
            if len(state.part_data) + len(chunk) > MAX_FIELD_BYTES:
                raise Invalid(f"The form field \u201c{state.part_name}\u201d is too long.")
            state.part_data.extend(chunk)
            return
        state.bytes += len(chunk)
        if state.bytes > max_bytes:
            raise TooLarge(_too_large(max_bytes))
        assert state.file is not None
        # A local-disk write of one network chunk is quick; no thread hop needed.
        state.file.write(chunk)
        state.digest.update(chunk)

    def on_part_end() -> None:
        if not state.in_file:
            state.fields[state.part_name] = state.part_data.decode("utf-8", "replace")
        state.headers = {}

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if state.file is None:
            if before_file is not None:
                before_file(dict(state.fields))
            raise Invalid("Choose a video file to upload.")
        if state.bytes == 0:
            raise Invalid("The file is empty.")
    except FormParserError as exc:
        _discard(state, path)
        raise Invalid("The upload is not valid multipart/form-data.") from exc
    except BaseException:
        _discard(state, path)
        raise
    state.file.close()
    return ReceivedFile(
        path=path,
        bytes=state.bytes,
        sha256=state.digest.hexdigest(),
        filename=state.filename,
        fields=state.fields,
    )


def _discard(state: _State, path: Path) -> None:
    if state.file is not None:
        state.file.close()
        path.unlink(missing_ok=True)


def _too_large(max_bytes: int) -> str:
    return f"The file is larger than the limit of {filesize(max_bytes)}."
