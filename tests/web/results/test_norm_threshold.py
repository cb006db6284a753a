"""The organisation norm is shown only from a minimum number of ads with results (setting
min_norm_ads, default 5), and the pages say how many it rests on or why it is missing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.settings import Settings

HTML = {"accept": "text/html"}


def test_the_norm_waits_for_enough_ads_and_says_how_many_it_rests_on(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    assert settings.min_norm_ads == 5
    login(client, settings, world.analyst)
    pair = f"ad={world.ad.id}&ad={world.other_ad.id}"

    norms = client.get(f"/api/v1/organisations/{world.organisation.id}/norms").json()
    assert (norms["n_ads"], norms["min_ads"], norms["figures"]) == (2, 5, {})
    assert client.get(f"/api/v1/compare?{pair}").json()["norms_band"] == {}
    page = client.get(f"/results/studies/{world.study.id}", headers=HTML).text
    assert "data-norm-withheld" in page and "at least 5 ads have results" in page
    assert "(now 2 ads)" in page
    compare_page = client.get(f"/results/compare?{pair}", headers=HTML).text
    assert "No norm band" in compare_page

    for i in range(3):
        ad = make_ad(db_session, world.study, duration_s=8, title=f"Ad {i}")
        add_panelist(db_session, ad, {"attention": flat(0.8, 8), "smile": flat(0.1 * i, 8)})
    db_session.commit()
    norms = client.get(f"/api/v1/organisations/{world.organisation.id}/norms").json()
    assert norms["n_ads"] == 5 and norms["figures"]["attention_share"] is not None
    assert client.get(f"/api/v1/compare?{pair}").json()["norms_band"]["attention"]["n_ads"] == 5
    page = client.get(f"/results/studies/{world.study.id}", headers=HTML).text
    assert "data-norm-withheld" not in page and "over 5 ads" in page
