"""Response models of the results API; pages render the same objects."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
)


class MetricInfo(BaseModel):
    """What a metric is: its name, label, group, FACS action unit, range and definition."""

    name: str
    label: str
    group: Literal["attention", "expressions", "emotions", "engagement", "quality"]
    au: str | None = Field(None, description="FACS action unit(s) of an expression")
    description: str | None = None
    min: float
    max: float | None = Field(description="None where unbounded (blinks are a count)")
    derivation: str | None = Field(
        None, description="Emotion metrics: link to how the value is derived (docs/emotions.md)"
    )
    measured: bool = Field(
        True,
        description="False for an expression no model here measures on real faces: its curve "
        "is empty (every value null, never zero), and summaries, key moments and norms leave "
        "it out (docs/results.md, 'Not measured'); in a study analysed on the panelists' "
        "devices, also for smile, smirk and nose wrinkle (not measured on device)",
    )
    not_measured_why: str | None = Field(
        None, description="Why it is not measured (None when it is): no model here, or on device"
    )


class MetricCurve(BaseModel):
    """One metric per second: n, mean and 95% CI. None where empty or suppressed."""

    metric: str
    n: list[int | None] = Field(
        description="Panelists contributing; None where suppressed or the metric is not measured"
    )
    mean: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]
    measured: bool = Field(
        True,
        description="False: no model here measures this expression (or, in an on-device "
        "study, that mode does not); every value is null",
    )


class SegmentCurves(BaseModel):
    """The curves of one group of panelists: everyone, or one value of a pass-through variable."""

    segment_var: str = Field(description='"" for everyone')
    segment_value: str
    n: int = Field(description="Panelists in this group (most at any second)")
    curves: dict[str, MetricCurve]


class AdCurves(BaseModel):
    """Aggregated curves of one ad, optionally split by a pass-through variable."""

    ad_id: int
    study_id: int
    title: str
    duration_s: float
    seconds: list[int] = Field(description="Second s covers ad time [s, s+1)")
    overall: SegmentCurves
    segment_var: str | None = None
    segments: list[SegmentCurves] = Field(default_factory=list)
    hidden_segments: int = Field(0, description="Segments hidden by the minimum cell size")
    min_cell_size: int
    segment_variables: list[str] = Field(description="Pass-through variables one can split by")
    metrics: list[MetricInfo] = Field(
        default_factory=list,
        description="Every metric in `curves`; emotion metrics only for a study in emotion mode",
    )
    note: str | None = None


class EmotionPeakOut(BaseModel):
    """The second where an emotion's mean is highest."""

    metric: str
    second: int
    value: float
    derivation: str = Field(description="Link to how the emotion is derived")


class EmotionSummaryOut(BaseModel):
    """Emotion-mode figures of one ad (absent for a study not in emotion mode)."""

    engagement: float | None = Field(description="Pooled mean engagement, 0..1")
    valence: float | None = Field(description="Pooled mean valence, -1..1")
    valence_low_s: int | None
    valence_low: float | None
    valence_high_s: int | None
    valence_high: float | None
    peaks: list[EmotionPeakOut] = Field(description="Top emotion peaks, strongest first")
    derivation: str = Field(description="Link to how each emotion metric is derived")


class AdSummaryOut(BaseModel):
    """Headline figures of one ad; definitions in docs/results.md."""

    ad_id: int
    study_id: int
    title: str
    duration_s: float
    n: int
    attention_share: float | None
    expressiveness: float | None = Field(
        description="Mean of the measured expressions' pooled means, 0..1 (an expression no "
        "model here measures is left out)"
    )
    smile_peak_s: int | None
    smile_peak: float | None
    blink_rate_per_min: float | None
    # Outside emotion mode nothing emotion-shaped is sent, not even an empty key.
    emotions: EmotionSummaryOut | None = Field(
        None,
        description="Only for a study in emotion mode; the key is absent otherwise",
        exclude_if=lambda value: value is None,
    )


class KeyMomentOut(BaseModel):
    rank: int
    second: int
    metric: str
    value: float = Field(description="Mean of the expression at that second")
    lift: float = Field(description="Above the expression's median over attended seconds")
    attention: float


class KeyMoments(BaseModel):
    ad_id: int
    metrics: list[str] = Field(
        description="The metrics whose peaks were looked for (never one that is not measured)"
    )
    min_attention: float
    min_lift: float = Field(description="Least rise of a peak above its expression's median")
    min_separation_s: int
    moments: list[KeyMomentOut]


class Progress(BaseModel):
    """Clips by processing state."""

    uploading: int = 0
    queued: int = 0
    processing: int = 0
    done: int = 0
    failed: int = 0
    abandoned: int = 0

    @property
    def pending(self) -> int:
        return self.uploading + self.queued + self.processing


class QuartilesOut(BaseModel):
    n: int
    q1: float
    median: float
    q3: float


class Norms(BaseModel):
    """Quartiles of each summary figure over all the organisation's ads with data; empty while
    fewer than `min_ads` ads have results (setting CANDOR_MIN_NORM_ADS)."""

    organisation_id: int
    n_ads: int
    min_ads: int = 1
    figures: dict[str, QuartilesOut | None]


class StudySummaries(BaseModel):
    study_id: int
    name: str
    ads: list[AdSummaryOut]
    progress: dict[int, Progress] = Field(description="Per ad id")
    norms: Norms


class DeclineReason(BaseModel):
    reason: str
    count: int


class Quality(BaseModel):
    """Data quality of a study: who took part, who was usable, and why others were not."""

    study_id: int
    sessions: int
    sessions_by_status: dict[str, int] = Field(
        description="Sessions by status, adding up to `sessions`; 'restarted': superseded by "
        "a new start of the same panelist, 'erased_by_receipt': erased later with the receipt "
        "code (data erased in both), neither counted under 'withdrawn', which equals "
        "`withdrawn` (stop and delete)"
    )
    consent_decisions: int
    consented: int
    declined: int
    consent_rate: float | None = Field(description="consented / (consented + declined)")
    no_camera: int
    withdrawn: int  # "stop and delete" in the recorder
    erased_by_receipt: int = 0  # withdrawn later with the receipt code
    # Superseded: the same panelist started again (their earlier session's data erased). Not a
    # withdrawal, and not a consent decision of its own (the panelist's last one counts).
    restarted: int = 0
    # Unsigned starts under a respondent id an earlier session of the study already used: kept,
    # never erased; per ad only the first clip counted under an id is in the aggregates.
    duplicate_sessions: int = Field(
        default=0,
        description="Sessions whose respondent id an earlier session of the study already used "
        "(unsigned starts never replace one another)",
    )
    duplicate_clips_left_out: int = Field(
        default=0,
        description="Usable clips left out of the aggregates: another clip of the same ad under "
        "the same respondent id was counted first",
    )
    # On-device studies (issue 22): panelists whose browser could not read the face, asked
    # again with the server-mode text. Those who agreed were analysed on the server: their clips
    # are analysed and kept but never pooled into this study's curves (no measured calibration).
    on_device_fallback_agreed: int = Field(
        default=0,
        description="Sessions of an on-device study analysed on the server instead (their "
        "browser could not read the face; they agreed to the server-mode text); not pooled",
    )
    on_device_fallback_declined: int = Field(
        default=0, description="Sessions that declined the server-mode fallback text"
    )
    decline_reasons: list[DeclineReason]
    usable_sessions: int
    clips: Progress
    usable_clips: int
    face_found_share: float | None = Field(description="Mean over analysed clips")
    exclusions: dict[str, int] = Field(description="Unusable clips by reason")


class CompareCurve(BaseModel):
    mean: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]


class CompareAd(BaseModel):
    summary: AdSummaryOut
    curves: dict[str, CompareCurve]


class NormBand(BaseModel):
    q1: list[float | None]
    median: list[float | None]
    q3: list[float | None]
    n_ads: int


class Comparison(BaseModel):
    """Two or more ads on one axis: seconds if equally long, else percent of each ad."""

    axis: Literal["seconds", "percent"]
    x: list[float]
    metrics: list[MetricInfo] = Field(description="The metrics compared, in `curves` of each ad")
    ads: list[CompareAd]
    norms_band: dict[str, NormBand]
    norms: Norms
