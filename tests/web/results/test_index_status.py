"""The results index says why a study takes no panelists: paused, closed by hand, or closed
because it reached its target of usable panelists (and how many of how many). The designer sets
each through the study's own fieldwork controls; the analyst reads the index."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_token, login
from tests.web.results.conftest import World, member
from web.accounts.models import Role
from web.settings import Settings
from web.studies.models import Integration

HTML = {"accept": "text/html"}
USABLE = 24  # the world's panelists: 12 on each of its two ads, all usable


def _status(client: TestClient, world: World) -> str:
    page = client.get("/results", headers=HTML)
    assert page.status_code == 200
    row = page.text.split(f'data-study="{world.study.id}"', 1)[1].split("</tr>", 1)[0]
    return row.split("<td data-status>", 1)[1].split("</td>", 1)[0]


# Each case: how the designer sets the study's first integration and all its others by hand
# (None: left open), its target and whether reaching it closes the study, and what the index
# then says.
CASES = {
    "fielding": ((None, None), None, False, "fielding"),
    "one integration still open": (("paused", None), None, False, "fielding"),
    "paused": (("paused", "paused"), None, False, "paused"),
    "closed by hand": (("closed", "closed"), None, False, "closed"),
    "one paused, one closed": (("paused", "closed"), None, False, "paused"),
    "closed by target": ((None, None), USABLE, True, f"closed: target reached ({USABLE} of 24)"),
    "by target, one closed by hand": (
        (None, "closed"),
        20,
        True,
        f"closed: target reached ({USABLE} of 20)",
    ),
    "target reached, closing not asked": ((None, None), USABLE, False, "fielding"),
    "target not reached yet": ((None, None), USABLE + 1, True, "fielding"),
    "paused by hand at target": (("paused", "paused"), USABLE, True, "paused"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_index_says_whether_a_study_is_fielding_paused_or_closed_and_why(
    client: TestClient, db_session: Session, settings: Settings, world: World, case: str
) -> None:
    by_hand, target, close_at_target, expected = CASES[case]
    integrations = list(
        db_session.scalars(select(Integration).where(Integration.study_id == world.study.id))
    )
    assert len(integrations) >= 2  # the factory gives each seeded panelist its own
    designer = member(db_session, "dee@acme.example", Role.DESIGNER, world.organisation)
    db_session.commit()

    login(client, settings, designer)
    first, rest = by_hand
    for i, integration in enumerate(integrations):
        status = first if i == 0 else rest
        if status is not None:
            response = client.post(
                f"/studies/{world.study.id}/integrations/{integration.id}/status",
                data={"status": status, "csrf_token": csrf_token(client)},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
    if target is not None:
        form = {"target_usable": str(target), "csrf_token": csrf_token(client)}
        if close_at_target:
            form["close_at_target"] = "on"
        response = client.post(f"/studies/{world.study.id}/fieldwork", data=form)
        assert response.status_code == 200, response.text

    login(client, settings, world.analyst)
    assert _status(client, world) == expected
    # What the index says agrees with what panelists arriving by the integrations meet.
    intakes = [
        client.get(f"/api/v1/panel/integrations/{integration.public_key}").json()["intake"]
        for integration in integrations
    ]
    assert ("open" in intakes) == (expected == "fielding"), (case, intakes)
