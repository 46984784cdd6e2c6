"""Paired bootstrap confidence intervals for per-prompt metric differences.

Why paired: two systems (e.g. SFT vs DPO) are scored on the SAME prompts, so
resampling prompts (rows) jointly keeps the per-prompt correlation and gives a
much tighter, honest interval for ``mean(b) - mean(a)`` than two independent
bootstraps would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def paired_bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk_size: int = 1_000,
) -> dict[str, Any]:
    """Percentile bootstrap CI of ``mean(b - a)``, resampling prompts with replacement.

    Args:
        a: per-prompt scores of the baseline system (1-D, finite).
        b: per-prompt scores of the compared system, same prompts and order.
        n_resamples: number of bootstrap resamples.
        confidence: two-sided confidence level in (0, 1).
        seed: seed of ``numpy.random.default_rng``; same seed -> same result.
        chunk_size: resamples drawn per step; bounds memory to
            ``chunk_size * n`` indices. The random stream is consumed in order,
            so the result does not depend on it (tested).

    Returns:
        dict with ``diff`` (observed ``mean(b - a)``), ``low``/``high`` (CI
        bounds), ``p_value`` (two-sided bootstrap p-value for "no difference":
        ``2 * min(P*(d <= 0), P*(d >= 0))`` capped at 1), ``std_err`` (std of
        the bootstrap means), ``n``, ``n_resamples``, ``confidence``, ``seed``.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b must be 1-D with equal length, got {a_arr.shape} and {b_arr.shape}")
    if a_arr.size == 0:
        raise ValueError("a and b are empty")
    if not (np.isfinite(a_arr).all() and np.isfinite(b_arr).all()):
        raise ValueError("a and b must be finite (drop or impute NaN/inf before bootstrapping)")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1 or chunk_size < 1:
        raise ValueError("n_resamples and chunk_size must be >= 1")

    d = b_arr - a_arr
    n = d.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, chunk_size):
        stop = min(start + chunk_size, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[idx].mean(axis=1)

    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    p_value = min(1.0, 2.0 * min(float(np.mean(means <= 0.0)), float(np.mean(means >= 0.0))))
    return {
        "diff": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "p_value": p_value,
        "std_err": float(means.std(ddof=1)) if n_resamples > 1 else 0.0,
        "n": int(n),
        "n_resamples": int(n_resamples),
        "confidence": float(confidence),
        "seed": int(seed),
    }
