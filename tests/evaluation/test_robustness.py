"""Length and seed checks on a scores frame: seed copies grouped with their variant, pooled and adjusted CIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from empo_kedro.evaluation.robustness import groups_of, robustness_cis, seed_summary, seed_variant

PARAMS = {"n_resamples": 200, "lc_n_resamples": 50, "confidence": 0.95, "lc_metric": "diff_mean"}


def test_seed_copies_join_their_variant_only():
    variants = ["base", "sft", "dpo", "dpo_s1", "dpo_s2", "dpo_random", "dpo_random_s1", "sft_len"]
    assert seed_variant("dpo", 0) == "dpo" and seed_variant("dpo", 2) == "dpo_s2"
    assert groups_of(variants, ["dpo", "dpo_random"]) == {
        "base": ["base"],
        "sft": ["sft"],
        "dpo": ["dpo", "dpo_s1", "dpo_s2"],
        "dpo_random": ["dpo_random", "dpo_random_s1"],
        "sft_len": ["sft_len"],
    }


def fake_scores(n: int = 30) -> pd.DataFrame:
    """SFT; DPO two seeds, 4 words longer, better by 1.0 at equal length (exact in floats); emotion_p_opposite
    undefined on 5 prompts."""
    rng = np.random.default_rng(0)
    length = rng.integers(5, 20, n).astype(float)
    rows = []
    for variant, extra, effect in (("sft", 0.0, 0.0), ("dpo", 4.0, -1.0), ("dpo_s1", 4.0, -1.0)):
        words = length + extra
        opposite = np.where(np.arange(n) < 5, np.nan, 0.1 + effect / 10)
        rows += [
            {
                "variant": variant,
                "conv_id": f"c{i:02d}",
                "length_words": words[i],
                "diff_mean": 1.0 + 0.25 * words[i] + effect,
                "emotion_p_opposite": opposite[i],
            }
            for i in range(n)
        ]
    return pd.DataFrame(rows)


def test_pooled_adjusted_and_lc_rows():
    scores = fake_scores()
    groups = groups_of(scores["variant"].unique().tolist(), ["dpo"])
    table = robustness_cis(
        scores, groups, [("dpo", "sft")], ["diff_mean", "length_words", "emotion_p_opposite"], PARAMS, seed=0
    )
    rows = {(r.kind, r.metric): r for r in table.itertuples(index=False)}
    assert rows[("seeds", "diff_mean")].diff == pytest.approx(0.0)  # unadjusted: the extra length eats the gain
    assert rows[("length_adjusted", "diff_mean")].diff == pytest.approx(-1.0)
    assert rows[("length_adjusted", "diff_mean")].excludes_null
    assert ("length_adjusted", "length_words") not in rows
    opposite = rows[("seeds", "emotion_p_opposite")]
    assert opposite.n == 25 and opposite.n_left_out == 5 and opposite.diff == pytest.approx(-0.1)
    lc = rows[("lc_win_rate", "diff_mean")]
    assert lc.win_rate == pytest.approx(0.5)  # every prompt ties: 0.25 * 4 - 1.0 = 0
    assert not lc.excludes_null


def test_seed_summary_mean_and_sd():
    table = pd.DataFrame({"diff_mean": [1.0, 2.0, 4.0]}, index=["dpo", "dpo_s1", "sft"])
    summary = seed_summary(table, {"dpo": ["dpo", "dpo_s1"]}, ["diff_mean"]).iloc[0]
    assert summary["n_seeds"] == 2 and summary["diff_mean_mean"] == 1.5
    assert summary["diff_mean_sd"] == pytest.approx(np.std([1.0, 2.0], ddof=1))
