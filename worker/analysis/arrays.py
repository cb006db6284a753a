"""Array and table types shared by the analysis modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]
# A columnar table: column name -> one value per row.
Table = dict[str, Array]
