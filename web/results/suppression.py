"""Minimum cell size: which segments (and which seconds of them) may be shown, and how the
per-panelist export is coarsened, so that no small group can be seen or worked out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

SUPPRESSED_VALUE = "(suppressed)"


def hidden_cells(total_n: int, cells: Mapping[str, int], min_cell_size: int) -> set[str]:
    """The segment values to hide, given the whole sample's n and each segment's n.

    Primary suppression hides every cell below the minimum. Then, because the whole sample is
    shown, the whole minus the shown segments is a group too (the hidden ones plus panelists
    without a value): while that remainder is non-empty but below the minimum, the smallest
    shown cell is hidden as well (secondary suppression), so subtraction reveals no small group.
    """
    if min_cell_size < 1:
        raise ValueError(f"min_cell_size must be >= 1, not {min_cell_size}")
    hidden = {value for value, n in cells.items() if n < min_cell_size}
    shown = sorted((n, value) for value, n in cells.items() if value not in hidden)
    while shown:
        remainder = total_n - sum(n for n, _ in shown)
        if remainder <= 0 or remainder >= min_cell_size:
            break
        hidden.add(shown.pop(0)[1])
    return hidden


def coarsen_passthrough(
    rows: Sequence[Mapping[str, str]], min_cell_size: int
) -> list[dict[str, str]]:
    """Pass-through variables for a per-panelist export, k-anonymous with k = min_cell_size.

    Step 1: a value held by fewer than k panelists becomes "(suppressed)" in its variable
    (a missing value, "", counts as a value: being the one who skipped a question identifies).
    Step 2: a panelist whose combination of values is still shared by fewer than k panelists
    has every value suppressed. Every combination left in the export is then held by at least
    k panelists, or says nothing at all.
    """
    if min_cell_size < 1:
        raise ValueError(f"min_cell_size must be >= 1, not {min_cell_size}")
    variables = sorted({var for row in rows for var in row})
    counts = {var: Counter(row.get(var, "") for row in rows) for var in variables}
    coarse = [
        {
            var: value
            if counts[var][value := row.get(var, "")] >= min_cell_size
            else SUPPRESSED_VALUE
            for var in variables
        }
        for row in rows
    ]
    combos = Counter(tuple(row[var] for var in variables) for row in coarse)
    for row in coarse:
        if combos[tuple(row[var] for var in variables)] < min_cell_size:
            for var in variables:
                row[var] = SUPPRESSED_VALUE
    return coarse
