"""Client reports: a PNG per ad and a PDF per study, for members and through share links."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, csrf_token, login
from tests.support.factories import make_ad, make_study
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.db import utcnow
from web.reports import render
from web.reports.content import AdReport, StudyReport
from web.reports.models import ReportLink
from web.reports.study_pdf import study_pdf
from web.results.schemas import (
    AdCurves,
    AdSummaryOut,
    KeyMomentOut,
    KeyMoments,
    MetricCurve,
    Progress,
    Quality,
    SegmentCurves,
)
from web.settings import Settings
from web.studies.models import Ad, Study

HTML = {"accept": "text/html"}


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _share(client: TestClient, study: Study, **form: str) -> str:
    """Create a link on the share page; the URL it shows once."""
    page = client.post(
        f"/results/studies/{study.id}/share",
        data={"label": "Brand team", "days": "7", **form, "csrf_token": csrf_token(client)},
        headers=HTML,
    )
    assert page.status_code == 201, page.text
    match = re.search(r'value="(http[^"]+/report/[^"]+)"', page.text)
    assert match, page.text
    return match.group(1).split("/report/")[1]


def test_the_study_pdf_has_a_page_per_ad_then_quality(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    # A designer's preview counts nowhere, in the report too: n stays 12.
    add_panelist(db_session, world.ad, {"attention": flat(1.0, 8)}, preview=True)
    login(client, settings, world.analyst)
    response = client.get(f"/results/studies/{world.study.id}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    pages = _pages(response.content)
    assert len(pages) == 4  # two ads in their set order, the two compared, data quality
    assert "Sunny day" in pages[0] and "n = 12 panelists" in pages[0]
    assert "Rainy day" in pages[1] and "n = 12 panelists" in pages[1]
    assert "Key moments" in pages[0] and "#1" in pages[0]  # the smile peak at 5 s
    assert "the ads compared" in pages[2] and "Welch t test" in pages[2]
    assert "data quality" in pages[3] and "Consent rate" in pages[3]
    # Emotion mode is off: nothing emotion-shaped is drawn or named.
    assert not any("inferred" in page.lower() for page in pages)


def test_the_ad_png_decodes_at_its_size(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/results/ads/{world.ad.id}/report.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert 'filename="Sunny-day.png"' in response.headers["content-disposition"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (1200, 800)
    # Something is drawn: more than the white page and a few greys.
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 50


def test_the_ad_and_study_pages_link_to_the_report(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    ad_page = client.get(f"/results/ads/{world.ad.id}", headers=HTML).text
    assert f'href="/results/ads/{world.ad.id}/report.png"' in ad_page
    assert f'href="/results/studies/{world.study.id}/report.pdf"' in ad_page
    assert f'href="/results/studies/{world.study.id}/share"' in ad_page
    study_page = client.get(f"/results/studies/{world.study.id}", headers=HTML).text
    assert f'href="/results/studies/{world.study.id}/share"' in study_page


def test_a_share_link_opens_the_report_without_an_account_until_revoked(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    token = _share(client, world.study)
    link = db_session.scalar(select(ReportLink))
    assert link is not None and link.label == "Brand team"
    # Only a hash of the token is stored.
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert (link.expires_at - utcnow()) > timedelta(days=6, hours=23)
    revoke_form = client.get(f"/results/studies/{world.study.id}/share", headers=HTML).text
    assert "Brand team" in revoke_form and token not in revoke_form  # shown once only

    client.cookies.clear()  # a client with no Candor account
    page = client.get(f"/report/{token}", headers=HTML)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in page.headers["x-robots-tag"] and page.headers["cache-control"] == "no-store"
    assert f'src="/report/{token}/ads/{world.ad.id}.png"' in page.text
    # While each picture is drawn, its frame holds its place and says so (not a blank page).
    assert "Drawing the curves of Sunny day" in page.text and 'class="report-frame"' in page.text
    assert "Log in" not in page.text
    png = client.get(f"/report/{token}/ads/{world.ad.id}.png")
    assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).size == (1200, 800)
    pdf = client.get(f"/report/{token}/report.pdf")
    assert pdf.status_code == 200 and len(_pages(pdf.content)) == 4  # 2 ads, compared, quality
    # An ad of another study is not reachable through this link.
    other = make_ad(db_session, make_study(db_session, world.organisation), title="Secret")
    assert client.get(f"/report/{token}/ads/{other.id}.png").status_code == 404
    db_session.refresh(link)
    assert link.last_opened_at is not None

    login(client, settings, world.analyst)
    revoked = client.post(
        f"/results/studies/{world.study.id}/share/{link.id}/revoke",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    client.cookies.clear()
    for url in (f"/report/{token}", f"/report/{token}/report.pdf"):
        gone = client.get(url, headers=HTML)
        assert gone.status_code == 404 and "expired or been revoked" in gone.text


def test_expired_and_unknown_links_do_not_open(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    token = _share(client, world.study)
    link = db_session.scalar(select(ReportLink))
    assert link is not None
    link.expires_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    client.cookies.clear()
    assert client.get(f"/report/{token}").status_code == 404
    assert client.get(f"/report/{'x' * 43}").status_code == 404
    assert client.get("/report/short").status_code == 404


def test_the_links_api_needs_membership_and_csrf(
    client: TestClient, settings: Settings, world: World
) -> None:
    url = f"/api/v1/studies/{world.study.id}/report-links"
    login(client, settings, world.outsider)
    assert client.post(url, json={}, headers=csrf_headers(client)).status_code == 404
    login(client, settings, world.analyst)
    assert client.post(url, json={}).status_code == 403  # no CSRF token
    assert client.post(url, json={"days": 0}, headers=csrf_headers(client)).status_code == 422
    created = client.post(url, json={"label": "Agency"}, headers=csrf_headers(client))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "active" and "/report/" in body["url"]
    listed = client.get(url).json()
    assert [link["label"] for link in listed] == ["Agency"] and "url" not in listed[0]
    deleted = client.delete(f"{url}/{body['id']}", headers=csrf_headers(client))
    assert deleted.status_code == 200 and deleted.json()["state"] == "revoked"
    token = body["url"].split("/report/")[1]
    client.cookies.clear()
    assert client.get(f"/report/{token}/report.pdf").status_code == 404


def _curve(metric: str, values: list[float]) -> MetricCurve:
    return MetricCurve(
        metric=metric,
        n=[20] * len(values),
        mean=list(values),
        ci_low=[v - 0.05 for v in values],
        ci_high=[v + 0.05 for v in values],
    )


def test_in_emotion_mode_the_report_draws_valence_and_emotions_labelled_as_inferred() -> None:
    study = Study(id=1, name="Feelings", emotion_mode=True, organisation_id=1)
    ad = Ad(id=7, study_id=1, title="Puppy", duration_s=4.0)
    metrics = {
        "attention": [0.9] * 4,
        "smile": [0.1, 0.2, 0.6, 0.2],
        "valence": [0.0, 0.2, 0.7, 0.1],
        "joy": [0.1, 0.3, 0.8, 0.2],
        "surprise": [0.0, 0.4, 0.1, 0.0],
    }
    curves = AdCurves(
        ad_id=7, study_id=1, title="Puppy", duration_s=4.0, seconds=[0, 1, 2, 3],
        overall=SegmentCurves(segment_var="", segment_value="", n=20,
                              curves={m: _curve(m, v) for m, v in metrics.items()}),
        min_cell_size=10, segment_variables=[],
    )  # fmt: skip
    report = AdReport(
        ad=ad,
        curves=curves,
        summary=AdSummaryOut(
            ad_id=7,
            study_id=1,
            title="Puppy",
            duration_s=4.0,
            n=20,
            attention_share=0.9,
            expressiveness=0.3,
            smile_peak_s=2,
            smile_peak=0.6,
            blink_rate_per_min=12.0,
        ),
        moments=KeyMoments(
            ad_id=7,
            metrics=["smile"],
            min_attention=0.5,
            min_lift=0.1,
            min_separation_s=2,
            moments=[],
        ),
        metrics=("attention", "smile"),
        emotion_metrics=("valence", "joy", "surprise"),
    )
    quality = Quality(
        study_id=1, sessions=25, sessions_by_status={}, consent_decisions=22, consented=20,
        declined=2, consent_rate=20 / 22, no_camera=1, withdrawn=0, decline_reasons=[],
        usable_sessions=20, clips=Progress(done=20), usable_clips=20, face_found_share=0.97,
        exclusions={"no_face": 0},
    )  # fmt: skip
    pdf = study_pdf(StudyReport(study, "Acme", utcnow(), [report], quality, emotions=True))
    pages = _pages(pdf)
    assert len(pages) == 2
    assert "Puppy" in pages[0] and "n = 20 panelists" in pages[0]
    # The derivation is a served page, not a file of the repository.
    for words in ("Valence (inferred)", "Joy (inferred)", "Surprise (inferred)", "/help/emotions"):
        assert words in pages[0], words
    assert "docs/" not in pages[0]
    assert "No key moment" in pages[0]
    assert "emotion mode on" in pages[1]
    assert "Erased later by receipt code" in pages[1]


def _plain_report(n: int, moments: list[KeyMomentOut]) -> AdReport:
    """A 6 s ad whose attention sits at 1.0 throughout, with the given key moments."""
    seconds = list(range(6)) if n else []
    metrics = {"attention": [1.0] * len(seconds), "smile": [0.2] * len(seconds)}
    curves = AdCurves(
        ad_id=7, study_id=1, title="Puppy", duration_s=6.0, seconds=seconds,
        overall=SegmentCurves(segment_var="", segment_value="", n=n,
                              curves={m: _curve(m, v) for m, v in metrics.items()}),
        min_cell_size=10, segment_variables=[],
    )  # fmt: skip
    summary = AdSummaryOut(
        ad_id=7, study_id=1, title="Puppy", duration_s=6.0, n=n, attention_share=None,
        expressiveness=None, smile_peak_s=None, smile_peak=None, blink_rate_per_min=None,
    )  # fmt: skip
    key_moments = KeyMoments(
        ad_id=7, metrics=["smile"], min_attention=0.5, min_lift=0.1, min_separation_s=3,
        moments=moments,
    )  # fmt: skip
    return AdReport(Ad(id=7, study_id=1, title="Puppy", duration_s=6.0), curves, summary,
                    key_moments, ("attention", "smile"), ())  # fmt: skip


def test_key_moments_are_marked_at_their_second_and_attention_at_1_is_inside_the_axes() -> None:
    moment = KeyMomentOut(rank=1, second=4, metric="smile", value=0.6, lift=0.4, attention=1.0)
    figure = render.ad_figure(_plain_report(20, [moment]), "Study", (11, 6))
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    curves = figure.axes[0]
    dashed = [line for line in curves.get_lines() if line.get_linestyle() == "--"]
    assert [list(line.get_xdata()) for line in dashed] == [[4, 4]]  # "4 s", not 4.5
    low, high = curves.get_ylim()
    assert low < 0.0 and high > 1.0  # a curve at 1.0 is not drawn on the frame
    # The legend sits above the axes, off the key moment's label and the curves' ends.
    legend = curves.get_legend()
    assert legend is not None
    assert legend.get_window_extent(renderer).y0 >= curves.get_window_extent(renderer).y1 - 1


def test_a_report_of_an_ad_with_no_panelists_says_so_and_fits_its_page() -> None:
    figure = render.ad_figure(_plain_report(0, []), "Study", (11.69, 8.27))
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    page = figure.bbox
    # The report's own words: title, the text column, annotations (not the axes' tick labels,
    # which matplotlib keeps, undrawn, beyond the limits).
    texts = [
        t for t in (*figure.texts, *(t for ax in figure.axes for t in ax.texts)) if t.get_text()
    ]
    assert any("No data yet" in t.get_text() for t in texts)
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, text.get_text()


# Every kind of character a title can hold that a chart or PDF library might read as markup:
# mathtext ($…$, \command, ^, _), printf (%), emoji (no glyph in the default font) and RTL.
NASTY = "Price $5 and \\notacommand$ end 100% a_b^c $x^2$ 🎉 مرحبا עברית"


def test_every_title_is_printed_as_typed_in_png_and_pdf_also_through_a_share_link(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    world.ad.title = f"Ad: {NASTY}"
    world.other_ad.title = "$\\frac{1}{0}$ \\\\ ^^ __ %s %(x)d"
    world.study.name = f"Study: {NASTY}"
    world.organisation.name = f"Org: {NASTY}"
    db_session.flush()
    login(client, settings, world.analyst)
    token = _share(client, world.study)
    urls = {
        "png": [
            f"/results/ads/{world.ad.id}/report.png",
            f"/results/ads/{world.other_ad.id}/report.png",
        ],
        "pdf": [f"/results/studies/{world.study.id}/report.pdf"],
    }
    for who in ("analyst", "share link"):
        if who == "share link":
            client.cookies.clear()
            urls = {
                "png": [f"/report/{token}/ads/{world.ad.id}.png",
                        f"/report/{token}/ads/{world.other_ad.id}.png"],
                "pdf": [f"/report/{token}/report.pdf"],
            }  # fmt: skip
        for url in urls["png"]:
            png = client.get(url)
            assert png.status_code == 200, (who, url, png.text[:200])
            assert Image.open(io.BytesIO(png.content)).size == (1200, 800)
        pdf = client.get(urls["pdf"][0])
        assert pdf.status_code == 200, (who, pdf.text[:200])
        pages = _pages(pdf.content)
        # Drawn as typed: the dollars, backslash, caret and underscore are there, not typeset.
        assert "Price $5 and \\notacommand$ end 100% a_b^c $x^2$" in pages[0], pages[0][:300]
        assert "$\\frac{1}{0}$" in pages[1]
        assert "Study: Price $5" in pages[0] and "Study: Price $5" in pages[2]
        # Right-to-left words are drawn in reading order (stored in display order), not reversed.
        assert "תירבע" in pages[0] and "עברית" not in pages[0]
        meta = PdfReader(io.BytesIO(pdf.content)).metadata
        assert meta is not None and meta.title == f"Study: {NASTY}: Candor report"


def test_a_report_route_s_headers_hold_for_its_refusals_and_the_login_redirect_stays(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    # Logged out, a browser is still sent to the login page (the app's own handler answers
    # inside the route class), and an API caller gets the 401 in the one error shape.
    client.cookies.clear()
    page = client.get(
        f"/results/studies/{world.study.id}/report.pdf", headers=HTML, follow_redirects=False
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert page.headers["cache-control"] == "private, no-store"
    api = client.get(f"/results/studies/{world.study.id}/report.pdf")
    assert api.status_code == 401 and set(api.json()) >= {"detail", "code"}
    # A member's refusal carries the members' headers, a link's refusal the public ones.
    login(client, settings, world.analyst)
    missing = client.get("/results/ads/999999/report.png")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "private, no-store"
    unknown = client.get("/report/not-a-token", headers=HTML)
    assert unknown.status_code == 404
    assert unknown.headers["referrer-policy"] == "no-referrer"
    assert unknown.headers["cache-control"] == "no-store"
