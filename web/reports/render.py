"""Draw reports with matplotlib: a PNG per ad, a PDF per study (one page per ad, then quality).

Figures are built with the object API (`Figure` + the Agg canvas), never pyplot, so requests
rendering at the same time share no global state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from bidi import get_display
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from numpy.typing import NDArray

from candor.metrics import EXPRESSION_BY_NAME, METRIC_RANGE
from candor.quality import EXCLUSION_REASONS
from web.reports.content import AdReport, StudyReport
from web.results.catalogue import au_text
from web.results.maths import PEAK_MIN
from web.results.schemas import MetricCurve

FloatArray = NDArray[np.float64]
NONE = "\u2013"  # en dash: no value
PNG_SIZE_IN = (12.0, 8.0)
PNG_DPI = 100  # 1200 x 800 pixels
A4_LANDSCAPE_IN = (11.69, 8.27)
COLOURS = {
    "attention": "#1f5fa8",
    "smile": "#d9822b",
    "valence": "#2e7d32",
    "engagement": "#6a3d9a",
    "joy": "#e6a700",
    "surprise": "#00838f",
    "anger": "#c62828",
    "sadness": "#3949ab",
    "disgust": "#558b2f",
    "fear": "#6d4c41",
    "contempt": "#ad1457",
}
FOOTER = (
    "Candor · mean over panelists with its 95% confidence band; n varies by second. "
    "Expressions are measured from webcam video, deleted after analysis."
)
EMOTION_NOTE = (
    "Emotions, valence and engagement are inferred from the expressions, not measured: "
    "how each is derived: {url}"
)
# Characters per line of the text column beside the curves (9 pt in 1.3 of 4.5 columns): every
# line is wrapped to this, so none runs past the page's edge.
TEXT_WIDTH = 44
# Room above and below a metric's range, so a curve at its limit (attention 1.0) is drawn whole
# inside the axes instead of on their frame.
HEADROOM = 0.04


def label(metric: str) -> str:
    """A metric's name for a reader; inferred metrics say so."""
    if metric in EXPRESSION_BY_NAME:
        expression = EXPRESSION_BY_NAME[metric]
        return f"{expression.label} ({au_text(expression)})"
    if metric == "attention":
        return "Attention"
    return f"{metric.capitalize()} (inferred)"


def _values(values: Sequence[float | None]) -> FloatArray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _band(ax: Axes, x: FloatArray, curve: MetricCurve, metric: str) -> None:
    colour = COLOURS.get(metric, "#555555")
    ax.fill_between(
        x, _values(curve.ci_low), _values(curve.ci_high), color=colour, alpha=0.18, linewidth=0
    )
    ax.plot(x, _values(curve.mean), color=colour, linewidth=2, label=label(metric))


def _curves_axes(
    ax: Axes, report: AdReport, metrics: Sequence[str], *, label_moments: bool, title: str
) -> None:
    x = np.array(report.curves.seconds, dtype=float) + 0.5  # the middle of each second
    for metric in metrics:
        _band(ax, x, report.curves.overall.curves[metric], metric)
    low, high = METRIC_RANGE.get(metrics[0], (0.0, 1.0)) if metrics else (0.0, 1.0)
    pad = (high - low) * HEADROOM
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(0, max(report.ad.duration_s, 1.0))
    if low < 0 < high:
        ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(alpha=0.25)
    for moment in report.moments.moments:
        # The key moments line up across every panel; they are named on the first. Each marks
        # the second its text names ("4 s" is 4.0-5.0 s): shaded, a line at its start.
        ax.axvspan(moment.second, moment.second + 1, color="#000000", alpha=0.06, linewidth=0)
        ax.axvline(moment.second, color="#444444", linestyle="--", linewidth=1)
        if label_moments:
            expression = EXPRESSION_BY_NAME.get(moment.metric)
            ax.annotate(
                f"#{moment.rank} {expression.label if expression else moment.metric}",
                xy=(moment.second, high + pad),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color="#222222",
            )
    if metrics:
        # Above the axes, so it covers neither a key moment's label nor a curve's end.
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=len(metrics),
            fontsize=8,
            frameon=False,
            borderaxespad=0.2,
        )


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.0f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return NONE if value is None else f"{value:.{digits}f}"


def summary_lines(report: AdReport) -> list[str]:
    """The summary and key moments as short lines of text."""
    s = report.summary
    if s.smile_peak is None or s.smile_peak_s is None:
        peak = NONE
    elif s.smile_peak < PEAK_MIN:
        peak = "no peak"
    else:
        peak = f"{_num(s.smile_peak)} at {s.smile_peak_s} s"
    lines = [
        f"Panelists (n): {s.n}",
        f"Attention share: {_pct(s.attention_share)}",
        f"Expressiveness: {_num(s.expressiveness)}",
        f"Smile peak: {peak}",
        f"Blink rate: {_num(s.blink_rate_per_min, 1)} per minute",
    ]
    for metric in report.emotion_metrics[:2]:
        lines.append(f"{label(metric)}: mean {_num(_mean(report, metric))}")
    if report.not_measured:
        names = ", ".join(label(m) for m in report.not_measured)
        lines += _wrap(f"Not measured (no model here reads it on real faces): {names}.", 52)
    if report.not_measured_on_device:
        names = ", ".join(label(m) for m in report.not_measured_on_device)
        lines += _wrap(f"Not measured on device (needs the face's pixels): {names}.", 52)
    lines.append("")
    if not s.n:
        lines.append("No data yet: no panelist of this ad has been analysed.")
    elif report.moments.moments:
        lines.append("Key moments (peaks where attention holds):")
        for m in report.moments.moments:
            lines.append(
                f"#{m.rank}  {m.second} s  {label(m.metric)} {m.value:.2f} "
                f"(+{m.lift:.2f}), attention {_pct(m.attention)}"
            )
    else:
        lines.append(
            f"No key moment: no expression rose {report.moments.min_lift:.2f} above its median "
            f"while attention was at least {_pct(report.moments.min_attention)}."
        )
    return lines


def _mean(report: AdReport, metric: str) -> float | None:
    values = [v for v in report.curves.overall.curves[metric].mean if v is not None]
    return sum(values) / len(values) if values else None


def ad_figure(report: AdReport, study_name: str, size: tuple[float, float]) -> Figure:
    """One ad on one page: header, curves with key moments, summary."""
    figure = Figure(figsize=size, layout="constrained")
    valence = [m for m in report.emotion_metrics if m == "valence"]
    others = [m for m in report.emotion_metrics if m != "valence"]
    emotion_rows = int(bool(valence)) + int(bool(others))
    strip = int(bool(report.frames))
    grid = figure.add_gridspec(
        1 + strip + emotion_rows,
        2,
        width_ratios=(3.2, 1.3),
        height_ratios=(2.0, *[0.55] * strip, *[1.2] * emotion_rows),
    )
    n = report.summary.n
    figure.suptitle(
        f"{report.ad.title}\n{study_name} · n = {n} panelist{'s' if n != 1 else ''} · "
        f"{report.ad.duration_s:.0f} s",
        x=0.01,
        ha="left",
        fontsize=14,
    )
    main = figure.add_subplot(grid[0, 0])
    _curves_axes(main, report, report.metrics, label_moments=True, title="Attention and smile")
    row = 1
    if strip:
        _frames_axes(figure.add_subplot(grid[row, 0], sharex=main), report, size)
        row += 1
    if valence:
        ax = figure.add_subplot(grid[row, 0], sharex=main)
        _curves_axes(ax, report, valence, label_moments=False, title="Valence (inferred), -1 to 1")
        row += 1
    if others:
        ax = figure.add_subplot(grid[row, 0], sharex=main)
        named = "Emotions and engagement" if "engagement" in others else "Emotions"
        _curves_axes(ax, report, others, label_moments=False, title=f"{named} (inferred), 0 to 1")
    figure.axes[-1].set_xlabel("Ad time (s)")
    text = figure.add_subplot(grid[:, 1])
    text.axis("off")
    lines = [wrapped for line in summary_lines(report) for wrapped in _wrap(line, TEXT_WIDTH)]
    if report.emotion_metrics:
        lines += ["", *_wrap(EMOTION_NOTE.format(url=report.emotion_help), TEXT_WIDTH)]
    lines += ["", *_wrap(FOOTER, TEXT_WIDTH)]
    text.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=9)
    return figure


def _frames_axes(ax: Axes, report: AdReport, size: tuple[float, float]) -> None:
    """What the ad showed along its timeline: each picture centred on the time it shows."""
    from matplotlib.image import imread
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    ax.set_ylim(0, 1)
    ax.set_yticks([])
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelbottom=False, length=0)
    ax.set_title("What was on screen (pictures of the ad)", loc="left", fontsize=9)
    # The curves' axes take about 3.2/4.5 of the page's width, the pictures share it out, and
    # the strip is about a tenth of its height. OffsetImage sizes in points (1/72 in).
    width_pt = size[0] * 72 * 3.2 / 4.5 * 0.92 / max(len(report.frames), 1)
    height_pt = size[1] * 72 * 0.1
    for thumbnail, jpeg in report.frames:
        image = imread(io.BytesIO(jpeg), format="jpeg")
        zoom = min(width_pt / image.shape[1], height_pt / image.shape[0])
        box = AnnotationBbox(
            OffsetImage(image, zoom=zoom), (thumbnail.time_s, 0.55), frameon=False, pad=0
        )
        ax.add_artist(box)
        ax.annotate(
            f"{thumbnail.start_s:.0f} s",
            (thumbnail.time_s, 0.55),
            xytext=(0, -zoom * image.shape[0] / 2 - 1),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
            color="#333333",
        )


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters (a longer word, such as an address, is cut into
    pieces of it); an empty text stays one empty line, as a gap."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.extend(word[i : i + width] for i in range(0, len(word), width))
    return lines or [""]


def quality_figure(report: StudyReport, size: tuple[float, float]) -> Figure:
    """The study's data quality as a page of figures."""
    q = report.quality
    figure = Figure(figsize=size, layout="constrained")
    figure.suptitle(f"{report.study.name}: data quality", x=0.01, ha="left", fontsize=14)
    ax = figure.add_subplot(1, 1, 1)
    ax.axis("off")
    rows = [
        ("Sessions started", str(q.sessions)),
        ("Consented / declined", f"{q.consented} / {q.declined}"),
        ("Consent rate", _pct(q.consent_rate)),
        ("No camera", str(q.no_camera)),
        ("Withdrawn (stop and delete)", str(q.withdrawn)),
        ("Erased later by receipt code", str(q.erased_by_receipt)),
        ("Restarted (earlier session erased)", str(q.restarted)),
        ("Usable panelists", str(q.usable_sessions)),
        ("Clips analysed / failed / pending",
         f"{q.clips.done} / {q.clips.failed} / {q.clips.pending}"),
        ("Usable clips", str(q.usable_clips)),
        ("Face found (mean share of frames)", _pct(q.face_found_share)),
    ]  # fmt: skip
    for code, count in q.exclusions.items():
        rows.append((f"Excluded: {EXCLUSION_REASONS.get(code, code)}", str(count)))
    for reason in q.decline_reasons[:5]:
        rows.append((f"Declined: {reason.reason[:60]}", str(reason.count)))
    table = ax.table(cellText=rows, colLabels=("", "count"), loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 1.4)
    mode = "on" if report.emotions else "off"
    figure.text(
        0.01,
        0.02,
        f"Organisation: {report.organisation} · emotion mode {mode} · generated "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC · designer previews are not counted.\n" + FOOTER,
        fontsize=8,
        color="#555555",
    )
    return figure


def as_plain_text(figure: Figure) -> Figure:
    """Every text on the figure is drawn as typed, in reading order: no mathtext (`$…$`, `\\`,
    `^`, `_`) and no TeX, whatever a designer or panelist wrote in a title, a name or a reason.
    Applied to the whole figure, so no text drawn from user input can be forgotten; our own
    labels need no markup either. (Matplotlib's default parses any string with two `$`.)"""
    for text in figure.findobj(match=Text):
        assert isinstance(text, Text)
        text.set_parse_math(False)
        text.set_usetex(False)
        # Matplotlib lays text out left to right as stored: right-to-left runs (Hebrew, Arabic)
        # are put in display order first (the Unicode bidi algorithm), or they read backwards.
        text.set_text(get_display(text.get_text()))
    return figure


def ad_png(report: AdReport, study_name: str) -> bytes:
    """The ad's page as a 1200 x 800 PNG."""
    figure = as_plain_text(ad_figure(report, study_name, PNG_SIZE_IN))
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()
