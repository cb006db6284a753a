"""The report draws the ad's own pictures under its curves, each at the second it shows
(read back from the PNG: a grey video whose level tells its second)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.offsetbox import AnnotationBbox
from PIL import Image

from tests.web.reports.test_reports import _plain_report
from tests.web.studies.test_thumbnails import grey_video
from web.reports import render
from web.reports.content import AdReport
from web.studies.thumbnails import decode, plan


def _with_frames(tmp_path: Path) -> AdReport:
    video = grey_video(tmp_path / "ad.mp4", 6)
    wanted = plan(6)
    frames = tuple(zip(wanted, decode(video, wanted), strict=True))
    return dataclasses.replace(_plain_report(20, []), frames=frames)


def test_each_picture_sits_under_its_second_and_shows_it(tmp_path: Path) -> None:
    report = _with_frames(tmp_path)
    figure = render.as_plain_text(render.ad_figure(report, "Study", render.PNG_SIZE_IN))
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    curves, strip = figure.axes[0], figure.axes[1]
    assert strip.get_title(loc="left") == "What was on screen (pictures of the ad)"
    boxes = [a for a in strip.get_children() if isinstance(a, AnnotationBbox)]
    assert [b.xy[0] for b in boxes] == [s + 0.5 for s in range(6)]
    renderer = canvas.get_renderer()
    height = image.shape[0]
    for second, box in enumerate(boxes):
        extent = box.get_window_extent(renderer)
        x, y = int(extent.x0 + extent.width / 2), int(height - (extent.y0 + extent.height / 2))
        # Under the curves' own axis position of that second's middle.
        expected_x = curves.transData.transform((second + 0.5, 0))[0]
        assert x == pytest.approx(expected_x, abs=2)
        assert image[y, x].mean() == pytest.approx(20 * second + 10, abs=5)
        # No wider than a second of the axis: pictures never overlap.
        per_second = curves.transData.transform((1, 0))[0] - curves.transData.transform((0, 0))[0]
        assert extent.width <= per_second + 1


def test_the_png_carries_the_pictures(tmp_path: Path) -> None:
    report = _with_frames(tmp_path)
    png = Image.open(io.BytesIO(render.ad_png(report, "Study")))
    assert png.size == (1200, 800)
    without = Image.open(io.BytesIO(render.ad_png(_plain_report(20, []), "Study")))
    # The flat greys of seconds 2-5 (50..110): four pictures of ~130 x 73 px more than without
    # them (text antialiasing makes a few thousand such pixels in both).
    greys = {(v, v, v) for v in range(45, 115)}

    def count(img: Image.Image) -> int:
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000) or []
        return sum(n for n, rgb in colours if rgb in greys)

    assert count(png) - count(without) > 25_000
