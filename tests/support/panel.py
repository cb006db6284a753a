"""Driving the panelist API from tests: start a session, consent, open a clip, upload chunks."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from web.studies.models import Integration


class Http(Protocol):
    """TestClient or httpx.Client."""

    def get(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def put(self, url: str, **kwargs: Any) -> Any: ...


API = "/api/v1/panel"


@dataclass
class Started:
    session_id: str
    token: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def resume_token(self) -> str:
        return str(self.body["resume_token"])

    @property
    def ad_ids(self) -> list[int]:
        return [ad["id"] for ad in self.body["ads"]]


def start(
    client: Http,
    integration: Integration | str,
    respondent_id: str = "resp-0001",
    passthrough: dict[str, Any] | None = None,
    locale: str = "en",
    resume_token: str | None = None,
    secret: str | None = None,
) -> Started:
    """secret: sign the respondent id with this integration signing secret (valid 1 h)."""
    key = integration if isinstance(integration, str) else integration.public_key
    body: dict[str, Any] = {
        "integration": key,
        "respondent_id": respondent_id,
        "passthrough": passthrough or {},
        "locale": locale,
    }
    if resume_token is not None:
        body["resume_token"] = resume_token
    if secret is not None:
        body.update(signed(key, respondent_id, secret))
    response = client.post(f"{API}/sessions", json=body)
    assert response.status_code == 201, response.text
    body = response.json()
    return Started(body["session_id"], body["token"], body)


def signed(public_key: str, respondent_id: str, secret: str, ttl_s: int = 3600) -> dict[str, Any]:
    """exp and sig as a survey computes them: HMAC-SHA256(secret, "key|rid|exp")."""
    exp = int(time.time()) + ttl_s
    message = f"{public_key}|{respondent_id}|{exp}".encode()
    return {"exp": exp, "sig": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}


def consent(client: Http, started: Started, decision: str = "agree") -> Any:
    text = started.body["consent"]
    response = client.post(
        f"{API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json={
            "consent_text_id": text["consent_text_id"],
            "text_sha256": text["sha256"],
            "locale": text["locale"],
            "decision": decision,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def open_clip(client: Http, started: Started, ad_id: int | None = None) -> str:
    response = client.post(
        f"{API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={
            "ad_id": ad_id if ad_id is not None else started.ad_ids[0],
            "mime_type": "video/webm",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["clip_id"])


def put_chunk(client: Http, started: Started, clip_id: str, index: int, data: bytes) -> Any:
    return client.put(
        f"{API}/clips/{clip_id}/chunks/{index}",
        headers={**started.headers, "Content-Type": "application/octet-stream"},
        content=data,
    )


def upload(client: Http, started: Started, clip_id: str, chunks: list[bytes]) -> None:
    for index, data in enumerate(chunks):
        response = put_chunk(client, started, clip_id, index, data)
        assert response.status_code == 201, response.text


def playing_events(duration_ms: float) -> list[dict[str, Any]]:
    """The events of an ad that played straight through from the start of the recording."""
    return [
        {"seq": 0, "kind": "start", "clip_ms": 0, "ad_ms": 0},
        {"seq": 1, "kind": "end", "clip_ms": duration_ms, "ad_ms": duration_ms},
    ]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())
