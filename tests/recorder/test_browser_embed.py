"""The recorder embedded in a survey on another origin: a cross-origin iframe (as Qualtrics or
LimeSurvey would hold it), a sandboxed one that may not navigate the survey, and a script tag."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from candor.statuses import SessionStatus
from tests.recorder.helpers import (
    Fielded,
    HostServer,
    LiveCandor,
    consent_decisions,
    panel_session,
    recorder_url,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LISTENER = """<script>
window.__messages = [];
addEventListener("message", (e) => window.__messages.push({ origin: e.origin, data: e.data }));
</script>"""


def survey_page(body: str) -> str:
    head = f"<title>Survey</title>{LISTENER}"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def test_cross_origin_iframe_in_french_completes_and_returns_the_top_window(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(2.0, 2.0))
    src = recorder_url(live_candor, fielded, rid="R_9", locale="fr", age="35-44")
    host_server.pages["/iframe-survey"] = survey_page(
        "<h1>Page 2</h1>"
        f'<iframe id="candor" src="{src}" allow="camera; autoplay" '
        'style="width:900px;height:720px;border:0"></iframe>'
    )
    page = launch().new_page(viewport={"width": 960, "height": 900})
    page.goto(f"{host_server.base_url}/iframe-survey")
    assert urlsplit(page.url).netloc != urlsplit(live_candor.base_url).netloc, "cross-origin"
    frame = page.frame_locator("#candor")
    frame.get_by_text("J'accepte d'être filmé·e.").wait_for()
    frame.get_by_role("button", name="J'accepte").click()
    frame.get_by_role("button", name="Allumer ma caméra").click()
    frame.get_by_role("button", name="Vérifier").click()
    frame.get_by_role("button", name="Commencer").click(timeout=15000)
    frame.get_by_role("heading", name="Merci").wait_for(timeout=45000)
    receipt = frame.locator("[data-receipt]").inner_text()
    frame.get_by_role("link", name="Continuer le questionnaire").click()
    page.wait_for_url(f"{host_server.base_url}/return?*", timeout=15000)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"rid": ["R_9"], "status": ["complete"], "receipt": [receipt]}
    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE
    assert session.locale == "fr"
    assert session.passthrough == {"age": "35-44"}


def test_sandboxed_iframe_that_may_not_navigate_tells_the_parent_by_postmessage(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study()
    src = recorder_url(live_candor, fielded, rid="R_11")
    host_server.pages["/sandboxed-survey"] = survey_page(
        f'<iframe id="candor" src="{src}" sandbox="allow-scripts allow-same-origin" '
        'allow="camera; autoplay" style="width:900px;height:600px;border:0"></iframe>'
    )
    page = launch().new_page()
    page.goto(f"{host_server.base_url}/sandboxed-survey")
    frame = page.frame_locator("#candor")
    frame.get_by_role("button", name="No thanks").click()
    frame.get_by_role("button", name="Continue").click()
    frame.get_by_role("heading", name="No problem").wait_for()
    messages = wait_for(lambda: page.evaluate("window.__messages"), timeout=10, what="a message")
    assert messages == [
        {
            "origin": live_candor.base_url,
            "data": {
                "type": "candor:return",
                "status": "declined",
                "url": f"{host_server.base_url}/return?rid=R_11&status=declined&receipt=",
                "receipt": None,
            },
        }
    ]
    assert page.url == f"{host_server.base_url}/sandboxed-survey", "the survey was not navigated"
    link = frame.get_by_role("link", name="Continue the survey")
    assert link.get_attribute("href") == messages[0]["data"]["url"]
    session = panel_session(live_candor, fielded)
    assert consent_decisions(live_candor, session.id) == ["decline"]


def test_script_tag_on_a_plain_page_of_another_origin(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(2.0,))
    passthrough = json.dumps({"age": "18-24"}).replace('"', "&quot;")
    host_server.pages["/plain"] = survey_page(
        "<h1>Our study</h1><div id='here'></div>"
        f'<script type="module" src="{live_candor.base_url}/recorder/candor-recorder.js" '
        f'data-integration="{fielded.public_key}" data-respondent-id="R_5" data-locale="en" '
        f'data-target="#here" data-passthrough="{passthrough}"></script>'
    )
    page = launch().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{host_server.base_url}/plain")
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("button", name="Check").click()
    page.get_by_role("button", name="Start").click(timeout=15000)
    page.get_by_role("heading", name="Thank you").wait_for(timeout=30000)
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*")
    assert parse_qs(urlsplit(page.url).query)["status"] == ["complete"]
    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE
    assert session.passthrough == {"age": "18-24"}
    assert errors == []
