"""Starts of one respondent at the same moment, against PostgreSQL with committed rows and real
concurrent requests: the database keeps one live session per respondent, and a start that loses
the race answers a clean 409, never a 500 and never a second live session."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import LIVE_SESSION
from tests.support import panel
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import give_signing_secret, make_ad, make_integration, make_study
from web.app import create_app
from web.clips.models import PanelSession
from web.panel import starts
from web.settings import Settings
from web.studies.models import Integration

API = panel.API
SECRETS: dict[str, str] = {}
STARTS = 6


@pytest.fixture
def fielded(committed: tuple[Committed, Session]) -> Integration:  # noqa: F811
    _helper, session = committed
    study = make_study(session)
    make_ad(session, study)
    integration = make_integration(session, study)
    # The races are between signed starts: only they supersede, and the index covers them.
    SECRETS[integration.public_key] = give_signing_secret(session, integration)
    session.commit()
    return integration


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    """The app on the real database (no rolled-back test transaction): requests commit."""
    roomy = settings.model_copy(update={"session_starts_per_client_per_minute": 1000})
    with TestClient(create_app(roomy)) as client:
        yield client


def _at_once(client: TestClient, integration: Integration, **extra: Any) -> list[Any]:
    """STARTS starts of R_42 sent together from as many threads."""
    key = integration.public_key
    body = {
        "integration": key,
        "respondent_id": "R_42",
        **panel.signed(key, "R_42", SECRETS[key]),
        **extra,
    }
    gate = threading.Barrier(STARTS)

    def start(_i: int) -> Any:
        gate.wait(timeout=10)
        return client.post(f"{API}/sessions", json=body)

    with ThreadPoolExecutor(STARTS) as pool:
        return list(pool.map(start, range(STARTS)))


def _live(committed: tuple[Committed, Session], integration: Integration) -> list[PanelSession]:  # noqa: F811
    helper, _session = committed
    with helper.factory() as session:
        return list(
            session.scalars(
                select(PanelSession).where(
                    PanelSession.integration_id == integration.id,
                    PanelSession.status.in_(LIVE_SESSION),
                )
            )
        )


def test_starts_that_all_found_no_session_make_one_and_the_others_answer_409(
    committed: tuple[Committed, Session],  # noqa: F811
    fielded: Integration,
    live_client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every start has looked for a live session (none yet) before any of them writes: the
    window a check in code alone cannot close. Only the database's index can."""
    looked = threading.Barrier(STARTS)
    real: Callable[..., list[str]] = starts._supersede_live

    def after_everyone_looked(*args: Any, **kwargs: Any) -> list[str]:
        removals = real(*args, **kwargs)
        looked.wait(timeout=20)
        return removals

    monkeypatch.setattr(starts, "_supersede_live", after_everyone_looked)
    answers = _at_once(live_client, fielded)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (STARTS - 1), [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "session_conflict"
            assert "token" not in answer.json() and "session_id" not in answer.json()
    (winner,) = [a.json() for a in answers if a.status_code == 201]
    assert [str(s.public_id) for s in _live(committed, fielded)] == [winner["session_id"]]


def test_starts_racing_to_supersede_a_live_session_leave_exactly_one_live_session(
    committed: tuple[Committed, Session],  # noqa: F811
    fielded: Integration,
    live_client: TestClient,
) -> None:
    first = panel.start(live_client, fielded, "R_42", secret=SECRETS[fielded.public_key])
    panel.consent(live_client, first)

    answers = _at_once(live_client, fielded)  # none of them holds the resume token

    assert {answer.status_code for answer in answers} <= {201, 409}, [a.text for a in answers]
    started = {a.json()["session_id"] for a in answers if a.status_code == 201}
    live = _live(committed, fielded)
    assert len(live) == 1 and str(live[0].public_id) in started
    assert first.session_id not in {str(s.public_id) for s in live}


def test_resumes_with_the_token_at_the_same_moment_all_get_the_same_session(
    committed: tuple[Committed, Session],  # noqa: F811
    fielded: Integration,
    live_client: TestClient,
) -> None:
    first = panel.start(live_client, fielded, "R_42", secret=SECRETS[fielded.public_key])
    answers = _at_once(live_client, fielded, resume_token=first.resume_token)
    assert [a.status_code for a in answers] == [201] * STARTS
    assert {a.json()["session_id"] for a in answers} == {first.session_id}
    assert [str(s.public_id) for s in _live(committed, fielded)] == [first.session_id]
