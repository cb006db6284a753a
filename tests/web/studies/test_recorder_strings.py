"""Recorder text per consent locale: the integration page warns while a locale's panelists would
see English buttons, the designer saves a translation, and sessions in that locale get it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_token
from tests.support.factories import add_consent_text
from web.studies.models import Ad, Integration
from web.studies.recorder_strings import BUILT_IN

HTML = {"accept": "text/html"}
ROOT = Path(__file__).resolve().parents[3]


def _page(client: TestClient, integration: Integration) -> str:
    path = f"/studies/{integration.study_id}/integrations/{integration.id}"
    return str(client.get(path, headers=HTML).text)


def test_a_locale_without_recorder_text_is_flagged_until_translated(
    client: TestClient, db_session: Session, ad: Ad, integration: Integration
) -> None:
    add_consent_text(db_session, integration, "de", "Ich bin einverstanden, gefilmt zu werden.")
    db_session.commit()
    db_session.expire_all()
    page = _page(client, integration)
    assert 'data-untranslated="de"' in page
    assert 'data-untranslated="fr"' not in page and 'data-untranslated="en"' not in page
    form_path = f"/studies/{integration.study_id}/integrations/{integration.id}/recorder-text/de"
    assert f'href="{form_path}"' in page
    form = client.get(form_path, headers=HTML)
    assert form.status_code == 200 and "/static/recorder-strings.js" in form.text
    script = client.get("/static/recorder-strings.js")
    assert 'import { flatStrings } from "/recorder/i18n.js"' in script.text

    saved = client.post(
        form_path,
        data={
            "s:agree": "Ich stimme zu",
            "s:playingLabel": "Werbung {i} von {n}",
            "s:decline": "",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'data-untranslated="de"' not in _page(client, integration)

    german = panel.start(client, integration, locale="de")
    assert german.body["locale"] == "de"
    assert german.body["strings"] == {
        "agree": "Ich stimme zu",
        "playingLabel": "Werbung {i} von {n}",
    }
    assert panel.start(client, integration, locale="fr").body["strings"] is None

    refused = client.post(
        form_path, data={"s:<script>": "x", "csrf_token": csrf_token(client)}, headers=HTML
    )
    assert refused.status_code == 400 and "is not one of the recorder" in refused.text


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the recorder's own module")
def test_the_built_in_languages_are_those_the_recorder_ships() -> None:
    script = "import('./recorder_js/src/i18n.js').then(m => console.log(JSON.stringify(m.LOCALES)))"
    out = subprocess.run(
        ["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tuple(json.loads(out.stdout)) == BUILT_IN
