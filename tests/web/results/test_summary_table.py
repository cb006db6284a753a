"""The summary table reads plainly: no "peak" of 0.00, valence on labelled lines, and an ad with
no analysed panelist says "no data yet" instead of drawing empty axes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad, make_study
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.settings import Settings

SECONDS = 8


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_emotions_and_smiles_that_never_rose_read_no_peak(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    study = make_study(db_session, world.organisation, name="Still faces", emotion_mode=True)
    ad = make_ad(db_session, study, duration_s=SECONDS, title="Calm ad")
    valence = [0.1, -0.4, 0.0, 0.2, 0.55, 0.3, 0.1, 0.0]
    for _ in range(12):
        curves = {
            "attention": flat(0.9, SECONDS),
            "smile": flat(0.01, SECONDS),
            "anger": flat(0.0, SECONDS),
            "joy": flat(0.0, SECONDS),
            "valence": valence,
        }
        add_panelist(db_session, ad, curves)
    login(client, settings, world.analyst)
    for path in (f"/results/ads/{ad.id}", f"/results/studies/{study.id}"):
        text = _text(client.get(path).text)
        assert "0.00 at" not in text and "0.01 at" not in text, path
        # Smile peak and top emotion peaks both say so.
        assert text.count("no peak") >= 2, path
        assert "mean 0.11 lowest -0.40 at 1 s highest 0.55 at 4 s" in text, path
        assert "[lowest, highest second]" not in text, path
    assert client.get(f"/api/v1/ads/{ad.id}/summary").json()["emotions"]["peaks"] == []


def test_an_ad_with_no_panelists_says_no_data_yet(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    empty = make_ad(db_session, world.study, duration_s=SECONDS, title="Not fielded")
    login(client, settings, world.analyst)
    page = client.get(f"/results/ads/{empty.id}").text
    assert "No data yet: no panelist of this ad has been analysed" in _text(page)
    assert 'id="chart"' not in page and 'id="numbers"' not in page
    study = _text(client.get(f"/results/studies/{world.study.id}").text)
    assert "Not fielded" in study and "no data yet" in study
    # An ad with data keeps its chart.
    assert 'id="chart"' in client.get(f"/results/ads/{world.ad.id}").text
