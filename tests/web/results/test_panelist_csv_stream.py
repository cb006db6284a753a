"""The per-panelist CSV is streamed: the same bytes as the export built whole (header, quoting,
formula guard, numbers), whatever the read and send batch sizes, in memory that does not grow
with the number of rows."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from tests.support.auth import login
from tests.support.factories import make_ad, make_clip
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist
from web.clips.models import Clip, ClipEmotionSecond, ClipSecond, PanelSession
from web.results import catalogue, export
from web.results.suppression import coarsen_passthrough
from web.settings import Settings
from web.studies.models import Ad

# Pass-through values a spreadsheet would run, or that need quotes, each held by 10 panelists
# (a cell of 10 is shown as it is).
VALUES = ["=1+1", 'say "hi", then go', "\r\n@SUM(1)", " -2", "plain"]


def _whole(session: Session, settings: Settings, ad: Ad, k: int, emotions: bool) -> str:
    """The export as it was built before it streamed: one list of fields per row, each field
    formula-guarded and quoted by export's own rules, all rows at once."""
    clips = session.execute(
        select(Clip.id, PanelSession.public_id, PanelSession.passthrough)
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .where(Clip.id.in_(export.included_clips(ad.id)))
        .order_by(Clip.id)
    ).all()
    variables_of = coarsen_passthrough(
        [{str(k): "" if v is None else str(v) for k, v in (pt or {}).items()} for *_, pt in clips],
        k,
    )
    variables = sorted({var for row in variables_of for var in row})
    metrics = catalogue.stored_metrics(emotions)
    rows = [
        ["panelist", *(export._text(v) for v in variables), "second", "n_frames", "flag",
         *(catalogue.export_header(m) for m in metrics)]
    ]  # fmt: skip
    for i, (clip_id, public_id, _) in enumerate(clips):
        emotion_rows = {
            e.second: e
            for e in session.scalars(
                select(ClipEmotionSecond).where(ClipEmotionSecond.clip_id == clip_id)
            )
        }
        seconds = session.scalars(
            select(ClipSecond).where(ClipSecond.clip_id == clip_id).order_by(ClipSecond.second)
        )
        for s in seconds:
            values = [getattr(s, m) for m in CURVE_METRICS]
            if emotions:
                e = emotion_rows.get(s.second)
                values += [getattr(e, m) if e else None for m in EMOTION_METRICS]
            rows.append(
                [
                    export.pseudonym(settings, ad.study_id, str(public_id)),
                    *(export._text(variables_of[i].get(v, "")) for v in variables),
                    str(s.second),
                    str(s.n_frames),
                    export._text(s.flag or ""),
                    *(
                        export._number(v) if catalogue.measured(m) else ""
                        for v, m in zip(values, metrics, strict=True)
                    ),
                ]
            )
    return "".join(export._csv_lines(rows))


@pytest.fixture()
def tricky_ad(db_session: Session, world: World) -> Ad:
    """50 panelists x 3 s: awkward pass-through values, numbers that round, negative and tiny
    numbers, empty cells, flagged seconds, an unmeasured expression holding a stored value."""
    ad = make_ad(db_session, world.study, duration_s=3)
    unmeasured = sorted(m for m in CURVE_METRICS if not catalogue.measured(m))[0]
    for i in range(50):
        curves: dict[str, list[float | None]] = {
            "attention": [0.1234567 + i / 1000, None, 1.0],
            "smile": [1e-7, 0.3333333333, 2 / 3],
            "blinks": [0.0, 1.0, 0.0],
            unmeasured: [0.5, 0.5, 0.5],
        }
        rows = add_panelist(db_session, ad, curves, {"src": VALUES[i % 5], "n": str(i % 5 % 2)})
        if i % 7 == 0:
            flagged = db_session.scalars(
                select(ClipSecond).where(ClipSecond.clip_id == rows.clip.id, ClipSecond.second == 1)
            ).one()
            flagged.flag, flagged.n_frames = "hidden", 2
    db_session.flush()
    return ad


@pytest.mark.parametrize(("read", "send"), [(2000, 1000), (7, 5), (1, 1)])
def test_the_streamed_export_is_the_whole_export(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    world: World,
    tricky_ad: Ad,
    monkeypatch: pytest.MonkeyPatch,
    read: int,
    send: int,
) -> None:
    monkeypatch.setattr(export, "STREAM_ROWS", read)
    monkeypatch.setattr(export, "SEND_ROWS", send)
    expected = _whole(db_session, settings, tricky_ad, 10, emotions=False)
    login(client, settings, world.analyst)
    response = client.get(f"/api/v1/ads/{tricky_ad.id}/panelists.csv")
    assert response.status_code == 200
    assert response.text == expected
    assert expected.startswith("panelist,n,src,second,n_frames,flag,attention,")
    rows = list(csv.reader(io.StringIO(expected, newline="")))
    assert len(rows) == 1 + 50 * 3 and {len(row) for row in rows} == {len(rows[0])}
    assert expected.count("\r\n") == 10 * 3  # inside a quoted field only: no row split
    assert '"\'\r\n@SUM(1)"' in expected
    assert '"say ""hi"", then go"' in expected and ",'=1+1," in expected and ",' -2," in expected
    assert ",0.123457,0.0," in expected and ",,0.333333," in expected  # rounded as before
    assert ",1,2,hidden,," in expected


def test_an_emotion_study_s_streamed_export_is_the_whole_export(
    db_session: Session, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "STREAM_ROWS", 4)
    ad = make_ad(db_session, world.study, duration_s=3)
    for i in range(12):
        # Emotion rows for two of the three seconds: the third's emotion cells are empty.
        add_panelist(
            db_session, ad, {"attention": [0.5, 0.6, 0.7], "valence": [-0.25 * (i % 3), 0.1]}
        )
    expected = _whole(db_session, settings, ad, 10, emotions=True)
    streamed = "".join(
        export.panelist_csv(db_session, settings, ad.id, ad.study_id, 10, emotions=True)
    )
    assert streamed == expected
    assert "valence" in expected.split("\n")[0] and ",-0.5," in expected


def _peak_while_streaming(session: Session, settings: Settings, ad: Ad) -> tuple[int, int]:
    """Peak traced Python memory while the export is read to its end, and its size."""
    tracemalloc.start()
    try:
        size = 0
        tracemalloc.reset_peak()
        for piece in export.panelist_csv(session, settings, ad.id, ad.study_id, 10, emotions=False):
            size += len(piece)
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


def _bulk_panelists(session: Session, ad: Ad, panelists: int, seconds: int) -> None:
    for _ in range(panelists):
        rows = make_clip(session, ad)
        rows.clip.status, rows.clip.usable = "done", True  # type: ignore[assignment]
        session.flush()
        session.execute(
            insert(ClipSecond),
            [
                {"clip_id": rows.clip.id, "ad_id": ad.id, "second": s, "n_frames": 30,
                 **{m: 0.123456789 for m in CURVE_METRICS}}
                for s in range(seconds)
            ],
        )  # fmt: skip


def test_the_export_s_memory_does_not_grow_with_its_rows(
    db_session: Session, settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four times the rows, about the same peak: rows are read and sent in batches. Built
    whole (every row read, or the text joined), the peak would be several times the file."""
    monkeypatch.setattr(export, "STREAM_ROWS", 100)
    monkeypatch.setattr(export, "SEND_ROWS", 100)
    small = make_ad(db_session, world.study, duration_s=60)
    large = make_ad(db_session, world.study, duration_s=60)
    _bulk_panelists(db_session, small, 10, 60)
    _bulk_panelists(db_session, large, 40, 60)
    db_session.flush()
    _peak_while_streaming(db_session, settings, small)  # statements compiled and cached
    small_peak, small_size = _peak_while_streaming(db_session, settings, small)
    large_peak, large_size = _peak_while_streaming(db_session, settings, large)
    assert large_size > 3.9 * small_size
    # Built whole, the peak would grow by at least the extra text (400 KB here).
    growth = large_peak - small_peak
    assert growth < (large_size - small_size) / 10, (small_peak, large_peak, large_size)
