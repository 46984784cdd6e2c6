"""Reference log-probs cached on disk: equal to TRL's own reference forward, reused, invalidated by the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from empo_kedro.training.dpo import train_dpo
from empo_kedro.training.modeling import load_adapted_model, load_tokenizer
from empo_kedro.training.reference_cache import CACHE_COLUMNS
from tests.tiny_models import make_tiny_causal_lm
from tests.training.test_sft_dpo import MODEL_PARAMS, dpo_params, preference_pairs

LINEAGE = {"base_model": "tiny-fingerprint", "parent_adapters": ["sft-sha256-a"]}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_cache"))


def run(tiny_dir: Path, out: Path, cache_dir: Path | None, lineage=LINEAGE):
    params = {
        **dpo_params(max_steps=4, learning_rate=5e-2, per_device_train_batch_size=4),
        "lineage": lineage,
        "max_eval_pairs": 4,
        "reference_cache": {"enabled": cache_dir is not None, "folder": str(cache_dir)},
    }
    torch.manual_seed(0)  # the fresh LoRA adapter's initial weights, as the dpo node seeds them
    _, metrics, history = train_dpo(
        load_adapted_model(tiny_dir, MODEL_PARAMS),
        load_tokenizer(tiny_dir),
        preference_pairs(n_prompts=8, epochs=2),
        params,
        0,
        out,
    )
    return [e["loss"] for e in history if "loss" in e], metrics


def test_cached_reference_trains_as_the_live_reference_and_is_reused(tiny_dir, tmp_path):
    cache = tmp_path / "cache"
    live_losses, live = run(tiny_dir, tmp_path / "live", None)
    cold_losses, cold = run(tiny_dir, tmp_path / "cold", cache)
    warm_losses, warm = run(tiny_dir, tmp_path / "warm", cache)
    assert "reference_cache_hits" not in live
    assert abs(live_losses[-1] - np.log(2)) > 0.05
    np.testing.assert_allclose(cold_losses, live_losses, rtol=1e-4)
    np.testing.assert_allclose(warm_losses, live_losses, rtol=1e-4)
    np.testing.assert_allclose(warm["heldout_loss"], live["heldout_loss"], rtol=1e-4)
    # held-out pairs share texts with training pairs here, so even the cold run finds some
    assert cold["reference_cache_computed"] > cold["reference_cache_hits"]
    assert warm["reference_cache_computed"] == 0
    assert warm["reference_cache_hits"] == cold["reference_cache_computed"] + cold["reference_cache_hits"]
    assert len(list(cache.glob("*.parquet"))) == 1


def test_the_cache_is_read_and_a_changed_reference_does_not_read_it(tiny_dir, tmp_path):
    cache = tmp_path / "cache"
    losses, first = run(tiny_dir, tmp_path / "a", cache)
    (stored,) = cache.glob("*.parquet")
    table = pd.read_parquet(stored)
    assert tuple(table.columns) == CACHE_COLUMNS
    noise = np.random.default_rng(0).normal(0.0, 3.0, len(table))  # a wrong reference, as if stale
    table.assign(log_prob=table["log_prob"] + noise).to_parquet(stored)
    tampered, tampered_metrics = run(tiny_dir, tmp_path / "b", cache)
    assert tampered_metrics["reference_cache_computed"] == 0
    assert not np.allclose(tampered, losses, rtol=1e-3)  # the values on disk are what training used
    other_sft = {**LINEAGE, "parent_adapters": ["sft-sha256-b"]}
    fresh, fresh_metrics = run(tiny_dir, tmp_path / "c", cache, lineage=other_sft)
    assert fresh_metrics["reference_cache_computed"] == first["reference_cache_computed"]  # nothing reused
    np.testing.assert_allclose(fresh, losses, rtol=1e-4)
    assert len(list(cache.glob("*.parquet"))) == 2
