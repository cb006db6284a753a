"""The demo's sample panelists: generated face clips sent through the panelist API of a running
server, exactly as a recorder sends them, so the real queue, analysis and aggregates make their
curves. Each session is flagged as sample data (web/clips/samples.py) as soon as it exists.

`candor serve` runs this once, in the background, at the first start of a fresh demo:
`python -m web.demo.panelists --base URL --integration KEY`.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import click
import numpy as np

from candor.synthetic.face_clips import BLINK_SECONDS, Event, make_face_clip

SAMPLE_PANELISTS = 6
AGE_BANDS = ("18-34", "35-54", "55+")
# Small and short like a real webcam clip, and cheap to render and analyse on a laptop.
CLIP_FPS, CLIP_SIZE = 15.0, (320, 240)
API = "/api/v1/panel"


class Transport(Protocol):
    """One HTTP call to the panelist API: (status code, decoded JSON body or None)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]: ...


class SeedError(RuntimeError):
    """The server refused a step of a sample panelist's session."""


def url_transport(base: str, timeout: float = 60.0) -> Transport:
    """The panelist API of the server at `base`, over plain HTTP (urllib: no extra dependency)."""

    def call(
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = content
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = "application/octet-stream"
        request = urllib.request.Request(  # noqa: S310  (our own server's http(s) URL)
            base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            return error.code, None

    return call


def sample_script(index: int, seconds: float) -> list[Event]:
    """What sample panelist `index` does while the ad plays: blinks, a smile at the end card
    (everyone, at their own time and strength), and for some a raised brow early or a look away
    in the middle, so the curves have a shape, a spread and an attention dip."""
    rng = np.random.default_rng(index)
    events = [
        Event("blink", float(t), float(t) + BLINK_SECONDS)
        for t in np.arange(0.7 + rng.uniform(0, 1), seconds - 0.5, rng.uniform(2.6, 3.8))
    ]
    smile_start = min(seconds - 2.5, 0.62 * seconds + rng.uniform(-0.4, 1.2))
    events.append(Event("smile", smile_start, seconds, float(rng.uniform(0.55, 1.0)), ramp=0.8))
    if index % 3 == 1:
        events.append(Event("brow_raise", 0.15 * seconds, 0.15 * seconds + 2.0, 0.9, ramp=0.6))
    if index % 3 == 2:
        events.append(Event("turn", 0.4 * seconds, 0.4 * seconds + 2.0, 45.0, ramp=0.3))
    return [e for e in events if e.end <= seconds]


@dataclass(frozen=True)
class Sample:
    session_id: str
    respondent_id: str


def send_sample(
    call: Transport,
    integration_key: str,
    index: int,
    work_dir: Path,
    mark: Callable[[uuid.UUID], None],
) -> Sample:
    """One sample panelist, start to end, through the panelist API; `mark` flags the session as
    sample data right after it exists (before any upload, so a crash leaves nothing unflagged)."""
    respondent_id = f"sample-{index + 1}"
    started = _ok(
        call(
            "POST",
            f"{API}/sessions",
            json_body={
                "integration": integration_key,
                "respondent_id": respondent_id,
                "passthrough": {"age": AGE_BANDS[index % len(AGE_BANDS)]},
                "locale": "en",
            },
        ),
        "start a session",
    )
    session_id, token = started["session_id"], started["token"]
    mark(uuid.UUID(session_id))
    text = started["consent"]
    _ok(
        call(
            "POST",
            f"{API}/sessions/{session_id}/consent",
            token=token,
            json_body={
                "consent_text_id": text["consent_text_id"],
                "text_sha256": text["sha256"],
                "locale": text["locale"],
                "decision": "agree",
            },
        ),
        "consent",
    )
    for ad in started["ads"]:
        _send_clip(call, token, session_id, ad, index, work_dir)
    _ok(
        call(
            "POST",
            f"{API}/sessions/{session_id}/end",
            token=token,
            json_body={"status": "complete"},
        ),
        "end the session",
    )
    return Sample(session_id, respondent_id)


def _send_clip(
    call: Transport, token: str, session_id: str, ad: dict[str, Any], index: int, work_dir: Path
) -> None:
    """Render this panelist watching one ad, upload it in ~1 s chunks, and finish it."""
    seconds = float(ad["duration_s"])
    path = work_dir / f"sample-{index}-{ad['id']}.webm"
    # live: a stream without a declared duration, as a browser's MediaRecorder writes it.
    make_face_clip(
        path, sample_script(index, seconds), seconds=seconds, fps=CLIP_FPS, size=CLIP_SIZE,
        vfr=True, live=True, seed=index,
    )  # fmt: skip
    data = path.read_bytes()
    path.unlink()
    clip = _ok(
        call(
            "POST",
            f"{API}/sessions/{session_id}/clips",
            token=token,
            json_body={"ad_id": ad["id"], "mime_type": "video/webm"},
        ),
        "open a clip",
    )
    clip_id = clip["clip_id"]
    parts = max(1, math.ceil(seconds))
    size = math.ceil(len(data) / parts)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    for number, chunk in enumerate(chunks):
        _ok(
            call("PUT", f"{API}/clips/{clip_id}/chunks/{number}", token=token, content=chunk),
            "upload",
        )
    duration_ms = seconds * 1000
    events = [
        {"seq": 0, "kind": "start", "clip_ms": 0, "ad_ms": 0},
        {"seq": 1, "kind": "end", "clip_ms": duration_ms, "ad_ms": duration_ms},
    ]
    _ok(
        call("POST", f"{API}/clips/{clip_id}/events", token=token, json_body={"events": events}),
        "events",
    )
    _ok(
        call(
            "POST",
            f"{API}/clips/{clip_id}/finish",
            token=token,
            json_body={"chunk_count": len(chunks)},
        ),
        "finish the clip",
    )


def _ok(answer: tuple[int, Any], what: str) -> Any:
    status, body = answer
    if status >= 400:
        raise SeedError(f"the server refused to {what} ({status})")
    return body


def seed(
    call: Transport,
    integration_key: str,
    *,
    first: int,
    count: int,
    mark: Callable[[uuid.UUID], None],
    say: Callable[[str], None] = lambda _: None,
) -> list[Sample]:
    """Sample panelists number `first`..`first + count - 1`, one after another."""
    samples = []
    with tempfile.TemporaryDirectory(prefix="candor-samples-") as work:
        for index in range(first, first + count):
            samples.append(send_sample(call, integration_key, index, Path(work), mark))
            say(f"sample panelist {index + 1} of {first + count} sent for analysis")
    return samples


def wait_for(base: str, timeout: float = 120.0) -> None:
    """Until the server answers /healthz (it starts alongside this process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SeedError(f"the web server at {base} did not come up in {timeout:.0f} s")


@click.command()
@click.option("--base", required=True, help="The running server's base URL.")
@click.option("--integration", "integration_key", required=True, help="The demo integration.")
@click.option("--study", "study_id", type=int, required=True, help="The demo study.")
@click.option("--count", default=SAMPLE_PANELISTS, show_default=True)
def main(base: str, integration_key: str, study_id: int, count: int) -> None:
    """Top the demo study up to `count` sample panelists, then leave a note never to again."""
    import web.models  # noqa: F401  (every table, so the session's foreign keys resolve)
    from web.clips.samples import DONE_FILE, mark_sample, sample_count
    from web.db import make_engine, make_session_factory
    from web.settings import Settings

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)

    def mark(session_public_id: uuid.UUID) -> None:
        with factory() as session:
            mark_sample(session, session_public_id)

    with factory() as session:
        first = sample_count(session, study_id)
    wait_for(base)
    if first < count:
        click.echo(
            f"candor: adding {count - first} generated sample panelists to the demo study in the "
            "background (analysed like real ones; remove them on the study page)"
        )
        seed(
            url_transport(base), integration_key, first=first, count=count - first, mark=mark,
            say=lambda line: click.echo(f"candor: {line}"),
        )  # fmt: skip
    (settings.data_dir / DONE_FILE).write_text(f"{count} sample panelists sent\n")
    engine.dispose()


if __name__ == "__main__":
    main()
