"""Ad uploads: real videos accepted with their facts, everything else refused with nothing left."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, csrf_token
from tests.support.factories import make_clip
from tests.support.videos import make_video
from web.settings import Settings
from web.studies.files import ad_file_path, ad_poster_path
from web.studies.models import Ad, Study

HTML = {"accept": "text/html"}


def _upload(
    client: TestClient, study: Study, content: bytes, filename: str = "ad.mp4", **data: str
) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"/api/v1/studies/{study.id}/ads",
        files={"file": (filename, content, "application/octet-stream")},
        data=data,
        headers=csrf_headers(client),
    )
    return response.status_code, response.json()


def _files_on_disk(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.ads_dir.rglob("*") if p.is_file())


def _ad_count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Ad)) or 0


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime")],
)
def test_upload_reads_duration_size_poster_and_hash(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    study: Study,
    videos: dict[str, Path],
    kind: str,
    content_type: str,
) -> None:
    content = videos[kind].read_bytes()
    # The name lies about the type on purpose: Candor decides by decoding.
    status, body = _upload(client, study, content, filename="spring.bin")
    assert status == 201, body
    assert body["content_type"] == content_type
    assert body["title"] == "spring"
    assert body["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert (body["width"], body["height"]) == (320, 240)
    assert body["bytes"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()

    ad = db_session.get(Ad, body["id"])
    assert ad is not None
    assert ad_file_path(settings, ad).read_bytes() == content
    poster = ad_poster_path(settings, ad)
    assert poster is not None
    image = cv2.imdecode(np.frombuffer(poster.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (240, 320)
    # The fixture's top half is pure red (BGR order here); JPEG keeps it close.
    assert image[60, 160, 2] > 200 and image[60, 160, 1] < 60

    served = client.get(str(body["video_url"]))
    assert served.status_code == 200 and served.content == content
    assert served.headers["content-type"] == content_type
    ranged = client.get(str(body["video_url"]), headers={"range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == content[:100]
    poster_served = client.get(str(body["poster_url"]))
    assert poster_served.headers["content-type"] == "image/jpeg"
    assert not list((settings.ads_dir / ".incoming").iterdir())


def test_upload_page_redirects_and_lists_the_ad(
    client: TestClient, study: Study, videos: dict[str, Path]
) -> None:
    response = client.post(
        f"/studies/{study.id}/ads",
        data={"csrf_token": csrf_token(client), "title": "Hero cut"},
        files={"file": ("hero.mp4", videos["mp4"].read_bytes(), "video/mp4")},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(f"/studies/{study.id}", headers=HTML)
    assert "Hero cut" in page.text and "2.0 s" in page.text and "320\u00d7240" in page.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is a text file pretending to be a video\n" * 50, "not a video Candor can read"),
        (bytes(range(256)) * 40, "not a video Candor can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "not an mp4, webm or mov video"),
    ],
)
def test_non_video_is_refused_and_leaves_nothing(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    study: Study,
    content: bytes,
    message: str,
) -> None:
    status, body = _upload(client, study, content)
    assert status == 400
    assert message in str(body["detail"])
    _is_plain_sentences(str(body["detail"]))
    assert _files_on_disk(settings) == []
    assert _ad_count(db_session) == 0


def _is_plain_sentences(message: str) -> None:
    """An upload error a designer reads: capitalised sentences with a full stop, saying what to
    do, and none of FFmpeg's own words."""
    assert message[0].isupper() and message.endswith("."), message
    for library_text in ("Invalid data found", "FFmpeg", "Errno", "Error", "'"):
        assert library_text not in message, message


def test_an_image_is_not_a_video(
    client: TestClient, settings: Settings, study: Study, tmp_path: Path
) -> None:
    ok, png = cv2.imencode(".png", np.zeros((32, 32, 3), np.uint8))
    assert ok
    status, body = _upload(client, study, png.tobytes(), filename="ad.mp4")
    assert status == 400
    assert "Upload a video in one of those." in str(body["detail"])
    _is_plain_sentences(str(body["detail"]))
    assert _files_on_disk(settings) == []


@pytest.mark.parametrize("kind", ["mp4", "webm", "mov"])
def test_truncated_video_is_refused_and_leaves_nothing(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    study: Study,
    videos: dict[str, Path],
    kind: str,
) -> None:
    content = videos[kind].read_bytes()
    status, body = _upload(client, study, content[: len(content) * 6 // 10])
    assert status == 400, body
    # A cut webm says so; a cut mp4 or mov lacks its index and cannot be opened at all.
    assert "cut short (truncated)" in body["detail"] or "can read" in body["detail"], body
    _is_plain_sentences(str(body["detail"]))
    assert _files_on_disk(settings) == []
    assert _ad_count(db_session) == 0


def test_truncated_video_page_shows_the_reason(
    client: TestClient, settings: Settings, study: Study, videos: dict[str, Path]
) -> None:
    content = videos["webm"].read_bytes()
    response = client.post(
        f"/studies/{study.id}/ads",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("ad.webm", content[: len(content) // 2], "video/webm")},
        headers=HTML,
    )
    assert response.status_code == 400
    assert "truncated" in response.text
    assert _files_on_disk(settings) == []


def test_oversized_upload_is_413_and_leaves_nothing(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    study: Study,
    videos: dict[str, Path],
) -> None:
    content = videos["mp4"].read_bytes()
    client.app.state.settings.max_ad_bytes = len(content) - 1  # type: ignore[attr-defined]
    status, body = _upload(client, study, content)
    assert status == 413
    assert "larger than the limit" in str(body["detail"])
    _is_plain_sentences(str(body["detail"]))
    assert _files_on_disk(settings) == []
    assert _ad_count(db_session) == 0


def test_oversized_upload_is_stopped_while_streaming(
    client: TestClient, settings: Settings, study: Study
) -> None:
    """Without a Content-Length the cap is enforced as bytes arrive, not after."""
    client.app.state.settings.max_ad_bytes = 100_000  # type: ignore[attr-defined]
    boundary = "candorboundary"
    token = csrf_token(client)

    def body() -> object:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range(50):  # 50 x 64 KB, far past the cap
            yield b"\x00" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"/studies/{study.id}/ads",
        content=body(),  # type: ignore[arg-type]
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert _files_on_disk(settings) == []


def test_upload_without_a_file_or_with_two(
    client: TestClient, settings: Settings, study: Study, videos: dict[str, Path]
) -> None:
    no_file = client.post(
        f"/api/v1/studies/{study.id}/ads", data={"title": "x"}, headers=csrf_headers(client)
    )
    assert no_file.status_code == 400
    content = videos["mp4"].read_bytes()
    two = client.post(
        f"/api/v1/studies/{study.id}/ads",
        files=[
            ("file", ("a.mp4", content, "video/mp4")),
            ("file", ("b.mp4", content, "video/mp4")),
        ],
        headers=csrf_headers(client),
    )
    assert two.status_code == 400 and "exactly one file" in two.json()["detail"]
    _is_plain_sentences(two.json()["detail"])
    assert _files_on_disk(settings) == []


def test_the_same_file_twice_is_refused(
    client: TestClient, settings: Settings, study: Study, videos: dict[str, Path]
) -> None:
    content = videos["mp4"].read_bytes()
    assert _upload(client, study, content)[0] == 201
    status, body = _upload(client, study, content)
    assert status == 409 and "already in the study" in str(body["detail"])
    _is_plain_sentences(str(body["detail"]))
    files = _files_on_disk(settings)
    pictures = [p for p in files if "frames" in p.relative_to(settings.ads_dir).parts]
    assert len(files) - len(pictures) == 2  # the first ad's video and poster only
    assert len({p.parent for p in pictures}) == 1  # and its pictures along the timeline


def test_reorder_move_and_delete(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    study: Study,
    tmp_path: Path,
) -> None:
    ids = []
    for index in range(3):
        video = make_video(tmp_path / f"{index}.webm", "webm", seconds=1.0 + index)
        status, body = _upload(client, study, video.read_bytes(), filename=f"ad{index}.webm")
        assert status == 201, body
        ids.append(int(str(body["id"])))
    assert [a["position"] for a in client.get(f"/api/v1/studies/{study.id}/ads").json()] == [
        0,
        1,
        2,
    ]

    reordered = client.put(
        f"/api/v1/studies/{study.id}/ads/order",
        json={"ad_ids": [ids[2], ids[0], ids[1]]},
        headers=csrf_headers(client),
    )
    assert [a["id"] for a in reordered.json()] == [ids[2], ids[0], ids[1]]
    bad = client.put(
        f"/api/v1/studies/{study.id}/ads/order",
        json={"ad_ids": [ids[0]]},
        headers=csrf_headers(client),
    )
    assert bad.status_code == 400

    moved = client.post(
        f"/studies/{study.id}/ads/{ids[1]}/move",
        data={"direction": "up", "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    order = [a["id"] for a in client.get(f"/api/v1/studies/{study.id}/ads").json()]
    assert order == [ids[2], ids[1], ids[0]]

    ad = db_session.get(Ad, ids[1])
    assert ad is not None
    video, poster = ad_file_path(settings, ad), ad_poster_path(settings, ad)
    deleted = client.delete(
        f"/api/v1/studies/{study.id}/ads/{ids[1]}", headers=csrf_headers(client)
    )
    assert deleted.status_code == 204
    assert not video.exists() and poster is not None and not poster.exists()
    remaining = client.get(f"/api/v1/studies/{study.id}/ads").json()
    assert [(a["id"], a["position"]) for a in remaining] == [(ids[2], 0), (ids[0], 1)]


def test_an_ad_panelists_watched_is_kept(
    client: TestClient, settings: Settings, db_session: Session, study: Study, ad: Ad
) -> None:
    make_clip(db_session, ad=ad)
    response = client.delete(
        f"/api/v1/studies/{study.id}/ads/{ad.id}", headers=csrf_headers(client)
    )
    assert response.status_code == 409
    assert ad_file_path(settings, ad).exists()
    # The study page does not offer what would be refused, and says why.
    db_session.expire_all()  # the factory read study.ads before adding the ad
    page = client.get(f"/studies/{study.id}", headers={"accept": "text/html"}).text
    assert f"/ads/{ad.id}/delete" not in page
    assert "Cannot be deleted: 1 recording of" in page


def test_missing_file_on_disk_is_a_clear_404(
    client: TestClient, settings: Settings, study: Study, ad: Ad
) -> None:
    ad_file_path(settings, ad).unlink()
    response = client.get(f"/studies/{study.id}/ads/{ad.id}/video")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    client: TestClient, settings: Settings, study: Study, videos: dict[str, Path]
) -> None:
    client.app.state.settings.max_ad_bytes = 1000  # type: ignore[attr-defined]
    padding = b"\x00" * 200_000  # Content-Length well past cap + framing allowance
    status, _body = _upload(client, study, videos["mp4"].read_bytes() + padding)
    assert status == 413
    assert _files_on_disk(settings) == []
