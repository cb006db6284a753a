"""Emotion mode only: the EMOTION_METRICS per frame from the FER2013 classifier and expressions.

Nothing here runs unless ``analyze(..., emotions=True)`` asked for it.

* joy, surprise, anger, sadness, disgust, fear: the classifier's probability of that class
  (``happy``, ``surprise``, ``angry``, ``sad``, ``disgust``, ``fear``), 0..1. It judges the
  whole face's appearance, so a sob's knit brows and shut eyes do not read as joy even where
  the mouth's shape does.
* contempt: FER2013 has no contempt class; AFFDEX's is a one-sided lip corner (AU12/14 on one
  side), so it is the blendshapes' one-sided lip-corner pull (``one_sided``, before the
  appearance support that ``smirk`` carries) times (1 - joy): a lopsided pull that is not a
  happy one.
* valence, -1..1: joy minus the strongest negative emotion (anger, sadness, disgust, fear,
  contempt).
* engagement, 0..1: expressiveness, the strongest of the measured expressions but eye closure.
"""

from __future__ import annotations

import numpy as np

from candor.metrics import EMOTION_METRICS, EXPRESSION_NAMES, NOT_MEASURED
from worker.analysis.arrays import Array, Table
from worker.analysis.trained import FER_CLASSES

_FROM_CLASS = {
    "joy": "happy",
    "surprise": "surprise",
    "anger": "angry",
    "sadness": "sad",
    "disgust": "disgust",
    "fear": "fear",
}
_NEGATIVE = ("anger", "sadness", "disgust", "fear", "contempt")


def emotions(probabilities: Array, expressions: Table, one_sided: Array) -> Table:
    """EMOTION_METRICS per frame from (n, 7) class probabilities (NaN rows without a face), the
    expressions and the one-sided lip-corner pull (0..1)."""
    out: Table = {
        name: probabilities[:, FER_CLASSES.index(source)] for name, source in _FROM_CLASS.items()
    }
    out["contempt"] = one_sided * (1.0 - out["joy"])
    negative = np.max([out[name] for name in _NEGATIVE], axis=0)
    out["valence"] = np.clip(out["joy"] - negative, -1.0, 1.0)
    moving = [
        expressions[name]
        for name in EXPRESSION_NAMES
        if name != "eye_closure" and name not in NOT_MEASURED
    ]
    out["engagement"] = np.max(moving, axis=0)
    return {name: out[name] for name in EMOTION_METRICS}
