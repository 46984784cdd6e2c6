"""Paired comparisons pair the same item across variants: MMLU questions by id, KL texts by index, replies by
conv_id; a missing or extra item stops the comparison instead of shifting or zero-filling the pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.comparison import PER_PROMPT_METRICS, bootstrap_differences
from empo_kedro.evaluation.variant_evaluation import retention_items


def mmlu_result(correct_by_doc: dict[int, float]) -> dict:
    """lm-eval's per-question rows, in the order given (lm-eval's sample order may differ between runs)."""
    return {
        "per_question": [
            {"task": "mmlu_local", "doc_id": doc, "correct": value} for doc, value in correct_by_doc.items()
        ]
    }


def scores_for(conv_ids_by_variant: dict[str, list[str]]) -> pd.DataFrame:
    frames = []
    for variant, conv_ids in conv_ids_by_variant.items():
        frame = pd.DataFrame({metric: np.arange(len(conv_ids), dtype=float) for metric in PER_PROMPT_METRICS})
        frame["conv_id"], frame["variant"], frame["response"] = conv_ids, variant, "a reply"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


KL = {"base": {"kl_per_text": np.zeros(3)}, "sft": {"kl_per_text": np.array([0.1, 0.2, 0.3])}}
SCORES = scores_for({"base": ["c0", "c1", "c2"], "sft": ["c0", "c1", "c2"]})


def test_mmlu_questions_are_paired_by_id_not_by_sample_order():
    rng = np.random.default_rng(0)
    correct = {doc: float(rng.integers(2)) for doc in range(40)}
    shuffled = {doc: correct[doc] for doc in rng.permutation(40).tolist()}  # the same answers in another order
    items = retention_items(KL, {"base": mmlu_result(correct), "sft": mmlu_result(shuffled)})
    cis = bootstrap_differences(SCORES, items, [1], n_resamples=200, confidence=0.95, seed=0)
    mmlu = cis.loc[cis.metric == "mmlu_correct"].iloc[0]
    assert (mmlu["diff"], mmlu["low"], mmlu["high"]) == (0.0, 0.0, 0.0)  # the same answers: no difference at all


def test_a_question_missing_for_one_variant_stops_the_comparison():
    items = retention_items(
        KL, {"base": mmlu_result({0: 1.0, 1: 0.0, 2: 1.0}), "sft": mmlu_result({0: 1.0, 1: 0.0, 3: 1.0})}
    )
    with pytest.raises(UserFacingError, match=r"mmlu_correct.*mmlu_local/2.*mmlu_local/3"):
        bootstrap_differences(SCORES, items, [1], n_resamples=50, confidence=0.95, seed=0)


def test_a_missing_kl_value_is_never_turned_into_zero():
    kl = {**KL, "sft": {"kl_per_text": np.array([0.1, np.nan, 0.3])}}
    with pytest.raises(UserFacingError, match=r"kl_to_base.*sft.*1"):
        retention_items(kl)


def test_replies_are_paired_only_when_both_variants_answered_the_same_prompts():
    scores = scores_for({"base": ["c0", "c1", "c2"], "sft": ["c0", "c1", "c9"]})
    with pytest.raises(UserFacingError, match=r"c2.*c9"):
        bootstrap_differences(scores, retention_items(KL), [1], n_resamples=50, confidence=0.95, seed=0)
