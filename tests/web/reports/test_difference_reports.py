"""The reports carry the difference tests: the compare PNG and the study PDF's comparison page,
read back (the PDF's text, the PNG's hatched seconds)."""

from __future__ import annotations

import io
import re

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_study
from tests.web.results.conftest import member
from tests.web.results.test_differences import seed_ads
from web.accounts.models import Organisation, Role
from web.reports import compare_render
from web.reports.compare_content import compare_report
from web.settings import Settings


def _text(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_the_study_pdf_compares_its_ads_and_says_where_they_differ(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    organisation = Organisation(name="Acme Research")
    study = make_study(db_session, organisation, name="Lift test")
    seed_ads(db_session, study, 1, 0.3)
    login(client, settings, member(db_session, "ana@acme.example", Role.ANALYST, organisation))
    response = client.get(f"/results/studies/{study.id}/report.pdf")
    assert response.status_code == 200
    pages = _text(response.content)
    assert len(pages) == 4  # two ads, the two compared, data quality
    compared = pages[2]
    assert "Lift test: the ads compared" in compared
    assert "3\u20136 s, Lifted is higher than Plain" in compared
    assert "Benjamini-Hochberg" in compared and "Welch t test" in compared
    # Attention is alike in both: said so, not flagged.
    assert re.search(r"Attention: Lifted and Plain: no second differs", compared)


def test_a_study_whose_ads_have_no_panelists_has_no_comparison_page(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    organisation = Organisation(name="Acme Research")
    study = make_study(db_session, organisation, name="Solo")
    seed_ads(db_session, study, 1, 0.3, n=0)  # two ads, no panelist yet
    login(client, settings, member(db_session, "ana@acme.example", Role.ANALYST, organisation))
    pages = _text(client.get(f"/results/studies/{study.id}/report.pdf").content)
    assert len(pages) == 3 and not any("compared" in p for p in pages)


def _hatched_columns(png: bytes) -> list[int]:
    """x of the columns where the hatch's light amber (#e69f00 at 15% on white: 251, 240, 217)
    fills a good part of the height: drawn over whole seconds, top to bottom of the axes."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    fill = (np.abs(image - np.array([251, 240, 217])) <= 3).all(axis=2)
    return sorted(np.nonzero(fill.sum(axis=0) >= 60)[0].tolist())


def test_the_compare_png_hatches_the_seconds_that_differ(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    organisation = Organisation(name="Acme Research")
    study = make_study(db_session, organisation)
    plain, lifted = seed_ads(db_session, study, 2, 0.3)
    login(client, settings, member(db_session, "ana@acme.example", Role.ANALYST, organisation))
    response = client.get(f"/results/compare/report.png?ad={plain.id}&ad={lifted.id}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert 'filename="compare-Plain-vs-Lifted.png"' in response.headers["content-disposition"]
    assert Image.open(io.BytesIO(response.content)).size == (1200, 800)
    # The hatch covers 4 of the 10 seconds of the axis: a band of columns that wide, in one
    # block; with no real difference (alike ads) there is no hatch at all.
    columns = _hatched_columns(response.content)
    report = compare_report(db_session, settings, [plain, lifted], organisation.id, "x")
    assert report.tested.metrics["smile"].significant_seconds == [3, 4, 5, 6]
    alike_a, alike_b = seed_ads(db_session, study, 11, 0.0)
    alike = compare_render.compare_png(
        compare_report(db_session, settings, [alike_a, alike_b], organisation.id, "y")
    )
    assert _hatched_columns(alike) == []
    assert columns, "no hatched seconds drawn"
    span = columns[-1] - columns[0]
    # The plot is ~65% of 1200 px wide for 10 s: 4 s are ~310 px (tolerance for the layout).
    assert 220 < span < 400


def test_the_compare_page_links_its_png(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    organisation = Organisation(name="Acme Research")
    study = make_study(db_session, organisation)
    plain, lifted = seed_ads(db_session, study, 2, 0.3, n=6)
    login(client, settings, member(db_session, "ana@acme.example", Role.ANALYST, organisation))
    page = client.get(f"/results/compare?ad={plain.id}&ad={lifted.id}").text
    assert f'href="/results/compare/report.png?ad={plain.id}&amp;ad={lifted.id}"' in page
    other = member(db_session, "olga@other.example", Role.OWNER, Organisation(name="Other"))
    login(client, settings, other)
    assert (
        client.get(f"/results/compare/report.png?ad={plain.id}&ad={lifted.id}").status_code == 404
    )


def test_the_segments_png_hatches_where_the_groups_differ(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    from tests.web.results.test_differences import _segments_world

    ad, analyst = _segments_world(db_session, settings)
    login(client, settings, analyst)
    base = f"/results/ads/{ad.id}/segments/report.png"
    response = client.get(f"{base}?var=region&metric=smile")
    assert response.status_code == 200, response.text
    assert 'filename="Split-by-region.png"' in response.headers["content-disposition"]
    columns = _hatched_columns(response.content)
    assert columns and 220 < columns[-1] - columns[0] < 400  # 3-6 s of a 10 s axis
    attention = client.get(f"{base}?var=region&metric=attention")
    assert attention.status_code == 200 and _hatched_columns(attention.content) == []
    assert client.get(f"{base}?var=region&metric=joy").status_code == 400
    assert client.get(f"{base}?var=shoe_size").status_code == 400
    assert client.get(base).status_code == 422
    page = client.get(f"/results/ads/{ad.id}/segments?var=region&metric=smile").text
    assert f'href="{base}?var=region&amp;metric=smile"' in page
