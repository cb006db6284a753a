"""Pictures of the ad along its timeline: how many, at which times, and that they are the ad's
own frames (a video whose grey level tells the second it is at)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, login, make_user
from tests.support.factories import make_ad
from web.settings import Settings
from web.studies import thumbnails
from web.studies.models import Ad, Study
from web.studies.thumbnails import Thumbnail, plan

FPS = 10


def grey_video(path: Path, seconds: int, width: int = 320, height: int = 180) -> Path:
    """Second s of the video is grey level 20 s + 10 all over: a picture tells its second."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * FPS):
            level = 20 * (index // FPS) + 10
            image = np.full((height, width, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def level(jpeg: bytes) -> float:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return float(image.mean())


def stored_ad(db_session: Session, settings: Settings, study: Study, seconds: int) -> Ad:
    ad = make_ad(db_session, study, duration_s=float(seconds))
    path = settings.ads_dir / ad.storage_key
    path.parent.mkdir(parents=True, exist_ok=True)
    grey_video(path, seconds)
    ad.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    db_session.flush()
    return ad


def test_plan_takes_one_picture_per_second_at_its_middle() -> None:
    assert [t.time_s for t in plan(10)] == [s + 0.5 for s in range(10)]
    assert plan(10)[3] == Thumbnail(3, 3.5, 3.0, 4.0)
    # A short last second: its middle.
    assert plan(9.4)[-1] == Thumbnail(9, 9.2, 9.0, 9.4)
    assert len(plan(9.4)) == 10


def test_a_long_ad_gets_at_most_60_pictures() -> None:
    assert thumbnails.step_s(150) == 3
    found = plan(150)
    assert len(found) == 50 and found[0].time_s == 1.5 and found[-1].end_s == 150
    assert len(plan(3600)) == 60
    assert plan(0) == []


def test_the_pictures_are_the_ads_frames_at_their_seconds(
    db_session: Session, settings: Settings, study: Study
) -> None:
    ad = stored_ad(db_session, settings, study, 8)
    found = thumbnails.extract(settings, ad)
    assert [t.time_s for t in found] == [s + 0.5 for s in range(8)]
    for t in found:
        jpeg = thumbnails.picture(settings, ad, t.index)
        assert jpeg is not None
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (108, 192)  # 192 wide, the ad's 16:9 kept
        # The grey of second t.start_s (JPEG and the encoder move it by a level or two).
        assert level(jpeg) == pytest.approx(20 * t.start_s + 10, abs=4)
    assert thumbnails.cached(settings, ad) == found
    assert thumbnails.picture(settings, ad, 8) is None


def test_pictures_are_extracted_lazily_once_and_a_new_file_gets_new_ones(
    db_session: Session, settings: Settings, study: Study
) -> None:
    ad = stored_ad(db_session, settings, study, 3)
    assert thumbnails.cached(settings, ad) is None
    assert len(thumbnails.thumbnails(settings, ad)) == 3
    stamp = (thumbnails.frames_dir(settings, ad) / thumbnails.INDEX).stat().st_mtime_ns
    assert len(thumbnails.thumbnails(settings, ad)) == 3
    assert (thumbnails.frames_dir(settings, ad) / thumbnails.INDEX).stat().st_mtime_ns == stamp
    # Another file under the same key (its hash differs): the old pictures are not used.
    grey_video(settings.ads_dir / ad.storage_key, 5)
    ad.sha256 = hashlib.sha256((settings.ads_dir / ad.storage_key).read_bytes()).hexdigest()
    ad.duration_s = 5.0
    assert thumbnails.cached(settings, ad) is None
    assert len(thumbnails.thumbnails(settings, ad)) == 5


def test_an_unreadable_file_has_no_pictures_and_is_not_decoded_again(
    db_session: Session, settings: Settings, study: Study
) -> None:
    ad = make_ad(db_session, study, duration_s=5.0)
    path = settings.ads_dir / ad.storage_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * 4096)
    assert thumbnails.thumbnails(settings, ad) == []
    assert thumbnails.cached(settings, ad) == []


def test_upload_extracts_the_pictures_and_delete_removes_them(
    client: TestClient, db_session: Session, settings: Settings, study: Study, tmp_path: Path
) -> None:
    content = grey_video(tmp_path / "grey.mp4", 4).read_bytes()
    response = client.post(
        f"/api/v1/studies/{study.id}/ads",
        files={"file": ("grey.mp4", content, "application/octet-stream")},
        headers=csrf_headers(client),
    )
    assert response.status_code == 201, response.text
    ad = db_session.get(Ad, response.json()["id"])
    assert ad is not None
    found = thumbnails.cached(settings, ad)  # already there: made at upload
    assert found is not None and len(found) == 4
    listed = client.get(f"/api/v1/ads/{ad.id}/frames")
    assert listed.status_code == 200
    body = listed.json()
    assert body["step_s"] == 1 and [f["time_s"] for f in body["frames"]] == [0.5, 1.5, 2.5, 3.5]
    picture = client.get(body["frames"][2]["url"])
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert level(picture.content) == pytest.approx(50, abs=4)
    assert client.get(f"/results/ads/{ad.id}/frames/9.jpg").status_code == 404
    directory = thumbnails.frames_dir(settings, ad)
    assert directory.is_dir()
    deleted = client.delete(f"/api/v1/studies/{study.id}/ads/{ad.id}", headers=csrf_headers(client))
    assert deleted.status_code in (200, 204)
    assert not directory.exists()


def test_pictures_are_for_the_ads_organisation_only(
    client: TestClient, db_session: Session, settings: Settings, study: Study
) -> None:
    ad = stored_ad(db_session, settings, study, 2)
    thumbnails.extract(settings, ad)
    assert client.get(f"/results/ads/{ad.id}/frames/0.jpg").status_code == 200
    outsider = make_user(db_session, email="olga@other.example")
    login(client, settings, outsider)
    assert client.get(f"/results/ads/{ad.id}/frames/0.jpg").status_code == 404
    assert client.get(f"/api/v1/ads/{ad.id}/frames").status_code == 404
