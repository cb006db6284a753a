"""Every operation of the OpenAPI document, fuzzed by schemathesis on the real PostgreSQL.

Generic on purpose: the operations come from the app's own /openapi.json at run time, so an
endpoint added later is fuzzed too. A logged-in owner with a study, an ad and an integration
exists, a panelist session is started, and path parameters named after them are filled with the
real ids half of the time, so requests reach the code behind the 404s. Fails on any 5xx and on
any answer the document does not describe (status, content type, body schema), and on invalid
data that was accepted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_token, login, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.accounts.auth import COOKIE_NAME
from web.csrf import CSRF_COOKIE, CSRF_HEADER
from web.settings import Settings

pytestmark = pytest.mark.slow

# Bounded: ~60 operations x this many examples stays within ~2 minutes on the CI machine.
EXAMPLES_PER_OPERATION = 25
# Each operation stops generating after this much wall time, whatever the count.
SECONDS_PER_OPERATION = 1.5

CHECKS = (
    [__import__("schemathesis").checks.not_a_server_error]
    if __import__("os").environ.get("FUZZ_5XX_ONLY")
    else [
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.negative_data_rejection,
    ]
)


@pytest.fixture
def seeded(app: FastAPI, settings: Settings, db_session: Session) -> Iterator[dict[str, Any]]:
    """Real objects to aim at, a login cookie with its CSRF token, a panelist session token."""
    with TestClient(app) as client:
        user = make_user(db_session, email="fuzz-owner@example.org")
        organisation = user.memberships[0].organisation
        study = make_study(db_session, organisation)
        ad = make_ad(db_session, study)
        integration = make_integration(db_session, study)
        db_session.commit()
        db_session.expire_all()  # study.ads was read before the ad existed
        login(client, settings, user)
        token = csrf_token(client)
        started = panel.start(client, integration)
        yield {
            "cookies": {
                COOKIE_NAME: client.cookies[COOKIE_NAME],
                CSRF_COOKIE: client.cookies[CSRF_COOKIE],
            },
            "headers": {CSRF_HEADER: token, "Authorization": f"Bearer {started.token}"},
            "known": {
                "org_id": organisation.id,
                "organisation_id": organisation.id,
                "study_id": study.id,
                "ad_id": ad.id,
                "integration_id": integration.id,
                "public_key": integration.public_key,
                "session_id": started.session_id,
                "locale": "en",
            },
        }


def test_every_operation_answers_as_documented(
    app: FastAPI, seeded: dict[str, Any], db_session: Session
) -> None:
    # Driven by hand: schemathesis' pytest plugin does not run under pytest 9.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), "the OpenAPI document is invalid"
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) > 40, "the OpenAPI document lost its operations"
    failures: list[str] = []
    for operation in operations:
        failure = _fuzz(operation, seeded, db_session)
        if failure:
            failures.append(failure)
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)


def _fuzz(operation: Any, seeded: dict[str, Any], db_session: Session) -> str | None:
    """Run one operation's examples, valid and invalid; the first failure, or None."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    deadline = time.monotonic() + SECONDS_PER_OPERATION

    known = seeded["known"]

    @given(case=strategy, aim=st.booleans())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, aim: bool) -> None:
        if time.monotonic() > deadline:
            return  # this operation's share of the wall-time budget is spent
        if aim and case.path_parameters:  # reach past the 404s to the code behind them
            case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
        try:
            response = case.call(headers=seeded["headers"], cookies=seeded["cookies"])
        finally:
            db_session.rollback()  # as a request's own session would end; the next starts clean
        if response.status_code >= 500:
            raise AssertionError(f"answered {response.status_code}: {response.text[:300]}")
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # one report per operation, then the next
        return f"{operation.label}: {str(exc)[:1500]}"
    return None
