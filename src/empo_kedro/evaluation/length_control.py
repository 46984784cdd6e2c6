"""Length control for the comparison of variants: longer replies can score closer to human empathy levels whatever
else changed, so a DPO gain is reported also (a) adjusted for reply length, (b) as a length-controlled win rate.

- **Length-adjusted contrast**: on the replies of two variants to the same prompts, the OLS fit
  ``metric ~ 1 + is_tuned + length_words`` (one row per reply, 2 x n rows); the coefficient of ``is_tuned`` is the
  difference at equal length. The CI resamples prompts (both replies of a prompt together) and, when a variant was
  trained with several seeds, the seeds: the per-prompt values of the resampled seeds are averaged first.
- **Length-controlled win rate** (after AlpacaEval 2's LC win rate, Dubois et al. 2024): per prompt the tuned reply
  wins when its metric is better (lower by default), ties count half. A logistic regression (scikit-learn, no
  penalty) of the win on ``tanh(length difference / sd)`` gives the win probability at zero length difference,
  ``sigmoid(intercept)``: the LC win rate. Ties enter as half a win and half a loss (sample weights).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression

#: The regression each adjusted contrast fits, as stated in reports.
LENGTH_ADJUSTED_FORM = (
    "OLS per reply: metric ~ 1 + is_tuned + length_words; the adjusted difference is is_tuned's coefficient"
)


def _as_seeds_by_prompts(values: ArrayLike, name: str) -> np.ndarray:
    """A (seeds, prompts) float array from one (prompts,) or several (seeds, prompts) rows of per-prompt values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must be (prompts,) or (seeds, prompts) with at least one prompt, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def _ols_is_tuned(
    reference: np.ndarray,
    tuned: np.ndarray,
    reference_length: np.ndarray,
    tuned_length: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """``is_tuned``'s coefficient of metric ~ 1 + is_tuned + length, for B weightings of the prompts at once.

    Every argument is (B, n) (or broadcasts to it): a prompt of weight w counts w times (both its rows). Weighted
    least squares through the 3 x 3 normal equations, solved with the pseudo-inverse, which gives lstsq's
    minimum-norm answer when the lengths are constant (a singular design).
    """
    sums = {}
    for name, metric, length in (("r", reference, reference_length), ("t", tuned, tuned_length)):
        sums[name] = [
            np.sum(weights * term, axis=-1)
            for term in (np.ones_like(length), length, length * length, metric, length * metric)
        ]
    (w_r, l_r, ll_r, m_r, lm_r), (w_t, l_t, ll_t, m_t, lm_t) = sums["r"], sums["t"]
    xtx = np.stack(
        [
            np.stack([w_r + w_t, w_t, l_r + l_t], -1),
            np.stack([w_t, w_t, l_t], -1),
            np.stack([l_r + l_t, l_t, ll_r + ll_t], -1),
        ],
        -2,
    )
    xty = np.stack([m_r + m_t, m_t, lm_r + lm_t], -1)
    return (np.linalg.pinv(xtx) @ xty[..., None])[..., 1, 0]


def _ci_from(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(draws, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _resample(
    n_prompts: int, n_seeds: tuple[int, ...], n_resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Prompt counts (B, n) and, per arm, seed counts (B, k): the weights of a two-level bootstrap."""
    prompts = rng.multinomial(n_prompts, np.full(n_prompts, 1.0 / n_prompts), size=n_resamples).astype(np.float64)
    seeds = [rng.multinomial(k, np.full(k, 1.0 / k), size=n_resamples).astype(np.float64) for k in n_seeds]
    return prompts, seeds


def length_adjusted_difference(
    reference: ArrayLike,
    tuned: ArrayLike,
    reference_length: ArrayLike,
    tuned_length: ArrayLike,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """The length-adjusted tuned - reference difference of a per-prompt metric, with a bootstrap CI.

    Each argument is (prompts,) or (seeds, prompts), the same prompts in the same order; a metric and its length
    have the same seeds. Returns ``diff`` (the fit on all data), ``low``, ``high``, ``raw_diff`` (unadjusted),
    ``length_coef`` (metric per word), ``n``.
    """
    arms = {
        "reference": (
            _as_seeds_by_prompts(reference, "reference"),
            _as_seeds_by_prompts(reference_length, "reference_length"),
        ),
        "tuned": (_as_seeds_by_prompts(tuned, "tuned"), _as_seeds_by_prompts(tuned_length, "tuned_length")),
    }
    n = arms["reference"][0].shape[1]
    for name, (metric, length) in arms.items():
        if metric.shape != length.shape or metric.shape[1] != n:
            raise ValueError(f"{name}: metric {metric.shape} and length {length.shape} must match over {n} prompts")
    means = {name: (metric.mean(axis=0), length.mean(axis=0)) for name, (metric, length) in arms.items()}
    observed = _ols_is_tuned(
        means["reference"][0], means["tuned"][0], means["reference"][1], means["tuned"][1], np.ones((1, n))
    )[0]
    design = np.column_stack(
        [np.ones(2 * n), np.r_[np.zeros(n), np.ones(n)], np.r_[means["reference"][1], means["tuned"][1]]]
    )
    coefs = np.linalg.lstsq(design, np.r_[means["reference"][0], means["tuned"][0]], rcond=None)[0]
    rng = np.random.default_rng(seed)
    prompt_weights, seed_weights = _resample(
        n, (arms["reference"][0].shape[0], arms["tuned"][0].shape[0]), n_resamples, rng
    )
    # per draw: the drawn seeds' mean per prompt (B, n), then the fit with the drawn prompts' counts as weights
    seeded = [
        (w @ metric / w.sum(axis=1, keepdims=True), w @ length / w.sum(axis=1, keepdims=True))
        for w, (metric, length) in zip(seed_weights, arms.values(), strict=False)
    ]
    # rounded: a draw identical to 0 up to float noise (e.g. 1e-15) must not decide whether the CI excludes 0
    draws = np.round(_ols_is_tuned(seeded[0][0], seeded[1][0], seeded[0][1], seeded[1][1], prompt_weights), 12)
    low, high = _ci_from(draws, confidence)
    return {
        "diff": float(np.round(observed, 12)),
        "low": low,
        "high": high,
        "raw_diff": float(means["tuned"][0].mean() - means["reference"][0].mean()),
        "length_coef": float(coefs[2]),
        "n": int(n),
    }


def seeded_bootstrap_ci(
    reference: ArrayLike, tuned: ArrayLike, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, Any]:
    """CI of mean(tuned) - mean(reference) resampling prompts and, independently per arm, training seeds.

    Each argument is (prompts,) or (seeds, prompts). With one seed per arm it is the paired prompt bootstrap; with
    several, a draw averages the resampled seeds, so the interval includes the variance between training runs.
    """
    ref = _as_seeds_by_prompts(reference, "reference")
    tun = _as_seeds_by_prompts(tuned, "tuned")
    if ref.shape[1] != tun.shape[1]:
        raise ValueError(f"reference and tuned cover {ref.shape[1]} and {tun.shape[1]} prompts")
    n = ref.shape[1]
    rng = np.random.default_rng(seed)
    prompt_weights, (ref_seeds, tun_seeds) = _resample(n, (ref.shape[0], tun.shape[0]), n_resamples, rng)
    # mean over the drawn seeds and prompts = (seed weights @ values @ prompt weights) / (k * n)
    ref_draws = np.einsum("bk,kn,bn->b", ref_seeds, ref, prompt_weights) / (ref.shape[0] * n)
    tun_draws = np.einsum("bk,kn,bn->b", tun_seeds, tun, prompt_weights) / (tun.shape[0] * n)
    low, high = _ci_from(tun_draws - ref_draws, confidence)
    return {
        "diff": float(tun.mean() - ref.mean()),
        "low": low,
        "high": high,
        "n": int(n),
        "n_seeds_reference": int(ref.shape[0]),
        "n_seeds_tuned": int(tun.shape[0]),
    }


def wins(tuned: np.ndarray, reference: np.ndarray, lower_is_better: bool = True) -> np.ndarray:
    """1 where the tuned reply is better, 0 where worse, 0.5 for a tie."""
    better = tuned < reference if lower_is_better else tuned > reference
    return np.where(tuned == reference, 0.5, better.astype(np.float64))


def lc_win_rate(outcome: np.ndarray, length_difference: np.ndarray) -> float:
    """The win probability at zero length difference from a logistic fit of win ~ 1 + tanh(length diff / sd).

    ``outcome`` holds 1 / 0 / 0.5 (tie) per prompt. A tie is a win and a loss of weight 1/2 each. When every
    outcome is the same (the model cannot be fitted), that common value is returned.
    """
    outcome = np.asarray(outcome, dtype=np.float64)
    length_difference = np.asarray(length_difference, dtype=np.float64)
    if outcome.size == 0 or outcome.shape != length_difference.shape:
        raise ValueError(f"outcome {outcome.shape} and length_difference {length_difference.shape} must match")
    if np.all(outcome == outcome[0]) and outcome[0] != 0.5:
        return float(outcome[0])
    scale = length_difference.std()
    covariate = np.tanh(length_difference / scale) if scale > 0 else np.zeros_like(length_difference)
    x = np.r_[covariate, covariate][:, None]
    y = np.r_[np.ones_like(outcome), np.zeros_like(outcome)]
    weight = np.r_[outcome, 1.0 - outcome]
    keep = weight > 0
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000, tol=1e-10)
    model.fit(x[keep], y[keep], sample_weight=weight[keep])
    return float(1.0 / (1.0 + np.exp(-model.intercept_[0])))


def lc_win_rate_ci(
    reference: ArrayLike,
    tuned: ArrayLike,
    reference_length: ArrayLike,
    tuned_length: ArrayLike,
    lower_is_better: bool = True,
    n_resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """The LC win rate of tuned over reference, the raw win rate, and a bootstrap CI of the LC win rate.

    Arguments are (prompts,) or (seeds, prompts); every tuned seed is compared with every reference seed on each
    prompt. The CI resamples prompts and seeds (each draw refits the logistic model, hence fewer resamples).
    """
    ref = _as_seeds_by_prompts(reference, "reference")
    tun = _as_seeds_by_prompts(tuned, "tuned")
    ref_len = _as_seeds_by_prompts(reference_length, "reference_length")
    tun_len = _as_seeds_by_prompts(tuned_length, "tuned_length")

    def pooled(ref_idx: np.ndarray, tun_idx: np.ndarray, prompt_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, t = ref[np.ix_(ref_idx, prompt_idx)], tun[np.ix_(tun_idx, prompt_idx)]
        rl, tl = ref_len[np.ix_(ref_idx, prompt_idx)], tun_len[np.ix_(tun_idx, prompt_idx)]
        outcome = wins(t[None, :, :], r[:, None, :], lower_is_better)  # (ref seeds, tuned seeds, prompts)
        return outcome.ravel(), (tl[None, :, :] - rl[:, None, :]).ravel()

    every = (np.arange(ref.shape[0]), np.arange(tun.shape[0]), np.arange(ref.shape[1]))
    outcome, length_difference = pooled(*every)
    rng = np.random.default_rng(seed)
    draw: Callable[[int], np.ndarray] = lambda k: rng.integers(0, k, k)  # noqa: E731
    draws = np.array(
        [lc_win_rate(*pooled(draw(ref.shape[0]), draw(tun.shape[0]), draw(ref.shape[1]))) for _ in range(n_resamples)]
    )
    low, high = _ci_from(draws, confidence)
    return {
        "lc_win_rate": lc_win_rate(outcome, length_difference),
        "low": low,
        "high": high,
        "win_rate": float(outcome.mean()),
        "mean_length_difference": float(length_difference.mean()),
        "n": int(ref.shape[1]),
    }
