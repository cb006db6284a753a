"""In the results of a study analysed on the panelists' devices, the expressions that mode does
not measure (candor.ondevice.NOT_MEASURED_ON_DEVICE: they need the server's appearance evidence
on the face's pixels) are "not measured on device" for every reader: the picker, the curves
API, key moments, exports and reports; never drawn or exported, even where cells hold values
(here: the world's panelists' stored smiles). A server-mode study still shows them."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.metrics import EXPRESSION_BY_NAME
from candor.ondevice import NOT_MEASURED_ON_DEVICE
from tests.support.auth import login
from tests.web.results.conftest import World
from web.clips.models import PanelSession
from web.reports import content
from web.results import catalogue
from web.settings import Settings

ON_DEVICE_WHY = "not measured on device"


def _on_device(db_session: Session, world: World) -> World:
    """The world's study and its panelists' sessions analysed on the device (their aggregates,
    written before, keep the smiles a server-mode analysis stored: stale values to never show)."""
    world.study.on_device = True
    for panel_session in db_session.scalars(
        select(PanelSession).where(PanelSession.study_id == world.study.id)
    ):
        panel_session.on_device = True
    db_session.flush()
    return world


def test_the_set_is_the_analysis_s_own() -> None:
    from worker.analysis.ondevice import NOT_ON_DEVICE

    assert NOT_MEASURED_ON_DEVICE == NOT_ON_DEVICE == {"smile", "smirk", "nose_wrinkle"}
    assert catalogue.measured("smile") and not catalogue.measured("smile", on_device=True)
    assert catalogue.measured("mouth_open", on_device=True)
    assert "smile" not in catalogue.default_view(False, on_device=True)


def test_the_curves_api_and_key_moments_say_not_measured_on_device(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    served = client.get(f"/api/v1/ads/{world.ad.id}/curves").json()
    about = {m["name"]: m for m in served["metrics"]}
    assert about["smile"]["measured"] is True and about["smile"]["not_measured_why"] is None
    assert served["overall"]["curves"]["smile"]["mean"][0] is not None

    _on_device(db_session, world)
    body = client.get(f"/api/v1/ads/{world.ad.id}/curves").json()
    about = {m["name"]: m for m in body["metrics"]}
    for name in NOT_MEASURED_ON_DEVICE:
        assert about[name]["measured"] is False, name
        assert about[name]["not_measured_why"].startswith(ON_DEVICE_WHY)
        curve = body["overall"]["curves"][name]
        assert curve["measured"] is False and set(curve["mean"]) == {None}, name
    assert about["brow_raise"]["measured"] is True
    assert body["overall"]["curves"]["brow_raise"]["mean"][0] is not None
    moments = client.get(f"/api/v1/ads/{world.ad.id}/key-moments").json()
    assert "smile" not in moments["metrics"] and "brow_raise" in moments["metrics"]
    asked = client.get(f"/api/v1/ads/{world.ad.id}/key-moments?metric=smile")
    assert asked.status_code == 400 and ON_DEVICE_WHY in asked.json()["detail"]


def test_the_picker_and_pages_say_not_measured_on_device(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    _on_device(db_session, world)
    page = client.get(f"/results/ads/{world.ad.id}", headers={"accept": "text/html"}).text
    assert 'Smile <span class="au">(AU12)</span> &mdash; not measured on device' in page
    assert 'value="smile" disabled' in page
    asked = client.get(f"/results/ads/{world.ad.id}?metric=smile").text
    assert "is not measured and not drawn: not measured on device" in asked
    segments = client.get(f"/results/ads/{world.ad.id}/segments?var=age&metric=smile").text
    assert "not measured on device" in segments


def test_exports_and_reports_say_not_measured_on_device(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    _on_device(db_session, world)
    table = list(
        csv.reader(io.StringIO(client.get(f"/api/v1/ads/{world.ad.id}/panelists.csv").text))
    )
    header, rows = table[0], table[1:]
    for name in NOT_MEASURED_ON_DEVICE:
        column = f"{name} ({catalogue.au_text(EXPRESSION_BY_NAME[name])}, not measured on device)"
        assert column in header, (column, header)
        assert {row[header.index(column)] for row in rows} == {""}, name
    assert "brow_raise (AU2)" in header
    long = list(
        csv.DictReader(io.StringIO(client.get(f"/api/v1/ads/{world.ad.id}/curves.csv").text))
    )
    smiles = [r for r in long if r["metric"] == "smile"]
    assert smiles and {r["label"] for r in smiles} == {"Smile (not measured on device)"}
    assert {r["mean"] for r in smiles} == {""}

    report = content.ad_report(db_session, settings, world.study, world.ad)
    assert set(report.not_measured_on_device) == NOT_MEASURED_ON_DEVICE
    assert "smile" not in report.metrics and "attention" in report.metrics
    assert not set(report.not_measured) & NOT_MEASURED_ON_DEVICE
