"""Tests for the paired bootstrap CI."""

from __future__ import annotations

import numpy as np
import pytest

from empo_kedro.evaluation.bootstrap import paired_bootstrap_ci


def test_identical_arrays_give_zero_interval():
    a = np.random.default_rng(1).normal(size=50)
    out = paired_bootstrap_ci(a, a.copy(), n_resamples=500, seed=0)
    assert out["diff"] == 0.0
    assert out["low"] == 0.0 and out["high"] == 0.0
    assert out["p_value"] == 1.0


def test_shifted_array_excludes_zero():
    rng = np.random.default_rng(2)
    a = rng.normal(size=200)
    b = a + 0.5 + rng.normal(scale=0.1, size=200)
    out = paired_bootstrap_ci(a, b, n_resamples=2000, confidence=0.95, seed=3)
    assert out["low"] > 0.0
    assert out["low"] <= out["diff"] <= out["high"]
    assert out["diff"] == pytest.approx(float(np.mean(b - a)))
    assert out["p_value"] < 0.01


def test_deterministic_per_seed():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=30), rng.normal(size=30)
    first = paired_bootstrap_ci(a, b, n_resamples=300, seed=7)
    again = paired_bootstrap_ci(a, b, n_resamples=300, seed=7)
    other = paired_bootstrap_ci(a, b, n_resamples=300, seed=8)
    assert first == again
    assert (first["low"], first["high"]) != (other["low"], other["high"])


def test_invalid_inputs():
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0], [1.0], confidence=1.0)


def test_chunk_size_does_not_change_result():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=37), rng.normal(size=37)
    big = paired_bootstrap_ci(a, b, n_resamples=900, seed=1, chunk_size=900)
    small = paired_bootstrap_ci(a, b, n_resamples=900, seed=1, chunk_size=7)
    assert big == small
