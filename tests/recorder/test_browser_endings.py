"""What the panelist is told at the end: where to use the receipt code (and that it works), and
no promise of a return to the survey when there is none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from candor.statuses import SessionStatus
from tests.recorder.helpers import (
    CAMERA_PROBE,
    Fielded,
    HostServer,
    LiveCandor,
    count_rows,
    panel_session,
    pass_preflight,
    recorder_url,
    wait_analysed,
)
from tests.support.factories import add_consent_text
from web.clips.models import ClipSecond, PanelSession
from web.studies.models import Integration, IntegrationStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_receipt_code_erases_the_recording_later(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study(durations=(2.0,))
    context = launch().new_context(viewport={"width": 900, "height": 760}, locale="fr-FR")
    page = context.new_page()
    page.goto(recorder_url(live_candor, fielded, locale="fr"))
    page.get_by_role("button", name="J'accepte").click()
    page.get_by_role("button", name="Allumer ma caméra").click()
    pass_preflight(page, check="Vérifier", start="Commencer")
    page.get_by_role("heading", name="Merci").wait_for(timeout=45000)
    receipt = page.locator("[data-receipt]").inner_text()
    session = panel_session(live_candor, fielded)
    (clip,) = wait_analysed(live_candor, session.id, expected=1)
    assert count_rows(live_candor, ClipSecond, clip.id) > 0

    # The thank-you screen says where the code is used, in the panelist's language.
    link = page.locator("a[data-action=erase]")
    assert link.inner_text() == f"{live_candor.base_url}/erase"
    with context.expect_page() as opened:
        link.click()
    erase = opened.value
    erase.wait_for_load_state()
    assert erase.locator("html").get_attribute("lang") == "fr"
    erase.get_by_label("Code de reçu").fill(receipt.lower().replace("-", " "))
    erase.get_by_role("button", name="Supprimer mes données").click()
    erase.get_by_role("heading", name="Vos données ont été supprimées").wait_for()

    assert count_rows(live_candor, ClipSecond, clip.id) == 0
    erased = panel_session(live_candor, fielded)
    assert erased.status == SessionStatus.WITHDRAWN and erased.respondent_hash == ""
    context.close()


def test_declining_without_a_return_url_does_not_promise_a_return(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study(durations=(2.0,))
    with live_candor.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        integration.return_url_template = ""  # a standalone link with nowhere to go back to
        session.commit()
    page = launch().new_page()
    page.goto(recorder_url(live_candor, fielded))
    page.get_by_role("button", name="No thanks").click()
    page.get_by_role("button", name="Not now").click()
    page.get_by_role("heading", name="No problem").wait_for()
    text = page.locator(".cr-screen").inner_text()
    assert "Your camera was not used." in text and "You can now close this window." in text
    assert "Returning you" not in text


def test_a_closed_study_says_so_politely_and_returns_closed(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(2.0,))
    with live_candor.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        integration.status = IntegrationStatus.CLOSED
        integration.return_url_template = (
            f"{host_server.base_url}/return?rid={{respondent_id}}&status={{status}}"
        )
        session.commit()
    page = launch().new_page()
    page.add_init_script(CAMERA_PROBE)
    page.goto(recorder_url(live_candor, fielded, rid="R_9"))
    page.get_by_role("heading", name="This study is closed").wait_for()
    assert "Nothing was recorded" in page.locator(".cr-screen").inner_text()
    assert page.evaluate("window.__camera.streams.length") == 0, "the camera was never asked"
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"rid": ["R_9"], "status": ["closed"]}
    with live_candor.session() as session:
        started = session.query(PanelSession).filter_by(integration_id=fielded.integration_id)
        assert started.count() == 0, "no session was started"


def test_a_consent_locale_the_recorder_lacks_speaks_the_designers_translation(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study(durations=(2.0,))
    with live_candor.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        add_consent_text(session, integration, "de", "Ich bin einverstanden, gefilmt zu werden.")
        integration.recorder_strings = {
            "de": {
                "consentTitle": "Bevor es losgeht",
                "agree": "Ich stimme zu",
                "decline": "Nein danke",
                "declineAskTitle": "Eine freiwillige Frage",
            }
        }
        session.commit()
    page = launch().new_page()
    page.goto(recorder_url(live_candor, fielded, locale="de"))
    page.get_by_role("heading", name="Bevor es losgeht").wait_for()
    assert (
        page.locator("#candor-recorder").evaluate(
            "host => host.shadowRoot.querySelector('.cr').getAttribute('lang')"
        )
        == "de"
    )
    assert page.get_by_role("button", name="Ich stimme zu").is_visible()
    page.get_by_role("button", name="Nein danke").click()
    page.get_by_role("heading", name="Eine freiwillige Frage").wait_for()
    # What the designer left out stays in English rather than empty.
    assert page.get_by_role("button", name="Continue").is_visible()
