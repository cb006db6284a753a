"""Rigid points of mediapipe's canonical face model, the reference for head pose.

The points are vertices of ``mediapipe/modules/face_geometry/data/canonical_face_model.obj``
(Copyright 2020 The MediaPipe Authors, Apache License 2.0), embedded as data because the wheel
does not ship the file. Units are centimetres of an average adult face; x to the subject's left
(image right when facing the camera), y up, z out of the face towards the camera.

They are the landmarks mediapipe's own geometry pipeline uses for its Procrustes fit, minus
those that move with expressions (forehead: brow raise; jaw line: jaw drop; mid-cheek: smile).
Weights are mediapipe's, renormalised over the points kept.
"""

from __future__ import annotations

import numpy as np

# landmark id: (x, y, z, weight)
_RIGID = {
    4: (0.000000, -0.463170, 7.586580, 0.070909939706326),
    6: (0.000000, 2.473255, 5.788627, 0.032100144773722),
    33: (-4.445859, 2.663991, 3.173422, 0.058724168688059),
    117: (-5.258659, 0.945811, 2.974312, 0.009791937656701),
    119: (-3.300681, 0.861641, 3.872784, 0.014565368182957),
    121: (-1.820731, 1.467954, 4.224124, 0.018591361120343),
    127: (-7.743095, 2.364999, -2.005167, 0.005197994410992),
    129: (-1.785794, -0.978284, 4.850470, 0.120625205338001),
    132: (-7.270895, -2.890917, -2.252455, 0.005560018587857),
    133: (-1.856432, 2.585245, 3.757904, 0.05328618362546),
    143: (-6.407571, 2.236021, 1.560843, 0.014816547743976),
    147: (-6.234883, -1.944430, 1.663542, 0.014262833632529),
    198: (-1.246815, 0.230297, 5.681036, 0.025462191551924),
    263: (4.445859, 2.663991, 3.173422, 0.058724168688059),
    346: (5.258659, 0.945811, 2.974312, 0.009791937656701),
    348: (3.300681, 0.861641, 3.872784, 0.014565368182957),
    350: (1.820731, 1.467954, 4.224124, 0.018591361120343),
    356: (7.743095, 2.364999, -2.005167, 0.005197994410992),
    358: (1.785794, -0.978284, 4.850470, 0.120625205338001),
    361: (7.270895, -2.890917, -2.252455, 0.005560018587857),
    362: (1.856432, 2.585245, 3.757904, 0.05328618362546),
    372: (6.407571, 2.236021, 1.560843, 0.014816547743976),
    376: (6.234883, -1.944430, 1.663542, 0.014262833632529),
    420: (1.246815, 0.230297, 5.681036, 0.025462191551924),
}

RIGID_IDS = np.array(list(_RIGID), dtype=np.intp)
RIGID_POINTS = np.array([v[:3] for v in _RIGID.values()], dtype=np.float64)
RIGID_WEIGHTS = np.array([v[3] for v in _RIGID.values()], dtype=np.float64)
RIGID_WEIGHTS /= RIGID_WEIGHTS.sum()
