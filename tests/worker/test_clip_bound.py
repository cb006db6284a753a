"""The worker's time per clip is bounded by the clip's ad (issue 19.5), counted in frames
decoded: nothing past the ad's length plus the margin, and no more than MAX_DECODE_FPS frames a
second of it whatever the timestamps claim."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from tests.support.clips import make_webm, split
from tests.support.factories import make_ad, make_study
from tests.worker.conftest import uploaded_clip
from web.clips.models import Clip
from web.settings import Settings
from worker.analysis import analyze_video
from worker.analysis.decode import MAX_DECODE_FPS, VideoReader
from worker.tasks import analyze_clip


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "clip.webm"
    path.write_bytes(data)
    return path


def test_decoding_stops_at_the_bound(tmp_path: Path) -> None:
    path = _file(tmp_path, make_webm(seconds=6.0, fps=15))
    with VideoReader(path) as reader:
        everything = list(reader.frames())
        assert reader.decoded == len(everything) == 90 and reader.stopped_at_s is None
    with VideoReader(path) as reader:
        frames = list(reader.frames(until_s=2.0))
        assert frames and max(f.t for f in frames) <= 2.0
        assert len(frames) == 31  # 0, 1/15, ..., 2.0
        assert reader.decoded == len(frames) + 1  # one frame past the bound, then no more
        assert reader.stopped_at_s == 2.0


def test_a_flood_of_frames_is_cut_by_count_whatever_the_timestamps_say(tmp_path: Path) -> None:
    """Tiny frames at 250 a second: the time bound alone would decode 500 for 2 s."""
    path = _file(tmp_path, make_webm(seconds=4.0, fps=250, width=32, height=32))
    with VideoReader(path) as reader:
        frames = list(reader.frames(until_s=2.0))
        assert len(frames) == math.ceil(2.0 * MAX_DECODE_FPS)
        assert reader.decoded == len(frames) + 1
        assert reader.stopped_at_s is not None and reader.stopped_at_s < 2.0


@pytest.mark.usefixtures("configured")
def test_the_worker_decodes_a_long_clip_only_as_far_as_its_ad_allows(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 12 s recording against a 2 s ad, margin 1 s: about 3 s of it is decoded, and the
    clip is analysed as usual from that."""
    settings.clip_margin_s = 1.0
    readers: list[VideoReader] = []

    class Counted(VideoReader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            readers.append(self)

    monkeypatch.setattr(analyze_video, "VideoReader", Counted)
    ad = make_ad(db_session, make_study(db_session), duration_s=2.0)
    video = make_webm(seconds=12.0, fps=15)
    up = uploaded_clip(
        db_session, settings, split(video, 4), events=[("start", 0, 0), ("end", 2000, 2000)], ad=ad
    )
    assert analyze_clip(up.rows.clip.id) == "done"
    (reader,) = readers
    assert reader.stopped_at_s == 3.0
    assert reader.decoded == 3 * 15 + 2  # frames at 0 .. 3.0 s, and the one that crossed
    assert reader.decoded < 12 * 15 / 3
    db_session.expire_all()
    clip = db_session.get(Clip, up.rows.clip.id)
    assert clip is not None and clip.status == ClipStatus.DONE
