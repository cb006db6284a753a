"""Results maths against small cases worked by hand (and scipy/numpy where they are the truth)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from web.results import maths
from web.results.moments import KeyMoment, key_moments


def cells_of(values: list[float]) -> tuple[int, float, float]:
    return len(values), sum(values), sum(v * v for v in values)


class TestCellStats:
    def test_three_values_by_hand(self) -> None:
        # 0.2, 0.4, 0.6: mean 0.4; var = (0.56 - 1.2²/3) / 2 = 0.04; sd 0.2;
        # half-width = t(0.975, 2) * 0.2 / sqrt(3) = 4.3027 * 0.115470 = 0.496833.
        result = maths.cell_stats(3, 1.2, 0.56)
        assert result.n == 3
        assert result.mean == pytest.approx(0.4)
        assert result.sd == pytest.approx(0.2)
        assert result.ci_low == pytest.approx(0.4 - 0.496833, abs=1e-5)
        assert result.ci_high == pytest.approx(0.4 + 0.496833, abs=1e-5)

    def test_bounds_clip_the_band(self) -> None:
        result = maths.cell_stats(3, 1.2, 0.56, maths.METRIC_BOUNDS["smile"])
        assert result.ci_low == 0.0
        assert result.ci_high == pytest.approx(0.896833, abs=1e-5)

    def test_matches_scipy_t_interval(self) -> None:
        values = [0.1, 0.5, 0.35, 0.8, 0.62, 0.44, 0.05, 0.9, 0.33, 0.71, 0.27, 0.58]
        low, high = stats.t.interval(
            0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values)
        )
        result = maths.cell_stats(*cells_of(values))
        assert result.ci_low == pytest.approx(low, abs=1e-4)
        assert result.ci_high == pytest.approx(high, abs=1e-4)

    def test_one_panelist_has_a_mean_but_no_interval(self) -> None:
        assert maths.cell_stats(1, 0.7, 0.49) == maths.CellStats(1, 0.7, None, None, None)

    def test_nobody(self) -> None:
        assert maths.cell_stats(0, 0.0, 0.0) == maths.CellStats(0, None, None, None, None)

    def test_identical_values_have_a_zero_width_band(self) -> None:
        # Floating sums can put sumsq a hair below sum²/n; the variance must not go negative.
        n, total, total_sq = cells_of([0.1] * 7)
        result = maths.cell_stats(n, total, total_sq - 1e-15)
        assert result.sd == 0.0
        assert result.ci_low == pytest.approx(0.1)
        assert result.ci_high == pytest.approx(0.1)

    def test_counts_never_go_below_zero(self) -> None:
        result = maths.cell_stats(*cells_of([0.0, 0.0, 2.0]), maths.METRIC_BOUNDS["blinks"])
        assert result.ci_low == 0.0
        assert result.ci_high == pytest.approx(2 / 3 + 4.3027 * math.sqrt(4 / 3) / math.sqrt(3))

    def test_negative_n_is_refused(self) -> None:
        with pytest.raises(ValueError, match="n must be"):
            maths.cell_stats(-1, 0.0, 0.0)


class TestTCritical:
    @pytest.mark.parametrize("df", [*range(1, 40), 45, 60, 100, 120, 500, 1000, 10_000])
    def test_matches_scipy(self, df: int) -> None:
        # The table is rounded to 4 decimals; the expansion beyond df 30 is far better than that.
        assert maths.t_critical_95(df) == pytest.approx(stats.t.ppf(0.975, df), abs=6e-5)

    def test_tends_to_the_normal_quantile(self) -> None:
        assert maths.t_critical_95(10**7) == pytest.approx(1.959964, abs=1e-6)

    def test_zero_degrees_refused(self) -> None:
        with pytest.raises(ValueError, match="degrees of freedom"):
            maths.t_critical_95(0)


class TestSummary:
    def test_by_hand(self) -> None:
        # Three seconds. Attention n = 2, 2, 1 and sums 2.0, 1.0, 0.5: share = 3.5 / 5 = 0.7.
        # Smile means 0.1, 0.5, 0.3 (peak 0.5 at second 1); pooled smile = (0.2+1.0+0.3)/5 = 0.3.
        # Brow raise pooled = 0.5 / 5 = 0.1; the other expressions have no data.
        # Expressiveness = mean(0.3, 0.1) = 0.2. Blinks: 3 over 5 panelist-seconds = 0.6/s = 36/min.
        cells = {
            "attention": {0: (2, 2.0, 2.0), 1: (2, 1.0, 0.5), 2: (1, 0.5, 0.25)},
            "smile": {0: (2, 0.2, 0.02), 1: (2, 1.0, 0.5), 2: (1, 0.3, 0.09)},
            "brow_raise": {0: (2, 0.2, 0.02), 1: (2, 0.2, 0.02), 2: (1, 0.1, 0.01)},
            "blinks": {0: (2, 1.0, 1.0), 1: (2, 2.0, 2.0), 2: (1, 0.0, 0.0)},
        }
        summary = maths.summarise(cells)
        assert summary.n == 2
        assert summary.attention_share == pytest.approx(0.7)
        assert summary.expressiveness == pytest.approx(0.2)
        assert summary.smile_peak_s == 1
        assert summary.smile_peak == pytest.approx(0.5)
        assert summary.blink_rate_per_min == pytest.approx(36.0)

    def test_empty_ad(self) -> None:
        assert maths.summarise({}) == maths.Summary(0, None, None, None, None, None)

    def test_emotion_figures_by_hand_and_only_when_asked(self) -> None:
        cells = {
            "attention": {0: (2, 2.0, 2.0), 1: (2, 2.0, 2.0), 2: (2, 2.0, 2.0)},
            # valence means -0.3, 0.5, 0.5: lowest at 0, highest at 1 (earliest of the tie)
            "valence": {0: (2, -0.6, 0.2), 1: (2, 1.0, 0.5), 2: (2, 1.0, 0.5)},
            "engagement": {0: (2, 0.4, 0.1), 1: (1, 0.5, 0.25), 2: (2, 0.6, 0.2)},
            "joy": {0: (2, 0.2, 0.02), 1: (2, 1.4, 1.0)},
            "surprise": {2: (2, 0.8, 0.32)},
            "fear": {0: (2, 0.1, 0.005)},
            "anger": {},
        }
        assert maths.summarise(cells).emotions is None
        e = maths.summarise(cells, emotions=True).emotions
        assert e is not None
        # Pooled: (0.4 + 0.5 + 0.6) / 5 panelist-seconds.
        assert e.engagement == pytest.approx(0.3)
        assert e.valence == pytest.approx(1.4 / 6)
        assert (e.valence_low_s, e.valence_high_s) == (0, 1)
        assert (e.valence_low, e.valence_high) == (pytest.approx(-0.3), pytest.approx(0.5))
        # Each emotion's highest mean; the three highest, strongest first; no data, no peak.
        assert [(m, s) for m, s, _ in e.peaks] == [("joy", 1), ("surprise", 2), ("fear", 0)]
        assert e.peaks[0][2] == pytest.approx(0.7)

    def test_an_emotion_that_never_rose_is_no_peak(self) -> None:
        # Anger is 0 throughout and sadness peaks at 0.04, under PEAK_MIN (0.05): neither is
        # listed ("Anger 0.00 at 6 s" read as a reaction); disgust at 0.05 is.
        cells = {
            "anger": {0: (3, 0.0, 0.0), 6: (3, 0.0, 0.0)},
            "sadness": {2: (2, 0.08, 0.0032)},
            "disgust": {4: (2, 0.1, 0.005)},
        }
        e = maths.summarise(cells, emotions=True).emotions
        assert e is not None and [m for m, _, _ in e.peaks] == ["disgust"]
        flat = maths.summarise({"anger": {0: (3, 0.0, 0.0)}}, emotions=True).emotions
        assert flat is not None and flat.peaks == ()

    def test_emotion_bounds_come_from_the_metric_list(self) -> None:
        assert maths.METRIC_BOUNDS["valence"] == (-1.0, 1.0)
        assert maths.METRIC_BOUNDS["joy"] == (0.0, 1.0)
        assert maths.METRIC_BOUNDS["lip_press"] == (0.0, 1.0)
        assert maths.METRIC_BOUNDS["blinks"] == (0.0, None)

    def test_smile_peak_tie_goes_to_the_earliest_second(self) -> None:
        cells = {"smile": {4: (1, 0.5, 0.25), 2: (1, 0.5, 0.25), 3: (1, 0.1, 0.01)}}
        assert maths.summarise(cells).smile_peak_s == 2


class TestNorms:
    def test_quartiles_by_hand(self) -> None:
        # Type-7 quantiles of 1, 2, 3, 4: positions 0.75, 1.5, 2.25 → 1.75, 2.5, 3.25.
        assert maths.quartiles([4.0, None, 1.0, 3.0, 2.0]) == maths.Quartiles(4, 1.75, 2.5, 3.25)

    def test_quartiles_match_numpy(self) -> None:
        values = [0.3, 0.9, 0.1, 0.55, 0.7, 0.2, 0.85]
        q = maths.quartiles(values)
        assert q is not None
        assert [q.q1, q.median, q.q3] == pytest.approx(np.percentile(values, [25, 50, 75]))

    def test_one_value_and_none(self) -> None:
        assert maths.quartiles([0.4]) == maths.Quartiles(1, 0.4, 0.4, 0.4)
        assert maths.quartiles([None]) is None

    def test_summary_norms_per_figure(self) -> None:
        summaries = [
            maths.Summary(10, 0.5, 0.1, 3, 0.2, 12.0),
            maths.Summary(20, 0.7, 0.3, 5, 0.4, 18.0),
            maths.Summary(30, 0.9, None, None, None, 24.0),
        ]
        norms = maths.summary_norms(summaries)
        assert norms["attention_share"] == maths.Quartiles(3, 0.6, 0.7, 0.8)
        assert norms["n"] == maths.Quartiles(3, 15.0, 20.0, 25.0)
        # An ad without smiles does not count as a zero.
        assert norms["expressiveness"] == maths.Quartiles(2, 0.15, 0.2, 0.25)

    def test_emotion_norms_only_over_emotion_mode_ads(self) -> None:
        def with_emotions(engagement: float) -> maths.EmotionSummary:
            return maths.EmotionSummary(engagement, 0.1, None, None, None, None, ())

        summaries = [
            maths.Summary(10, 0.5, 0.1, 3, 0.2, 12.0, with_emotions(0.2)),
            maths.Summary(20, 0.7, 0.3, 5, 0.4, 18.0, with_emotions(0.4)),
            maths.Summary(30, 0.9, None, None, None, 24.0),
        ]
        assert "engagement" not in maths.summary_norms(summaries)
        norms = maths.summary_norms(summaries, emotions=True)
        engagement = norms["engagement"]
        assert engagement is not None and engagement.n == 2
        assert [engagement.q1, engagement.median, engagement.q3] == pytest.approx([0.25, 0.3, 0.35])
        assert norms["valence"] == maths.Quartiles(2, 0.1, 0.1, 0.1)

    def test_band_pointwise(self) -> None:
        band = maths.band([[0.0, 1.0], [1.0, None], [2.0, 3.0]])
        assert band == [maths.Quartiles(3, 0.5, 1.0, 1.5), maths.Quartiles(2, 1.5, 2.0, 2.5)]
        with pytest.raises(ValueError, match="same positions"):
            maths.band([[0.0], [1.0, 2.0]])


class TestTimeNormalisation:
    def test_resample_by_hand(self) -> None:
        # Two seconds, centres at 25% and 75%: halfway is the mean, the ends hold the edge values.
        values: list[float | None] = [0.0, 10.0]
        assert maths.resample(values, [0.0, 0.25, 0.5, 0.75, 1.0]) == pytest.approx(
            [0.0, 0.0, 5.0, 10.0, 10.0]
        )

    def test_missing_neighbour_takes_the_nearer(self) -> None:
        assert maths.resample([1.0, None, 3.0], [0.3, 0.45]) == [1.0, None]

    def test_ads_of_different_lengths_line_up_by_progress(self) -> None:
        # The same ramp f(progress) = progress over 10 s and over 20 s: second s holds the mean
        # of f over it, (s + 0.5) / length, and both read back the progress itself.
        short: list[float | None] = [(s + 0.5) / 10 for s in range(10)]
        long: list[float | None] = [(s + 0.5) / 20 for s in range(20)]
        positions = maths.normalised_positions(50)
        a = maths.resample(short, positions)
        b = maths.resample(long, positions)
        # Interior points agree exactly; the flat ends differ by at most half a second's step.
        assert a[3:47] == pytest.approx(positions[3:47], abs=1e-9)
        assert a[3:47] == pytest.approx(b[3:47], abs=1e-9)
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 0.05 + 1e-9  # type: ignore[operator]

    def test_positions(self) -> None:
        assert maths.normalised_positions(4) == [0.125, 0.375, 0.625, 0.875]
        assert maths.second_positions(2) == [0.25, 0.75]
        with pytest.raises(ValueError, match="within"):
            maths.resample([1.0], [1.5])

    def test_curve_length_covers_the_ad_and_any_overrun(self) -> None:
        assert maths.curve_length({}, 29.2) == 30
        assert maths.curve_length({"smile": {31: (1, 0.1, 0.01)}}, 29.2) == 32


class TestKeyMoments:
    def test_by_hand(self) -> None:
        attention: list[float | None] = [0.9] * 12
        attention[8] = 0.3  # most panelists looked away at 8 s
        smile: list[float | None] = [0.1, 0.1, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.2]
        brow: list[float | None] = [0.2, 0.2, 0.2, 0.2, 0.45, 0.2, 0.2, 0.2, 0.2, 0.2, 0.6, 0.2]
        moments = key_moments(attention, {"smile": smile, "brow_raise": brow})
        # The 0.9 smile at 8 s is ignored (attention 0.3). Lifts over each median (0.1, 0.2):
        # brow 10 s +0.4, smile 3 s +0.4, brow 4 s +0.25 (within 3 s of 3 s: dropped),
        # smile 11 s +0.1 (within 3 s of 10 s: dropped).
        assert moments == [
            KeyMoment(3, "smile", 0.5, pytest.approx(0.4), 0.9),  # type: ignore[arg-type]
            KeyMoment(10, "brow_raise", 0.6, pytest.approx(0.4), 0.9),  # type: ignore[arg-type]
        ]

    def test_separation_and_limit(self) -> None:
        attention: list[float | None] = [1.0] * 20
        smile: list[float | None] = [0.0 if s % 2 else 0.1 + s / 100 for s in range(20)]
        assert [m.second for m in key_moments(attention, {"smile": smile}, limit=3)] == [18, 14, 10]
        closer = key_moments(attention, {"smile": smile}, min_separation_s=2, limit=3)
        assert [m.second for m in closer] == [18, 16, 14]

    def test_noise_sized_bumps_are_not_moments_but_a_real_peak_is(self) -> None:
        attention: list[float | None] = [0.9] * 12
        # Resting near 0 with bumps of 0.02 (a still face's wobble, as QA saw it) and 0.09
        # (just under a tenth of a full expression): neither is a reaction.
        furrow: list[float | None] = [0.0, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.09, 0.0, 0.0, 0.0]
        assert key_moments(attention, {"brow_furrow": furrow}) == []
        # A smile rising 0.35 over its resting 0.1 is; the furrow bumps still are not.
        smile: list[float | None] = [0.1] * 12
        smile[5] = 0.45
        found = key_moments(attention, {"brow_furrow": furrow, "smile": smile})
        assert [(m.second, m.metric) for m in found] == [(5, "smile")]
        assert found[0].lift == pytest.approx(0.35)
        # The bar is a named setting the caller may lower: then the 0.09 bump counts.
        lowered = key_moments(attention, {"brow_furrow": furrow}, min_lift=0.05)
        assert [(m.second, m.lift) for m in lowered] == [(8, pytest.approx(0.09))]

    def test_flat_curves_have_no_moments(self) -> None:
        assert key_moments([1.0] * 5, {"smile": [0.3] * 5}) == []

    def test_no_attention_no_moments(self) -> None:
        assert key_moments([0.1, 0.2, 0.1], {"smile": [0.0, 0.9, 0.0]}) == []
        assert key_moments([None, None], {"smile": [0.0, 0.9]}) == []

    def test_lengths_must_match(self) -> None:
        with pytest.raises(ValueError, match="seconds"):
            key_moments([1.0, 1.0], {"smile": [0.2]})


def test_t_table_is_what_it_claims() -> None:
    # The same numbers the module's comment cites, so a typo in the table cannot hide.
    for df in range(1, 31):
        assert maths.t_critical_95(df) == round(float(stats.t.ppf(0.975, df)), 4)
    assert math.isclose(maths.t_critical_95(31), stats.t.ppf(0.975, 31), abs_tol=1e-7)
