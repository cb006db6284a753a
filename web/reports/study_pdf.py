"""The study's PDF: a page per ad, the ads compared, then data quality."""

from __future__ import annotations

import io

from matplotlib.backends.backend_pdf import PdfPages

from web.reports.compare_render import compare_figure
from web.reports.content import StudyReport
from web.reports.render import A4_LANDSCAPE_IN, ad_figure, as_plain_text, quality_figure


def study_pdf(report: StudyReport) -> bytes:
    """A4 landscape: one page per ad in the study's order, the ads compared (two or more with
    data: curves side by side, where they differ for real), then the data-quality page."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata=_pdf_metadata(report)) as pdf:
        for ad in report.ads:
            pdf.savefig(as_plain_text(ad_figure(ad, report.study.name, A4_LANDSCAPE_IN)))
        if report.comparison is not None:
            pdf.savefig(as_plain_text(compare_figure(report.comparison, A4_LANDSCAPE_IN)))
        pdf.savefig(as_plain_text(quality_figure(report, A4_LANDSCAPE_IN)))
    return buffer.getvalue()


def _pdf_metadata(report: StudyReport) -> dict[str, str]:
    return {
        "Title": f"{report.study.name}: Candor report",
        "Author": report.organisation,
        "Creator": "Candor",
    }
