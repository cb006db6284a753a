"""The results pages in real headless Chromium against a real server and PostgreSQL: the curves
are drawn (pixels of each curve's colour and of its band), the playhead follows the video, a
click and the arrow keys seek it, key moments jump to their second."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, object_session

from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import SECRET, ResultsServer
from tests.support.factories import make_ad, make_integration, make_study
from tests.web.results.seed import add_panelist
from web.accounts.auth import COOKIE_NAME, hash_password, login_cookie_value
from web.accounts.models import Membership, Organisation, Role, User
from web.settings import Settings
from web.studies.models import Study

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
ORG_NAME = "Browser Test Org (results e2e)"
USER_EMAIL = "browser-analyst@results-e2e.example"
AD_SECONDS = 12
PANELISTS = 30


def _write_ad_video(path: Path, seconds: int) -> None:
    """A small VP8 webm the browser can play: a moving bar on a changing background."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(seconds * 10):
            image = np.full((180, 320, 3), (40, 40 + i, 90), np.uint8)
            image[:, (i * 3) % 320, :] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _curves(i: int) -> dict[str, list[float | None]]:
    """Attention high throughout; a smile peak at 6 s and a brow raise at 2 s, with noise."""
    rng = np.random.default_rng(i)
    seconds = np.arange(AD_SECONDS)
    smile = 0.15 + 0.5 * np.exp(-((seconds - 6) ** 2) / 2) + rng.normal(0, 0.06, AD_SECONDS)
    brow = 0.1 + 0.3 * np.exp(-((seconds - 2) ** 2)) + rng.normal(0, 0.05, AD_SECONDS)
    attention = np.clip(0.85 + rng.normal(0, 0.08, AD_SECONDS), 0, 1)
    return {
        "attention": [float(v) for v in attention],
        "smile": [float(np.clip(v, 0, 1)) for v in smile],
        "brow_raise": [float(np.clip(v, 0, 1)) for v in brow],
        "brow_furrow": [float(v) for v in np.clip(rng.normal(0.05, 0.02, AD_SECONDS), 0, 1)],
        "jaw_drop": [float(v) for v in np.clip(rng.normal(0.1, 0.03, AD_SECONDS), 0, 1)],
        "blinks": [float(rng.integers(0, 2)) for _ in seconds],
    }


@dataclass
class Seeded:
    user: User
    ad_id: int
    other_ad_id: int
    study_id: int
    emotion_ad_id: int


def _emotion_curves(i: int) -> dict[str, list[float | None]]:
    """Valence dips at 3 s and rises at 8 s; joy peaks at 8 s."""
    seconds = np.arange(AD_SECONDS)
    valence = 0.7 * np.exp(-((seconds - 8) ** 2) / 2) - 0.6 * np.exp(-((seconds - 3) ** 2) / 2)
    joy = 0.1 + 0.6 * np.exp(-((seconds - 8) ** 2) / 2)
    return {
        "attention": [0.9] * AD_SECONDS,
        "smile": [float(v) for v in joy],
        "valence": [float(v + 0.01 * (i % 3)) for v in valence],
        "joy": [float(v + 0.01 * (i % 4)) for v in joy],
        "engagement": [0.4 + 0.01 * (i % 5)] * AD_SECONDS,
    }


@pytest.fixture
def seeded(pg_engine: Engine, results_server: ResultsServer) -> Iterator[tuple[Seeded, Settings]]:
    """Committed rows (the server is another process), removed again afterwards; the ads'
    videos in the shared server's data directory."""
    settings = Settings(
        environment="test", secret_key=SECRET, data_dir=results_server.data_dir,
        database_url=TEST_DATABASE_URL,
    )  # fmt: skip
    settings.ads_dir.mkdir(parents=True, exist_ok=True)
    with Session(pg_engine, expire_on_commit=False) as session:
        _remove(session)  # whatever an interrupted earlier run left behind
        organisation = Organisation(name=ORG_NAME)
        user = User(email=USER_EMAIL, password_hash=hash_password("pw-12345678"))
        session.add_all([organisation, user])
        session.flush()
        session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=Role.ANALYST))
        study = make_study(session, organisation, name="Browser study")
        ad = make_ad(session, study, duration_s=AD_SECONDS, title="Bright morning")
        ad.content_type = "video/webm"
        other = make_ad(session, study, duration_s=20, title="Long evening")
        emotion_study = make_study(session, organisation, name="Feelings", emotion_mode=True)
        emotion_ad = make_ad(session, emotion_study, duration_s=AD_SECONDS, title="Warm night")
        emotion_ad.content_type = "video/webm"
        for i in range(PANELISTS):
            add_panelist(session, ad, _curves(i), {"age": "18-34" if i < 18 else "35+"})
            add_panelist(session, other, {"attention": [0.6] * 20, "smile": [0.2] * 20})
            add_panelist(session, emotion_ad, _emotion_curves(i))
        session.commit()
        try:
            _write_ad_video(settings.ads_dir / ad.storage_key, AD_SECONDS)
            _write_ad_video(settings.ads_dir / emotion_ad.storage_key, AD_SECONDS)
            yield Seeded(user, ad.id, other.id, study.id, emotion_ad.id), settings
        finally:
            session.rollback()
            _remove(session)


def _session_of(user: User) -> Session:
    session = object_session(user)
    assert session is not None
    return session


def _remove(session: Session) -> None:
    """Delete the seeded organisation (its studies, ads and curves cascade) and user."""
    session.execute(delete(Organisation).where(Organisation.name == ORG_NAME))
    session.execute(delete(User).where(User.email == USER_EMAIL))
    session.commit()


@pytest.fixture
def server(seeded: tuple[Seeded, Settings], results_server: ResultsServer) -> str:
    """The shared server's URL, once this test's rows are in (tests/e2e/conftest.py)."""
    return results_server.base_url


# Count canvas pixels near a colour within an alpha range: opaque for lines, faint for bands
# (the canvas is transparent, so a 16% band is the curve's colour at alpha ~41).
COUNT_PIXELS = """([selector, colours]) => {
  const canvas = document.querySelector(selector + ' canvas');
  const ctx = canvas.getContext('2d');
  const {data} = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const out = {};
  for (const [name, [r, g, b, minA, maxA]] of Object.entries(colours)) {
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] >= minA && data[i + 3] <= maxA && Math.abs(data[i] - r) < 30
          && Math.abs(data[i + 1] - g) < 30 && Math.abs(data[i + 2] - b) < 30) n++;
    }
    out[name] = n;
  }
  return out;
}"""


@pytest.fixture
def browser_page(
    server: str, seeded: tuple[Seeded, Settings], playwright_driver: Any
) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} missing: run scripts/setup --dev as root (apt-get install chromium)"
        )
    data, settings = seeded
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    cookie = login_cookie_value(settings, _session_of(data.user), data.user)
    context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    browser.close()


def _artefact(tmp_path: Path, name: str) -> Path:
    return tmp_path / name


def _keep(path: Path) -> None:
    """Screenshots also go to CANDOR_E2E_ARTIFACTS if set, for a human to look at."""
    target = os.environ.get("CANDOR_E2E_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


# Contrast ratio (WCAG) of an element's text colour on its background colour.
CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  const style = getComputedStyle(el);
  const lum = (css) => {
    const [r, g, b] = css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(style.color), lum(style.backgroundColor)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


def _wait_ready(page: object) -> None:
    """Wait for the page's charts; on failure say what the browser complained about."""
    try:
        page.wait_for_selector("[data-page][data-ready=true]", state="attached", timeout=15000)  # type: ignore[attr-defined]
    except Exception as exc:
        raise AssertionError(f"charts not ready; browser errors: {page.errors}") from exc  # type: ignore[attr-defined]


def test_ad_page_draws_curves_and_drives_the_video(
    browser_page: object, server: str, seeded: tuple[Seeded, Settings], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    data, _ = seeded
    # The view is in the address: attention and smile are the default, brow raise is asked for.
    page.goto(f"{server}/results/ads/{data.ad_id}?metric=attention&metric=smile&metric=brow_raise")
    _wait_ready(page)
    page.wait_for_function(
        "() => document.getElementById('ad-video').readyState >= 1", timeout=15000
    )
    shot = _artefact(tmp_path, "results-ad-page.png")
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)

    # Curves: attention (blue), smile (vermillion), brow raise (green) are on the canvas, and so
    # are their translucent 95% bands.
    counts = page.evaluate(
        COUNT_PIXELS,
        [
            "#chart",
            {
                "attention": [0, 114, 178, 200, 255],
                "smile": [213, 94, 0, 200, 255],
                "brow_raise": [0, 158, 115, 200, 255],
                "attention_band": [0, 114, 178, 25, 70],
                "smile_band": [213, 94, 0, 25, 70],
            },
        ],
    )
    assert counts["attention"] > 300, counts
    assert counts["smile"] > 150, counts
    assert counts["brow_raise"] > 100, counts
    assert counts["attention_band"] > 2000, counts
    assert counts["smile_band"] > 1000, counts

    # Key moments are readable: dark text on their white background (the site's own buttons are
    # white on blue, and would otherwise leave them blank).
    for selector in (".moments button",):
        assert page.evaluate(CONTRAST, selector) >= 4.5, selector

    # Key moments: listed as buttons, numbered; the first is the smile at 6 s.
    first_moment = page.locator(".moments button").first
    expect(first_moment).to_contain_text("6 s: Smile (AU12) peak")
    first_moment.click()
    page.wait_for_function(
        "() => Math.abs(document.getElementById('ad-video').currentTime - 6) < 0.3"
    )

    # Clicking the chart at 25% of its plot width seeks the video to a quarter of the ad.
    over = page.locator("#chart .u-over")
    box = over.bounding_box()
    assert box is not None
    over.click(position={"x": box["width"] * 0.25, "y": box["height"] / 2})
    page.wait_for_function(
        "() => Math.abs(document.getElementById('ad-video').currentTime"
        f" - {AD_SECONDS * 0.25}) < 0.4"
    )

    # Keyboard: focus the chart, arrows move one second, Shift+arrow five, Home to the start.
    chart = page.locator("#chart")
    chart.focus()
    before = page.evaluate("document.getElementById('ad-video').currentTime")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('ad-video').currentTime - {before + 1}) < 0.3"
    )
    page.keyboard.press("Home")
    page.wait_for_function("() => document.getElementById('ad-video').currentTime < 0.2")
    expect(chart).to_have_attribute("aria-valuenow", "0.0")
    expect(page.locator("#readout")).to_contain_text("Attention")

    # The playhead follows playback.
    left_before = page.evaluate("parseFloat(document.querySelector('#chart .playhead').style.left)")
    page.evaluate(
        "(() => { const v = document.getElementById('ad-video'); v.muted = true; v.play(); })()"
    )
    page.wait_for_function(
        "() => document.getElementById('ad-video').currentTime > 1.5", timeout=10000
    )
    page.evaluate("document.getElementById('ad-video').pause()")
    left_after = page.evaluate("parseFloat(document.querySelector('#chart .playhead').style.left)")
    assert left_after > left_before + 20

    # Unpicking a curve takes it off the canvas and out of the address, at once; the address
    # then gives a colleague the same view.
    page.get_by_role("checkbox", name="Smile (AU12)").uncheck()
    page.wait_for_function("() => !location.search.includes('smile')")
    assert "metric=brow_raise" in page.url and "metric=attention" in page.url
    # Colours follow the picked order: brow raise now draws in the second style (vermillion).
    hidden = page.evaluate(COUNT_PIXELS, ["#chart", {"brow_raise": [0, 158, 115, 200, 255]}])
    assert hidden["brow_raise"] < counts["brow_raise"] / 5, hidden
    shared = page.url
    page.goto(shared)
    _wait_ready(page)
    assert page.evaluate("document.querySelector('[data-page]').dataset.view") == (
        "attention,brow_raise"
    )
    # A key moment of a curve not on screen puts it back on screen.
    page.locator(".moments button").first.click()
    page.wait_for_function("() => location.search.includes('smile')")
    assert page.errors == []  # type: ignore[attr-defined]


def test_study_compare_and_segment_pages_render(
    browser_page: object, server: str, seeded: tuple[Seeded, Settings], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    data, _ = seeded
    page.goto(f"{server}/results/studies/{data.study_id}")
    expect(page.locator("h1")).to_contain_text("Browser study")
    page.locator(f"input[name=ad][value='{data.ad_id}']").check()
    page.locator(f"input[name=ad][value='{data.other_ad_id}']").check()
    page.get_by_role("button", name="Compare the ticked ads").click()
    _wait_ready(page)
    expect(page.locator(".note")).to_contain_text("differ in length")
    shot = _artefact(tmp_path, "results-compare.png")
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    counts = page.evaluate(
        COUNT_PIXELS,
        ["#chart-attention", {"first": [0, 114, 178, 200, 255], "second": [213, 94, 0, 200, 255]}],
    )
    assert counts["first"] > 200 and counts["second"] > 200, counts

    page.goto(f"{server}/results/ads/{data.ad_id}/segments?var=age&metric=smile")
    _wait_ready(page)
    expect(page.locator("table.figures")).to_contain_text("18-34")
    expect(page.locator("table.figures")).to_contain_text("35+")
    shot = _artefact(tmp_path, "results-segments.png")
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    assert page.errors == []  # type: ignore[attr-defined]


def test_emotion_mode_ad_page_draws_valence_and_links_each_label_to_its_derivation(
    browser_page: object, server: str, seeded: tuple[Seeded, Settings], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    data, _ = seeded
    page.goto(f"{server}/results/ads/{data.emotion_ad_id}")
    _wait_ready(page)
    # The default view in emotion mode: attention, smile, valence (third style, green).
    assert page.evaluate("document.querySelector('[data-page]').dataset.view") == (
        "attention,smile,valence"
    )
    counts = page.evaluate(COUNT_PIXELS, ["#chart", {"valence": [0, 158, 115, 200, 255]}])
    assert counts["valence"] > 100, counts
    # The axis runs from -1 for valence, so its dip below zero is on the canvas.
    assert page.evaluate("document.querySelector('[data-page]').dataset.yRange") == "-1,1"
    for group in ("Attention", "Expressions", "Emotions", "Engagement"):
        expect(page.locator(f"fieldset legend:text-is('{group}')")).to_have_count(1)
    expect(page.locator("table.figures").first).to_contain_text("Valence")
    shot = _artefact(tmp_path, "results-emotion-ad-page.png")
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    # Picking joy adds it at once, and its label's link opens its derivation.
    page.get_by_role("checkbox", name="Joy").check()
    page.wait_for_function("() => location.search.includes('metric=joy')")
    page.get_by_role("link", name="How Joy is derived", exact=True).click()
    page.wait_for_url("**/help/emotions#joy")
    expect(page.locator("h2#joy")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


def seeded_integration(engine: Engine, study_id: int) -> tuple[str, str]:
    """A new integration of the seeded study: its designer page's path and its public key."""
    with Session(engine) as session:
        study = session.get(Study, study_id)
        assert study is not None
        integration = make_integration(session, study)
        session.commit()
        return f"/studies/{study_id}/integrations/{integration.id}", integration.public_key
