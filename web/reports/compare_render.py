"""Draw a report's comparison page (web/reports/compare_content.py): the ads' curves side by
side, the seconds where a difference holds hatched, and what holds in words. A PNG from the
compare page, and a page of the study's PDF when the study has two or more ads with data.

Matplotlib's object API only, as in web/reports/render.py.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from candor.metrics import METRIC_RANGE
from web.reports.compare_content import CompareReport
from web.reports.render import (
    FOOTER,
    HEADROOM,
    PNG_DPI,
    PNG_SIZE_IN,
    _values,
    _wrap,
    as_plain_text,
    label,
)

# Okabe-Ito, as the web chart: ads told apart by colour and line style.
AD_STYLES = (
    ("#0072B2", "-"), ("#D55E00", "--"), ("#009E73", ":"), ("#CC79A7", "-."),
    ("#E69F00", (0, (8, 3))), ("#56B4E9", (0, (4, 2, 1, 2))), ("#000000", (0, (1, 3))),
    ("#8C6D1F", (0, (10, 2, 2, 2))),
)  # fmt: skip
HATCH_COLOUR = "#a06400"
TEXT_WIDTH = 46
# Lines of text that fit beside the charts at 8.5 pt; more (many ads: many pairs) are cut with
# a pointer to the compare page, which says it all.
MAX_LINES = 62


def compare_figure(report: CompareReport, size: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size, layout="constrained")
    names = ", ".join(f"{g.label} (n = {g.n})" for g in report.groups)
    figure.suptitle("\n".join([report.title, *_wrap(names, 120)]), x=0.01, ha="left", fontsize=13)
    grid = figure.add_gridspec(len(report.metrics), 2, width_ratios=(3.0, 1.5))
    x = np.array(report.x, dtype=float)
    percent = report.percent
    lines: list[str] = []
    first = None
    for row, metric in enumerate(report.metrics):
        ax = figure.add_subplot(grid[row, 0], sharex=first)
        first = first or ax
        tested = report.tested.metrics.get(metric)
        for second in tested.significant_seconds if tested and not percent else []:
            # Second s is [s, s + 1) of ad time: hatched, as on the web chart.
            ax.axvspan(second, second + 1, facecolor="#e69f00", alpha=0.15, linewidth=0)
            ax.axvspan(second, second + 1, facecolor="none", edgecolor=HATCH_COLOUR,
                       hatch="///", alpha=0.35, linewidth=0)  # fmt: skip
        for i, group in enumerate(report.groups):
            colour, style = AD_STYLES[i % len(AD_STYLES)]
            curve = group.curves[metric]
            ax.fill_between(x, _values(curve.ci_low), _values(curve.ci_high), color=colour,
                            alpha=0.12, linewidth=0)  # fmt: skip
            ax.plot(x, _values(curve.mean), color=colour, linestyle=style, linewidth=2,
                    label=group.label)  # fmt: skip
        low, high = METRIC_RANGE.get(metric, (0.0, 1.0))
        pad = (high - low) * HEADROOM
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlim(0, 100 if percent else max(len(report.x), 1))
        ax.grid(alpha=0.25)
        ax.set_title(label(metric), loc="left", fontsize=10)
        if row == 0:
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0),
                      ncol=min(len(report.groups), 4), fontsize=8, frameon=False,
                      borderaxespad=0.2)  # fmt: skip
        if tested:
            lines += [*_wrap(f"{label(metric)}: {tested.sentence}", TEXT_WIDTH), ""]
    if first is not None:
        figure.axes[-1].set_xlabel("Ad progress (%)" if percent else "Ad time (s)")
    text = figure.add_subplot(grid[:, 1])
    text.axis("off")
    key = "Hatched: seconds where they differ for real. " if not percent else ""
    lines += _wrap(key + report.tested.method, TEXT_WIDTH)
    lines += ["", *_wrap(FOOTER, TEXT_WIDTH)]
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], "... (the compare page says it all)"]
    text.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=8.5)
    return figure


def compare_png(report: CompareReport) -> bytes:
    figure = as_plain_text(compare_figure(report, PNG_SIZE_IN))
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()
