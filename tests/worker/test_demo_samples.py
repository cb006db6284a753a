"""The demo's sample panelists: generated faces go through the panelist API and the real
analysis, show up in the results as sample data, and go away with one click."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.console import LineFilter
from candor.statuses import ClipStatus
from tests.support.auth import csrf_token, login
from web.accounts.models import User
from web.clips.models import AdAggregate, Clip, PanelSession
from web.clips.samples import mark_sample, sample_count
from web.demo import panelists
from web.demo.seed import DEMO_EMAIL, seed_demo
from web.settings import Settings
from web.studies.models import Ad
from worker.tasks import analyze_clip

pytestmark = pytest.mark.usefixtures("configured")
HTML = {"accept": "text/html"}


def client_transport(client: TestClient) -> panelists.Transport:
    """The seeder's HTTP calls, made on the test's app instead of a socket."""

    def call(
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        response = client.request(method, path, json=json_body, content=content, headers=headers)
        return response.status_code, response.json() if response.content else None

    return call


def test_sample_panelists_are_analysed_for_real_shown_as_samples_and_removed_in_one_click(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    demo = seed_demo(db_session, settings)
    ad = db_session.scalar(select(Ad).where(Ad.study_id == demo.study_id))
    assert ad is not None
    ad.duration_s = 4.0  # short clips keep the test quick; the seeder follows the ad's length
    db_session.commit()

    def mark(session_id: uuid.UUID) -> None:
        mark_sample(db_session, session_id)

    sent = panelists.seed(
        client_transport(client), demo.integration_key, first=0, count=2, mark=mark
    )
    assert [s.respondent_id for s in sent] == ["sample-1", "sample-2"]
    assert sample_count(db_session, demo.study_id) == 2

    # The same task the worker runs: the real analysis of each uploaded clip.
    clips = db_session.scalars(select(Clip).order_by(Clip.id)).all()
    assert len(clips) == 2 and all(c.status == ClipStatus.QUEUED for c in clips)
    assert [analyze_clip(c.id) for c in clips] == ["done", "done"]
    db_session.expire_all()
    assert all(c.usable for c in db_session.scalars(select(Clip)))

    user = db_session.scalar(select(User).where(User.email == DEMO_EMAIL))
    assert user is not None
    login(client, settings, user)
    curves = client.get(f"/api/v1/ads/{ad.id}/curves").json()
    assert curves["overall"]["n"] == 2
    results = client.get(f"/results/ads/{ad.id}", headers=HTML).text
    assert 'data-samples="2"' in results and "Sample data" in results
    study_page = client.get(f"/studies/{demo.study_id}", headers=HTML).text
    assert "2 generated sample panelists" in study_page and "Remove sample data" in study_page

    removed = client.post(
        f"/studies/{demo.study_id}/samples/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(PanelSession)) == 0
    assert db_session.scalar(select(func.count()).select_from(Clip)) == 0
    assert not db_session.scalars(select(AdAggregate).where(AdAggregate.n > 0)).all()
    assert client.get(f"/api/v1/ads/{ad.id}/curves").json()["overall"]["n"] == 0
    assert "Sample data" not in client.get(f"/results/ads/{ad.id}", headers=HTML).text
    assert "Remove sample data" not in client.get(f"/studies/{demo.study_id}", headers=HTML).text


def test_serve_console_drops_library_noise_and_keeps_what_an_operator_needs() -> None:
    lines = [
        "/x/celery/platforms.py:893: SecurityWarning: You're running the worker with superuser "
        "privileges: this is\n",
        "absolutely not recommended!\n",
        "\n",
        "Please specify a different user using the --uid option.\n",
        "\n",
        "User information: uid=0 euid=0 gid=0 egid=0\n",
        "\n",
        "  _warn_or_raise_security_error(egid, euid, gid, uid,\n",
        "W0000 00:00:1796104238.234869   16056 inference_feedback_manager.cc:114] Feedback ...\n",
        "W0000 00:00:1796104238.407040   16056 landmark_projection_calculator.cc:186] Using ...\n",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "[2026-12-01 05:54:56,029: INFO/MainProcess] Task candor.requeue_clips[bb4b] received\n",
        "[2026-12-01 05:54:56,363: INFO/ForkPoolWorker-2] Task candor.sweep[bb4b] succeeded "
        "in 0.33s: 0\n",
        "[2026-12-01 05:54:56,363: INFO/Beat] Scheduler: Sending due task sweep (candor.sweep)\n",
        "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)\n",
        "[2026-12-01 05:54:55,977: INFO/MainProcess] candor-serve-1@vm ready.\n",
        "[2026-12-01 05:55:10,000: INFO/MainProcess] Task candor.analyze_clip[aa] received\n",
        "[2026-12-01 05:55:12,000: INFO/ForkPoolWorker-2] Task candor.analyze_clip[aa] succeeded "
        "in 2.0s: 'done'\n",
        "[2026-12-01 05:55:12,000: ERROR/ForkPoolWorker-2] Task candor.sweep[cc] raised "
        "unexpected: OperationalError()\n",
    ]
    line_filter = LineFilter()
    kept = [line for line in lines if line_filter.keep(line)]
    assert kept == ["\n", *lines[-5:]]
