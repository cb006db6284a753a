"""GET /healthz reports the database and the broker: 200 when both answer, 503 naming which not."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import on_s3
from tests.support.seaweed import S3Server
from web.app import create_app
from web.settings import Settings

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_healthy_with_postgres_and_redis(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "clip_store": "ok",
    }


def test_broker_down_is_503_naming_the_broker(settings: Settings) -> None:
    down = settings.model_copy(update={"broker_url": DEAD_REDIS})
    with TestClient(create_app(down)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"].startswith("down")


def test_database_down_is_503_naming_the_database(settings: Settings) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres:secret@127.0.0.1:1/none"}
    )
    with TestClient(create_app(down)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("down") and body["broker"] == "ok"
    assert "secret" not in response.text  # connection details stay private


def test_embedded_defaults_are_healthy(tmp_path: Path) -> None:
    embedded = Settings(environment="test", data_dir=tmp_path / "data")
    with TestClient(create_app(embedded)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200, response.text


def test_the_object_store_is_checked(settings: Settings, s3_server: S3Server) -> None:
    good = on_s3(settings, s3_server)
    with TestClient(create_app(good)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["clip_store"] == "ok"
    missing = on_s3(settings, s3_server, bucket="no-such-bucket").model_copy(
        update={"s3_create_bucket": False}
    )
    with TestClient(create_app(missing)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["clip_store"] == "down (StoreMisconfigured)"
    assert s3_server.secret_key not in response.text
