"""What makes a clip, or one second of it, count: the data-quality contract between the clip job
(which decides) and the results (which show why). Pure data, like `candor.metrics`.
"""

from __future__ import annotations

import enum


class ExclusionReason(enum.StrEnum):
    """Why a clip is left out of its ad's results (Clip.exclusion_reason), in display order.
    The analysis decides the first six; the clip job decides INCOMPLETE."""

    NO_FACE = "no_face"
    BYSTANDER = "bystander"
    TOO_DARK = "too_dark"
    TOO_SHORT = "too_short"
    OCCLUDED = "occluded"
    # On-device mode only: the browser's numbers are not what a live face gives
    # (worker/analysis/ondevice.py, PLAUSIBILITY_RULES).
    IMPLAUSIBLE = "implausible"
    INCOMPLETE = "incomplete"


# The words analysts read for each reason.
EXCLUSION_REASONS: dict[str, str] = {
    ExclusionReason.NO_FACE: "No face",
    ExclusionReason.BYSTANDER: "Bystander in view",
    ExclusionReason.TOO_DARK: "Too dark",
    ExclusionReason.TOO_SHORT: "Too short",
    ExclusionReason.OCCLUDED: "Mouth covered (hand or mask)",
    ExclusionReason.IMPLAUSIBLE: "Implausible on-device stream",
    ExclusionReason.INCOMPLETE: "Covers too little of the ad",
}
# The reasons the analysis itself decides (all but the clip job's "incomplete").
ANALYSIS_EXCLUSION_REASONS: tuple[str, ...] = tuple(
    reason for reason in ExclusionReason if reason != ExclusionReason.INCOMPLETE
)

# A clip whose observed seconds cover less than this share of its ad's seconds is "incomplete":
# a long network drop, a reload or a lost camera left most of the ad unrecorded, and a
# panelist seen for the first third of an ad would tilt its curve toward its opening.
MIN_AD_COVERAGE = 0.8

# A second of ad time is an observation only with at least this share of the frames the clip's
# frame rate gives one second (scaled for the ad's last, partial second): a second with 1-4
# frames of 15 (a stall's edge, a closing tab, a camera going) is noise, not a panelist's second.
MIN_FRAME_SHARE = 0.5


class SecondFlag(enum.StrEnum):
    """A second kept as a mark only (ClipSecond.flag): no values, never aggregated."""

    HIDDEN = "hidden"  # the ad played on while the panelist's tab was hidden
    SPARSE = "sparse"  # below MIN_FRAME_SHARE of the expected frames


# The words analysts read for each mark.
SECOND_FLAGS: dict[str, str] = {
    SecondFlag.HIDDEN: "Tab hidden",
    SecondFlag.SPARSE: "Too few frames",
}
