"""CSV exports: aggregated curves (from the suppressed service output) and pseudonymous
per-panelist curves with k-anonymous pass-through variables."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from candor.statuses import ClipStatus
from web.clips.models import Clip, ClipEmotionSecond, ClipSecond, PanelSession
from web.results import catalogue
from web.results.quality import counted_sessions
from web.results.schemas import AdCurves, MetricInfo
from web.results.suppression import coarsen_passthrough
from web.settings import Settings
from web.studies.models import Study

PSEUDONYM_HEX_CHARS = 16
# Rows of the per-panelist CSV read from the database at a time, and CSV lines sent at a time.
STREAM_ROWS = 2000
SEND_ROWS = 1000


def file_stem(title: str, fallback: str) -> str:
    """A download's file name from a title, as every export and report names its files: runs of
    anything but letters, digits, _ and - become one "-", at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", title).strip("-")[:80] or fallback


# Spreadsheets run a cell starting with one of these as a formula (OWASP, "CSV Injection"),
# also after leading spaces or control characters, and in their full-width forms (U+FF1D...),
# which some spreadsheets fold to ASCII. Pass-through values come from survey URLs, so such a
# cell gets a leading quote, and every field holding a control character is quoted, so a CR or
# LF inside a value can never start a row of its own.
_FORMULA_STARTS = ("=", "+", "-", "@", "|")
_NEEDS_QUOTES = re.compile(r'[",\x00-\x1f\x7f]')


def _text(value: str) -> str:
    """A text cell no spreadsheet will evaluate."""
    stripped = value.lstrip()  # every Unicode space and control character, full-width ones too
    first = unicodedata.normalize("NFKC", stripped[:1])  # full-width forms fold to ASCII
    if first.startswith(_FORMULA_STARTS) or (stripped != value and first):
        return "'" + value
    return value


def _field(value: str) -> str:
    """RFC 4180 quoting, applied also to any field holding a control character."""
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _number(value: float | int | None) -> str:
    return (
        "" if value is None else repr(round(value, 6)) if isinstance(value, float) else str(value)
    )


def _csv_lines(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """CSV text of the rows, every field quoted as needed, SEND_ROWS rows at a time."""
    return _batched(",".join(_field(value) for value in row) + "\n" for row in rows)


def _row_start(texts: Sequence[str]) -> str:
    """Text cells, formula-guarded and quoted, each followed by a comma."""
    return "".join(_field(_text(value)) + "," for value in texts)


def _batched(lines: Iterable[str]) -> Iterator[str]:
    """Lines sent SEND_ROWS at a time: one send per row would dominate the response time."""
    pending: list[str] = []
    for line in lines:
        pending.append(line)
        if len(pending) >= SEND_ROWS:
            yield "".join(pending)
            pending.clear()
    if pending:
        yield "".join(pending)


def _not_measured(info: MetricInfo) -> str:
    on_device = info.not_measured_why == catalogue.NOT_MEASURED_ON_DEVICE_WHY
    return "not measured on device" if on_device else "not measured"


def curves_csv(curves: AdCurves, base_url: str) -> Iterator[str]:
    """Long-format CSV of the curves exactly as the API shows them (suppression included).

    Each row names its metric, the metric's label, its FACS AU (expressions) and, for an
    emotion metric, the address of its documented derivation. An expression no model here
    measures has empty cells and its label says "not measured".
    """
    groups = [curves.overall, *curves.segments]
    about = {m.name: m for m in curves.metrics}

    def rows() -> Iterator[list[str]]:
        yield ["ad_id", "segment_var", "segment_value", "metric", "label", "au", "derivation",
               "second", "n", "mean", "ci95_low", "ci95_high"]  # fmt: skip
        for group in groups:
            for metric, curve in group.curves.items():
                info = about.get(metric) or catalogue.info(metric)
                described = [
                    metric,
                    info.label if info.measured else f"{info.label} ({_not_measured(info)})",
                    info.au or "",
                    f"{base_url}{info.derivation}" if info.derivation else "",
                ]
                for second in curves.seconds:
                    yield [
                        str(curves.ad_id),
                        _text(group.segment_var),
                        _text(group.segment_value),
                        *described,
                        str(second),
                        _number(curve.n[second]),
                        _number(curve.mean[second]),
                        _number(curve.ci_low[second]),
                        _number(curve.ci_high[second]),
                    ]

    return _csv_lines(rows())


def pseudonym(settings: Settings, study_id: int, session_public_id: str) -> str:
    """A stable per-study pseudonym: a keyed hash of the session's public id, truncated.

    Never derived from the respondent hash, so it cannot be joined back to the survey's ids.
    """
    message = f"candor-export:{study_id}:{session_public_id}".encode()
    digest = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]


def included_clips(ad_id: int) -> Select[int]:
    """Clips whose curves are in the aggregates: analysed, not excluded, not a preview's, and
    analysed in their study's mode (an on-device study's server-fallback panelists are not
    pooled with its on-device ones: web/clips/aggregates.py _other_mode)."""
    return (
        select(Clip.id)
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .join(Study, Study.id == PanelSession.study_id)
        .where(
            Clip.ad_id == ad_id,
            Clip.status == ClipStatus.DONE,
            Clip.usable.is_not(False),
            counted_sessions(),
            PanelSession.on_device == Study.on_device,
        )
    )


def panelist_csv(
    session: Session,
    settings: Settings,
    ad_id: int,
    study_id: int,
    min_cell_size: int,
    *,
    emotions: bool,
    on_device: bool = False,
) -> Iterator[str]:
    """One row per panelist-second, pass-through variables made k-anonymous, the second's
    quality flag (candor.quality.SECOND_FLAGS: "hidden", "sparse", empty for a second read in
    full; a flagged second holds no values), a column per metric: CURVE_METRICS, then
    EMOTION_METRICS if `emotions` (the study's emotion mode).

    Column names carry the expression's AU or say an emotion metric is inferred
    (catalogue.export_header); the metric name is everything before the first space. A column
    of an expression no model here measures says so in its name and is empty, even where an
    older analysis stored a value; so is, in a study analysed on the panelists' devices
    (``on_device``), one that mode does not measure ("not measured on device").
    """
    panelists = session.execute(
        select(Clip.id, PanelSession.public_id, PanelSession.passthrough)
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .where(Clip.id.in_(included_clips(ad_id)))
        .order_by(Clip.id)
    ).all()
    passthrough = coarsen_passthrough(
        [
            {str(k): "" if v is None else str(v) for k, v in (pt or {}).items()}
            for _, _, pt in panelists
        ],
        min_cell_size,
    )
    variables = sorted({var for row in passthrough for var in row})
    # Each panelist's first cells (pseudonym, coarsened variables), written once per panelist
    # rather than once per second.
    by_clip = {
        clip_id: _row_start(
            [
                pseudonym(settings, study_id, str(public_id)),
                *(passthrough[i].get(v, "") for v in variables),
            ]
        )
        for i, (clip_id, public_id, _) in enumerate(panelists)
    }
    metrics = catalogue.stored_metrics(emotions)
    columns = [getattr(ClipSecond, m) for m in CURVE_METRICS]
    query = select(
        ClipSecond.clip_id, ClipSecond.second, ClipSecond.n_frames, ClipSecond.flag, *columns
    )
    if emotions:
        query = query.add_columns(
            *(getattr(ClipEmotionSecond, m) for m in EMOTION_METRICS)
        ).outerjoin(
            ClipEmotionSecond,
            and_(
                ClipEmotionSecond.clip_id == ClipSecond.clip_id,
                ClipEmotionSecond.second == ClipSecond.second,
            ),
        )
    query = query.where(ClipSecond.clip_id.in_(included_clips(ad_id))).order_by(
        ClipSecond.clip_id, ClipSecond.second
    )
    header = [catalogue.export_header(m, on_device) for m in metrics]
    measured = [catalogue.measured(m, on_device) for m in metrics]

    def lines() -> Iterator[str]:
        names = ["panelist", *(_text(v) for v in variables), "second", "n_frames", "flag", *header]
        yield ",".join(_field(name) for name in names) + "\n"
        flags: dict[str | None, str] = {}
        # Streamed: read as it is sent, STREAM_ROWS at a time from a server-side cursor, on the
        # request's session (FastAPI closes it after the response), so memory stays flat
        # however many panelists the ad has. Only the panelists' ids and coarsened variables
        # (above) are held whole.
        result = session.execute(query, execution_options={"yield_per": STREAM_ROWS})
        try:
            for clip_id, second, n_frames, flag, *values in result:
                start = by_clip.get(clip_id)
                if start is None:  # analysed or erased after the list above was read
                    continue
                flag_cell = flags.get(flag)
                if flag_cell is None:
                    flag_cell = flags[flag] = _field(_text(flag or ""))
                # A number never needs quoting or a formula guard (digits, ".", "-", "e",
                # "inf", "nan"): written as _number writes it, without the per-field checks.
                numbers = ",".join(
                    ("" if v is None else repr(round(v, 6))) if ok else ""
                    for v, ok in zip(values, measured, strict=True)
                )
                yield f"{start}{second},{n_frames},{flag_cell},{numbers}\n"
        finally:
            result.close()

    return _batched(lines())
