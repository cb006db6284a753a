"""`candor analyze`: files written, JSON, one-line errors and exit codes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from candor.cli import main
from candor.metrics import EMOTION_METRICS
from tests.support import face_clips as fc
from worker.analysis import FRAME_COLUMNS, SECOND_COLUMNS, Settings
from worker.analysis.constants import second_columns
from worker.analysis.decode import frame_slot


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_writes_curves_and_frames(tmp_path: Path, short_webm: tuple[Path, fc.Truth]) -> None:
    clip, truth = short_webm
    curves, frames = tmp_path / "curves.csv", tmp_path / "frames.csv"
    result = CliRunner().invoke(
        main, ["analyze", str(clip), "-o", str(curves), "--frames", str(frames)]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(curves)
    assert tuple(rows[0]) == SECOND_COLUMNS
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    frame_rows = _rows(frames)
    # One row per analysed frame: the first of each 1/fps slot of the clip's frames.
    rate = Settings().fps
    assert rate is not None
    analysed = len({frame_slot(float(t), rate) for t in truth.t})
    assert tuple(frame_rows[0]) == FRAME_COLUMNS and len(frame_rows) == analysed + 1
    assert "short.webm: " in result.stderr and "excluded: no" in result.stderr
    assert not set(EMOTION_METRICS) & set(rows[0])


def test_emotions_only_when_asked(tmp_path: Path, short_webm: tuple[Path, fc.Truth]) -> None:
    curves = tmp_path / "curves.csv"
    result = CliRunner().invoke(
        main, ["analyze", str(short_webm[0]), "-o", str(curves), "--emotions", "--fps", "5"]
    )
    assert result.exit_code == 0, result.output
    header = tuple(_rows(curves)[0])
    assert header == second_columns(True)
    assert set(EMOTION_METRICS) <= set(header)


def test_json_output(short_webm: tuple[Path, fc.Truth]) -> None:
    result = CliRunner().invoke(main, ["analyze", str(short_webm[0]), "--json", "--fps", "10"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"seconds", "quality", "provenance"}
    assert data["provenance"]["settings"]["fps"] == 10.0
    assert [row["second"] for row in data["seconds"]] == [0, 1, 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_text("hello"), "is not a video file"),
        (fc.make_audio_only, "has no video track"),
        (fc.make_empty_video, "no frames"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, make: object, message: str) -> None:
    clip = tmp_path / "clip.webm"
    assert callable(make)
    make(clip)
    result = CliRunner().invoke(main, ["analyze", str(clip), "-o", str(tmp_path / "c.csv")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines
    assert not (tmp_path / "c.csv").exists()


def test_usage_errors_exit_2(short_webm: tuple[Path, fc.Truth]) -> None:
    runner = CliRunner()
    nothing = runner.invoke(main, ["analyze", str(short_webm[0])])
    assert nothing.exit_code == 2 and "nothing to write" in nothing.stderr
    bad_fps = runner.invoke(main, ["analyze", str(short_webm[0]), "--json", "--fps", "0"])
    assert bad_fps.exit_code == 2


def test_unwritable_output(tmp_path: Path, short_webm: tuple[Path, fc.Truth]) -> None:
    target = tmp_path / "missing-dir" / "curves.csv"
    result = CliRunner().invoke(main, ["analyze", str(short_webm[0]), "-o", str(target)])
    assert result.exit_code == 1 and "cannot write" in result.stderr


def test_a_real_process_prints_only_its_own_line(
    tmp_path: Path, short_webm: tuple[Path, fc.Truth]
) -> None:
    # mediapipe's native libraries log to file descriptor 2; the command keeps them off it.
    clip = short_webm[0]
    done = subprocess.run(
        [sys.executable, "-m", "candor.cli", "analyze", str(clip), "-o", str(tmp_path / "c.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("short.webm: ")
