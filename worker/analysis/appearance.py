"""Appearance evidence: whether a lip-corner pull is a smile, judged on the face's pixels.

The blendshapes read a smile from where the lip corners are. A sob, a disgusted or a fearful
lip stretch and pressed lips pull the corners too, and the landmark models (the legacy mesh and
FaceLandmarker's own) read a sob at 0.8-0.9 mouthSmile. The appearance model
(``trained.AppearanceClassifier``) judges the whole face: the knit brows, shut eyes and the
mouth's shape together. Its seven outputs are reduced here, at once, to one number per frame,
``smile_support``: the weight of its evidence for a smiling face against the faces that pull
the lip corners without smiling. Nothing else of it is kept outside emotion mode.

The model runs only where its answer can change an expression: on frames whose blendshape
smile (either side) reaches ``MIN_SMILE_TO_JUDGE``; elsewhere the smile is too small to need
support, and the frame's support is 1.
"""

from __future__ import annotations

import numpy as np

from worker.analysis.arrays import Array
from worker.analysis.trained import FER_CLASSES

# The classes that say "a smiling face" and those that say "corners pulled without a smile".
# Surprise and the rest class are neither: talking faces read the rest class most of the time,
# and a slight smile while talking must keep its support.
_SMILING = FER_CLASSES.index("happy")
_NOT_SMILING = [FER_CLASSES.index(name) for name in ("angry", "disgust", "fear", "sad")]
# Below this blendshape smile (either side) the appearance model is not run.
MIN_SMILE_TO_JUDGE = 0.1
# A floor on the evidence, so a face read as neither (all rest class) keeps half its smile.
_EPSILON = 0.02


def smile_support(probabilities: Array) -> Array:
    """Per frame 0..1: the appearance model's evidence for a smile against a sob, disgust, fear or
    anger, from its class probabilities (n, 7); NaN rows stay NaN."""
    smiling = probabilities[:, _SMILING]
    against = probabilities[:, _NOT_SMILING].sum(axis=1)
    return np.asarray((smiling + _EPSILON) / (smiling + against + 2 * _EPSILON))
