"""What makes a clip, or one second of it, count: the data-quality contract between the clip job
(which decides) and the results (which show why). Pure data, like `candor.metrics`.
"""

from __future__ import annotations

# Why a clip is left out of its ad's results (Clip.exclusion_reason), in display order, with the
# words analysts read. The analysis decides the first six; the clip job decides "incomplete".
EXCLUSION_REASONS: dict[str, str] = {
    "no_face": "No face",
    "bystander": "Bystander in view",
    "too_dark": "Too dark",
    "too_short": "Too short",
    "occluded": "Mouth covered (hand or mask)",
    # On-device mode only: the browser's numbers are not what a live face gives
    # (worker/analysis/ondevice.py, PLAUSIBILITY_RULES).
    "implausible": "Implausible on-device stream",
    "incomplete": "Covers too little of the ad",
}
# The reasons the analysis itself decides (all but the clip job's "incomplete").
ANALYSIS_EXCLUSION_REASONS: tuple[str, ...] = tuple(
    reason for reason in EXCLUSION_REASONS if reason != "incomplete"
)

# A clip whose observed seconds cover less than this share of its ad's seconds is "incomplete":
# a long network drop, a reload or a lost camera left most of the ad unrecorded, and a
# panelist seen for the first third of an ad would tilt its curve toward its opening.
MIN_AD_COVERAGE = 0.8

# A second of ad time is an observation only with at least this share of the frames the clip's
# frame rate gives one second (scaled for the ad's last, partial second): a second with 1-4
# frames of 15 (a stall's edge, a closing tab, a camera going) is noise, not a panelist's second.
MIN_FRAME_SHARE = 0.5

# Seconds kept as a mark only (ClipSecond.flag, no values, never aggregated), and their words.
SECOND_FLAGS: dict[str, str] = {
    "hidden": "Tab hidden",  # the ad played on while the panelist's tab was hidden
    "sparse": "Too few frames",  # below MIN_FRAME_SHARE of the expected frames
}
