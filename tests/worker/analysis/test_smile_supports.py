"""The appearance model runs only where its answer can matter (appearance.SmileSupports): every
other frame of a held smile, every frame where the support moves, and a waiting frame whose
neighbours disagree is judged after all."""

from __future__ import annotations

import numpy as np

from worker.analysis.appearance import STEADY_CHANGE, SmileSupports, smile_support
from worker.analysis.trained import FER_CLASSES

_HAPPY, _SAD = FER_CLASSES.index("happy"), FER_CLASSES.index("sad")
_LANDMARKS = np.zeros((478, 3), np.float32)


class _Model:
    """A stand-in appearance model: frame i (its pixels hold i) reads happy = ``happy[i]``."""

    def __init__(self, happy: list[float]) -> None:
        self.happy = happy
        self.calls: list[int] = []

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        i = int(rgb[0, 0, 0])
        self.calls.append(i)
        classes = np.zeros(len(FER_CLASSES), np.float32)
        classes[_HAPPY], classes[_SAD] = self.happy[i], 1.0 - self.happy[i]
        return classes

    def support(self, i: int) -> float:
        return float(smile_support(self(_frame(i), _LANDMARKS)[None])[0])


def _frame(i: int) -> np.ndarray:
    return np.full((2, 2, 3), i, np.uint8)


def _offer_all(model: _Model) -> list[float]:
    supports = SmileSupports(model)
    for i in range(len(model.happy)):
        supports.offer(i / 15, _frame(i), _LANDMARKS)
    return supports.finish()


def test_a_held_smile_is_judged_every_other_frame_and_read_the_same() -> None:
    model = _Model([0.9] * 20)
    values = _offer_all(model)
    assert len(model.calls) <= 12  # 2 to find it steady, then every other frame
    assert np.allclose(values, model.support(0))


def test_a_moving_support_is_judged_on_every_frame() -> None:
    happy = [0.9 if i % 2 else 0.1 for i in range(20)]
    model = _Model(happy)
    values = _offer_all(model)
    assert sorted(model.calls) == list(range(20))
    reference = _Model(happy)
    assert values == [reference.support(i) for i in range(20)]


def test_a_waiting_frame_whose_neighbours_disagree_is_judged_after_all() -> None:
    # Steady at 0.9, then a sob from frame 5: frame 4 waits, frame 5 disagrees, 4 is judged.
    happy = [0.9] * 5 + [0.0] * 5
    model = _Model(happy)
    values = _offer_all(model)
    assert 4 in model.calls
    reference = _Model(happy)
    assert np.allclose(values, [reference.support(i) for i in range(10)])


def test_a_waiting_frame_is_judged_when_the_smile_ends_or_the_clip_does() -> None:
    model = _Model([0.9, 0.9, 0.9, 0.9])
    supports = SmileSupports(model)
    for i in range(3):
        supports.offer(i / 15, _frame(i), _LANDMARKS)
    supports.skip(1.0)  # frame 3: too small a smile to judge; frame 2 was waiting
    assert model.calls == [0, 1, 2]
    supports.offer(4 / 15, _frame(0), _LANDMARKS)
    supports.offer(5 / 15, _frame(1), _LANDMARKS)
    supports.offer(6 / 15, _frame(2), _LANDMARKS)  # steady: waits, then the clip ends
    values = supports.finish()
    assert model.calls == [0, 1, 2, 0, 1, 2]
    assert not np.isnan(values).any()


def test_steady_means_within_the_bar() -> None:
    # Judgements STEADY_CHANGE apart count as steady; twice that do not.
    for step, waits in ((STEADY_CHANGE / 4, True), (4 * STEADY_CHANGE, False)):
        happy = [0.5 + step * i for i in range(6)]
        model = _Model(happy)
        _offer_all(model)
        assert (len(model.calls) < 6) == waits, (step, model.calls)
