"""The development figures of issue 18, per expression, on the coded real faces
(real/expressions.labels.json): Spearman of the reading against the person's codes, the 95th
percentile where the person saw it (coded 2 or more) and the mean where they saw none, with the
bars test_real_expressions.py holds them to.

    .venv/bin/python -m tests.worker.analysis.expression_figures [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from tests.worker.analysis import real_faces as rf
from tests.worker.analysis import test_real_expressions as tre


def figures(read: tre.Read, only: str | None = None) -> dict[str, dict[str, float | int]]:
    """Per measured expression: faces coded, shown (2+), absent (0), Spearman, moves p95,
    stays-low mean (NaN where there is nothing to compute). ``only``: "faces" or "clip rows"."""
    out: dict[str, dict[str, float | int]] = {}
    for expression in EXPRESSION_NAMES:
        if expression in NOT_MEASURED:
            continue
        codes, values = tre._coded(read, expression, only)
        shown, absent = values[codes >= 2], values[codes == 0]
        varied = len(set(codes.tolist())) > 1 and len(set(values.tolist())) > 1
        out[expression] = {
            "coded": len(codes),
            "shown": len(shown),
            "absent": len(absent),
            "spearman": rf.spearman(list(codes), list(values)) if varied else float("nan"),
            "moves_p95": float(np.percentile(shown, 95)) if len(shown) else float("nan"),
            "stays_low_mean": float(absent.mean()) if len(absent) else float("nan"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        read = tre.read_all(Path(folder))
    table = figures(read)
    print(
        f"{len(tre.FACES)} faces in {len(tre.clips())} clips, "
        f"{len(tre.CLIP_ROWS)} coded half-seconds of {len(rf.CODED_CLIPS)} real clips"
    )
    for title, only in (("all", None), ("faces", "faces"), ("clip rows", "clip rows")):
        print(f"\n{title}")
        print(f"{'expression':22} {'coded':>5} {'shown':>5} {'rho':>6} {'p95':>6} {'low':>6}")
        for name, f in figures(read, only).items():
            print(
                f"{name:22} {f['coded']:5d} {f['shown']:5d} {f['spearman']:6.2f} "
                f"{f['moves_p95']:6.2f} {f['stays_low_mean']:6.2f}"
            )
    print(f"bars: moves p95 >= {tre.MOVES} (shown on 2+ faces), stays-low mean <= {tre.STAYS_LOW}")
    if args.json:
        values = {
            name: {column: (v if np.isfinite(v) else None) for column, v in row.items()}
            for name, row in read.values.items()
        }
        args.json.write_text(json.dumps({"figures": table, "values": values}, indent=1))


if __name__ == "__main__":
    main()
