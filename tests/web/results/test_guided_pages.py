"""What an analyst sees instead of raw JSON or a dead end: compare with too few ads guides,
malformed addresses and form mistakes are said in sentences, the index shows each study."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_token, login
from tests.web.results.conftest import World
from web.settings import Settings
from web.studies.models import Integration, IntegrationStatus

HTML = {"accept": "text/html"}


def _checked(page: str) -> list[str]:
    return re.findall(r'name="ad" value="(\d+)" checked', page)


def test_compare_with_none_or_one_ad_ticked_lists_the_ads_to_tick(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    none = client.get("/results/compare", headers=HTML)
    assert none.status_code == 200 and "data-compare-guide" in none.text
    assert "Tick two or more ads" in none.text
    assert f'value="{world.ad.id}"' in none.text and f'value="{world.other_ad.id}"' in none.text
    assert _checked(none.text) == []
    one = client.get(f"/results/compare?ad={world.ad.id}", headers=HTML)
    assert one.status_code == 400 and "tick at least one more" in one.text
    assert _checked(one.text) == [str(world.ad.id)]
    assert "{" not in one.text.split("<main", 1)[1].split("</form>", 1)[0].replace("{{", "")


def test_malformed_addresses_get_a_sentence_not_json(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    page = client.get("/results/ads/abc", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "This address is not right." in page.text and "Enter a whole number" in page.text
    assert '"detail"' not in page.text and "int_parsing" not in page.text
    bad_query = client.get(f"/results/compare?ad={world.ad.id}&ad=x", headers=HTML)
    assert bad_query.status_code == 400 and "“ad” (it is “x”)" in bad_query.text
    # API clients keep the JSON they can parse.
    assert client.get("/api/v1/ads/abc/curves").json()["detail"][0]["type"] == "int_parsing"


def test_form_mistakes_read_as_sentences(client: TestClient) -> None:
    form = {
        "email": "new@example.org",
        "name": "",
        "password": "short",
        "organisation_name": "Acme",
        "csrf_token": csrf_token(client),
    }
    response = client.post("/signup", data=form, headers=HTML)
    assert response.status_code == 400
    assert "Write at least 10 characters." in response.text
    assert "This is required." in response.text  # the empty name
    assert "String should have" not in response.text


def test_the_results_index_shows_panelists_status_and_last_activity(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    page = client.get("/results", headers=HTML).text
    row = page.split(f'data-study="{world.study.id}"', 1)[1].split("</tr>", 1)[0]
    assert "<td data-panelists>24</td>" in row
    assert "<td data-status>fielding</td>" in row
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", row)
    for integration in db_session.scalars(
        select(Integration).where(Integration.study_id == world.study.id)
    ):
        integration.status = IntegrationStatus.CLOSED  # every way in is closed
    db_session.commit()
    page = client.get("/results", headers=HTML).text
    row = page.split(f'data-study="{world.study.id}"', 1)[1].split("</tr>", 1)[0]
    assert "<td data-status>closed</td>" in row  # each case: tests/web/results/test_index_status
