"""`candor analyze` as a script sees it: how many frames a second it read of how many, each
column's scale and AU beside the CSV, and a clip without a face told apart by its exit status.
(The analysis itself is tested in tests/worker/analysis; this is the command around it.)"""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
from click.testing import CliRunner

from candor.cli import EXIT_EXCLUDED, main
from candor.columns import describe
from candor.metrics import EXPRESSION_BY_NAME, NOT_MEASURED
from worker.analysis.constants import frame_columns, second_columns


def _faceless_clip(path: Path, seconds: int = 3, fps: int = 30) -> None:
    """A lit room with nobody in it: mid-grey noise, 30 frames a second."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(seconds * fps):
            image = rng.integers(100, 160, (240, 320, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_a_clip_with_no_face_exits_3_with_the_reason_and_says_what_it_sampled(
    tmp_path: Path,
) -> None:
    clip, curves = tmp_path / "empty-room.webm", tmp_path / "curves.csv"
    _faceless_clip(clip)
    result = CliRunner().invoke(main, ["analyze", str(clip), "-o", str(curves)])
    assert result.exit_code == EXIT_EXCLUDED == 3, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    # The default rate (15) against the clip's own (30), and why the clip is not usable.
    assert "15 of 30 frames a second analysed" in line, line
    assert line.endswith("excluded: no_face (no face)"), line
    # The files are still written, for a look; the curves' columns are described beside them.
    assert _rows(curves)[0][0] == "second"
    sidecar = _rows(tmp_path / "curves.columns.csv")
    assert sidecar[0] == ["column", "scale", "au", "meaning"]
    assert [row[0] for row in sidecar[1:]] == _rows(curves)[0]


def test_every_column_has_a_scale_and_each_expression_its_au() -> None:
    for per_second, columns in ((True, second_columns(True)), (False, frame_columns(True))):
        for column in columns:
            scale, au, meaning = describe(column, per_second)
            assert scale and meaning, column
            expression = EXPRESSION_BY_NAME.get(column)
            assert au == (expression.au if expression else ""), column
    for name in NOT_MEASURED:  # its cells are empty, and the sidecar says why
        assert describe(name, True)[0] == "empty" and "Not measured" in describe(name, True)[2]
    assert describe("valence", True)[0] == "-1..1"
    assert describe("yaw", False)[0] == "degrees"
    assert describe("attention", True)[0] == "share 0..1"
