"""Length-adjusted contrasts, the seed-and-prompt bootstrap and the LC win rate on hand-made data with known
answers."""

from __future__ import annotations

import numpy as np
import pytest

from empo_kedro.evaluation.length_control import (
    lc_win_rate,
    lc_win_rate_ci,
    length_adjusted_difference,
    seeded_bootstrap_ci,
    wins,
)


def test_length_adjusted_difference_recovers_the_effect_at_equal_length():
    rng = np.random.default_rng(0)
    reference_length = rng.integers(5, 15, 40).astype(float)
    tuned_length = reference_length + rng.integers(2, 8, 40)  # tuned replies are longer
    reference = 1.0 + 0.1 * reference_length
    tuned = 1.0 + 0.1 * tuned_length - 0.3  # -0.3 at equal length, more (longer replies) unadjusted
    result = length_adjusted_difference(reference, tuned, reference_length, tuned_length, n_resamples=200)
    assert result["diff"] == pytest.approx(-0.3)
    assert result["low"] == pytest.approx(-0.3) and result["high"] == pytest.approx(-0.3)
    assert result["length_coef"] == pytest.approx(0.1)
    assert result["raw_diff"] == pytest.approx(-0.3 + 0.1 * (tuned_length - reference_length).mean())


def test_a_pure_length_effect_adjusts_to_zero():
    reference_length = np.arange(10, 30, dtype=float)
    tuned_length = reference_length + 5
    result = length_adjusted_difference(
        0.2 * reference_length, 0.2 * tuned_length, reference_length, tuned_length, n_resamples=100
    )
    assert result["raw_diff"] == pytest.approx(1.0)
    assert result["diff"] == pytest.approx(0.0, abs=1e-9)


def test_seed_variance_widens_the_interval():
    reference = np.zeros(50)
    tuned = np.stack([np.full(50, -1.0), np.full(50, 1.0)])  # two seeds, opposite effects
    result = seeded_bootstrap_ci(reference, tuned, n_resamples=4000)
    assert result["diff"] == pytest.approx(0.0)
    # seeds drawn {-1,-1}, {-1,+1}, {+1,+1}: the 95% interval reaches both seeds' effects
    assert result["low"] == pytest.approx(-1.0) and result["high"] == pytest.approx(1.0)
    one_seed = seeded_bootstrap_ci(reference, tuned[0], n_resamples=500)
    assert one_seed["low"] == pytest.approx(-1.0) and one_seed["high"] == pytest.approx(-1.0)


def test_wins_count_ties_half():
    assert wins(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])).tolist() == [1.0, 0.5, 0.0]


def _grouped_outcomes(plus: tuple[int, int, int], minus: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(wins, ties, losses) among prompts where the tuned reply is longer by 4 words / shorter by 4 words."""
    outcome, length = [], []
    for (n_win, n_tie, n_loss), difference in ((plus, 4.0), (minus, -4.0)):
        outcome += [1.0] * n_win + [0.5] * n_tie + [0.0] * n_loss
        length += [difference] * (n_win + n_tie + n_loss)
    return np.array(outcome), np.array(length)


def test_lc_win_rate_removes_a_length_only_advantage():
    # 80% wins when longer, 20% when shorter, mostly longer: raw 65%, at equal length 50% exactly
    outcome, length = _grouped_outcomes((24, 0, 6), (2, 0, 8))
    assert outcome.mean() == pytest.approx(0.65)
    assert lc_win_rate(outcome, length) == pytest.approx(0.5, abs=1e-4)
    # ties are half a win: 4 ties in place of 2 wins and 2 losses change nothing
    tied, _ = _grouped_outcomes((22, 4, 4), (2, 0, 8))
    assert lc_win_rate(tied, length) == pytest.approx(0.5, abs=1e-4)


def test_lc_win_rate_known_intercept():
    # logit(0.9) = b0 + b1 c and logit(0.5) = b0 - b1 c  ->  b0 = logit(0.9) / 2  ->  LC = sigmoid(b0) = 0.75
    outcome, length = _grouped_outcomes((27, 0, 3), (5, 0, 5))
    assert lc_win_rate(outcome, length) == pytest.approx(0.75, abs=1e-4)


def test_lc_win_rate_ci_brackets_the_estimate():
    outcome, length = _grouped_outcomes((24, 0, 6), (2, 0, 8))
    reference = np.zeros_like(outcome)
    tuned = np.where(outcome == 1.0, -1.0, 1.0)  # lower wins
    result = lc_win_rate_ci(reference, tuned, np.full_like(length, 10.0), 10.0 + length, n_resamples=100)
    assert result["win_rate"] == pytest.approx(0.65)
    assert result["lc_win_rate"] == pytest.approx(0.5, abs=1e-4)
    assert result["low"] < 0.5 < result["high"]
