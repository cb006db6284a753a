"""Ads in the object store (issue 23 item 3): two web processes with data directories of their
own, one database and one SeaweedFS; an ad uploaded through one plays from both, for the
recorder (signed media links) and for the results pages, seeking with Range requests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.support import panel, stack
from tests.support.auth import make_user
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import TEST_SECRET_KEY, make_integration, make_study
from tests.support.seaweed import S3Server
from tests.web.studies.test_thumbnails import grey_video, level
from web.accounts.auth import login_cookie_value
from web.cookies import COOKIE_NAME
from web.settings import Settings


def _env(server: S3Server, data_dir: Path, prefix: str) -> dict[str, str]:
    return stack.candor_env(
        environment="test",
        secret_key=TEST_SECRET_KEY,
        data_dir=str(data_dir),
        database_url=TEST_DATABASE_URL,
        broker_url=TEST_REDIS_URL,
        clip_store="s3",
        s3_endpoint_url=server.endpoint,
        s3_bucket="candor-test",
        s3_prefix=f"{prefix}clips/",
        s3_ads_prefix=f"{prefix}ads/",
        s3_region=server.region,
        s3_access_key_id=server.access_key,
        s3_secret_access_key=server.secret_key,
        s3_create_bucket="true",
    )


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_an_ad_uploaded_to_one_web_process_plays_from_both(
    s3_server: S3Server,
    committed: tuple[Committed, Session],  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    _helper, session = committed
    user = make_user(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
    study = make_study(session, organisation=user.memberships[0].organisation)
    integration = make_integration(session, study)
    session.commit()
    cookie = login_cookie_value(settings, session, user)
    content = grey_video(tmp_path / "grey.mp4", 4).read_bytes()
    prefix = f"t-{uuid.uuid4().hex}/"
    dirs = [tmp_path / "web-a", tmp_path / "web-b"]
    logs = [tmp_path / "web-a.log", tmp_path / "web-b.log"]
    with (
        stack.web_server(_env(s3_server, dirs[0], prefix), logs[0]) as a,
        stack.web_server(_env(s3_server, dirs[1], prefix), logs[1]) as b,
        httpx.Client(base_url=a, cookies={COOKIE_NAME: cookie}, timeout=60) as at_a,
        httpx.Client(base_url=b, cookies={COOKIE_NAME: cookie}, timeout=60) as at_b,
    ):
        csrf = at_a.get("/api/v1/auth/csrf").json()["csrf_token"]
        uploaded = at_a.post(
            f"/api/v1/studies/{study.id}/ads",
            files={"file": ("grey.mp4", content, "application/octet-stream")},
            headers={"X-CSRF-Token": csrf},
        )
        assert uploaded.status_code == 201, uploaded.text
        ad_id = uploaded.json()["id"]
        # Neither web process keeps the ad on its own disk: it is in the bucket.
        assert [p for d in dirs for p in _files(d / "ads") if ".incoming" not in p.parts] == []
        names = [key.rsplit("/", 1)[-1] for key in _objects(s3_server, f"{prefix}ads/")]
        # The video, its poster, and its four pictures with their index (made at upload).
        assert sorted(name.rsplit(".", 1)[-1] for name in names) == [
            "jpg", "jpg", "jpg", "jpg", "jpg", "json", "mp4",
        ]  # fmt: skip

        for client in (at_a, at_b):
            _plays(client, f"/results/ads/{ad_id}/video", content)
            poster = client.get(f"/results/ads/{ad_id}/poster")
            assert poster.status_code == 200 and poster.content.startswith(b"\xff\xd8")
            frames = client.get(f"/api/v1/ads/{ad_id}/frames").json()["frames"]
            assert [f["time_s"] for f in frames] == [0.5, 1.5, 2.5, 3.5]
            picture = client.get(frames[2]["url"])
            assert picture.status_code == 200 and level(picture.content) == pytest.approx(50, abs=4)

        # The recorder: a panelist whose session started on B plays the ad from either.
        with httpx.Client(base_url=b, timeout=60) as recorder:
            started = panel.start(recorder, integration.public_key)
        video_url = httpx.URL(started.body["ads"][0]["video_url"])
        for base in (a, b):
            with httpx.Client(base_url=base, timeout=60) as player:
                _plays(player, f"{video_url.path}?{video_url.query.decode()}", content)

        # Deleted through B: gone for A too, pictures included, and from the bucket.
        csrf = at_b.get("/api/v1/auth/csrf").json()["csrf_token"]
        deleted = at_b.delete(
            f"/api/v1/studies/{study.id}/ads/{ad_id}", headers={"X-CSRF-Token": csrf}
        )
        assert deleted.status_code in (200, 204), deleted.text
        assert at_a.get(f"/results/ads/{ad_id}/video").status_code == 404
    assert _objects(s3_server, f"{prefix}ads/") == []


def _objects(server: S3Server, prefix: str) -> list[str]:
    import boto3

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )
    listed = client.list_objects_v2(Bucket="candor-test", Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def _plays(client: httpx.Client, url: str, content: bytes) -> None:
    """The whole file, a range in the middle, its last bytes, and a range past its end."""
    whole = client.get(url)
    assert whole.status_code == 200, whole.text[:300]
    assert whole.content == content
    middle = client.get(url, headers={"Range": "bytes=100-1099"})
    assert middle.status_code == 206
    assert middle.content == content[100:1100]
    assert middle.headers["content-range"] == f"bytes 100-1099/{len(content)}"
    tail: Any = client.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == content[-500:]
    past = client.get(url, headers={"Range": f"bytes={len(content) + 10}-"})
    assert past.status_code == 416
