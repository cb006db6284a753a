"""The recorder page /r/{public_key} and the module files under /recorder/ (no browser)."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_integration, make_study


def _script_attrs(html: str) -> dict[str, str]:
    tag = re.search(r"<script type=\"module\"(.*?)></script>", html, re.S)
    assert tag, html
    return {k: unescape(v) for k, v in re.findall(r"([\w-]+)=\"([^\"]*)\"", tag.group(1))}


def test_page_loads_the_module_with_the_panelists_parameters(
    client: TestClient, db_session: Session
) -> None:
    integration = make_integration(db_session, make_study(db_session), passthrough_vars=["age"])
    response = client.get(
        f"/r/{integration.public_key}",
        params={"rid": "R_42 é", "locale": "fr", "age": "25-34", "secret": "x"},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "x-frame-options" not in response.headers  # it is meant to be framed by surveys
    assert '<html lang="fr">' in response.text
    attrs = _script_attrs(response.text)
    assert attrs["src"].endswith("/recorder/candor-recorder.js")
    assert attrs["data-integration"] == integration.public_key
    assert attrs["data-respondent-id"] == "R_42 é"
    assert attrs["data-locale"] == "fr"
    # Only the integration's declared variables are passed through.
    assert json.loads(attrs["data-passthrough"]) == {"age": "25-34"}


def test_page_escapes_what_the_url_carries(client: TestClient, db_session: Session) -> None:
    integration = make_integration(db_session, make_study(db_session), passthrough_vars=["age"])
    evil = '"><script>alert(1)</script>'
    response = client.get(f"/r/{integration.public_key}", params={"rid": evil, "age": evil})
    assert "<script>alert(1)</script>" not in response.text
    attrs = _script_attrs(response.text)
    assert attrs["data-respondent-id"] == evil
    assert json.loads(attrs["data-passthrough"]) == {"age": evil}


def test_unknown_key_is_a_404_page_in_the_panelists_language(client: TestClient) -> None:
    response = client.get("/r/no-such-key", params={"locale": "fr-CA"})
    assert response.status_code == 404
    assert "Lien inconnu" in response.text
    assert client.get("/r/no-such-key").text.count("Unknown link") >= 1


def test_module_files_are_served_as_javascript_to_any_origin(client: TestClient) -> None:
    response = client.get(
        "/recorder/candor-recorder.js", headers={"Origin": "https://survey.example"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["access-control-allow-origin"] == "*"
    assert "export function mount" in response.text
    assert client.get("/recorder/recorder.js").status_code == 200
    assert client.get("/recorder/nope.js").status_code == 404
    assert client.get("/recorder/../web/settings.py").status_code == 404


def test_a_preview_link_passes_the_flag_to_the_recorder(
    client: TestClient, db_session: Session
) -> None:
    integration = make_integration(db_session, make_study(db_session), passthrough_vars=["age"])
    preview = client.get(
        f"/r/{integration.public_key}", params={"rid": "preview-0a1b2c", "preview": "1"}
    )
    assert preview.status_code == 200
    assert _script_attrs(preview.text)["data-preview"] == "1"
    # A panelist's link has no flag at all; "preview" is never taken for a survey variable.
    for params in ({"rid": "R_1"}, {"rid": "R_1", "preview": "0"}):
        attrs = _script_attrs(client.get(f"/r/{integration.public_key}", params=params).text)
        assert "data-preview" not in attrs
        assert json.loads(attrs["data-passthrough"]) == {}


def test_a_signed_link_hands_exp_sig_and_a_preview_token_to_the_recorder(
    client: TestClient, db_session: Session
) -> None:
    """The recorder sends pass-through values with the start: that is how the proof travels."""
    integration = make_integration(db_session, make_study(db_session), passthrough_vars=["age"])
    params = {
        "rid": "R_1001", "exp": "1893456000", "sig": "ab" * 32, "age": "25-34",
        "preview_token": "tok.en",
    }  # fmt: skip
    attrs = _script_attrs(client.get(f"/r/{integration.public_key}", params=params).text)
    assert json.loads(attrs["data-passthrough"]) == {
        "age": "25-34", "exp": "1893456000", "sig": "ab" * 32, "preview_token": "tok.en",
    }  # fmt: skip
