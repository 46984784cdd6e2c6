"""Variants from one base copy, batched generation, the comparison table, CIs and per-variant MLflow runs."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch

from empo_kedro.evaluation.comparison import PER_PROMPT_METRICS, bootstrap_differences, comparison_table
from empo_kedro.evaluation.generation import generate_replies, select_eval_prompts
from empo_kedro.evaluation.variants import VariantModel
from empo_kedro.tracking.variant_runs import log_variant_runs
from empo_kedro.training.modeling import load_adapted_model, load_causal_lm, load_tokenizer
from tests.tiny_models import make_tiny_adapter_stack

MODEL_PARAMS = {"dtype": "float32", "device": "cpu"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> dict[str, Path]:
    """A tiny base model, an SFT adapter on it, and a DPO adapter trained on top of the SFT-merged weights."""
    return make_tiny_adapter_stack(tmp_path_factory.mktemp("stack"))


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_variants_switch_adapters_on_one_base_copy(stack):
    ids = torch.tensor([[1, 5, 9, 14, 2]])
    expected = {
        "base": logits_of(load_causal_lm(stack["base"], MODEL_PARAMS), ids),
        "sft": logits_of(load_adapted_model(stack["base"], MODEL_PARAMS, adapter_path=stack["sft"]), ids),
        "dpo": logits_of(
            load_adapted_model(stack["base"], MODEL_PARAMS, merged_parents=[stack["sft"]], adapter_path=stack["dpo"]),
            ids,
        ),
    }
    models = VariantModel(stack["base"], stack["sft"], stack["dpo"], MODEL_PARAMS)
    for variant in ("dpo", "base", "sft", "dpo"):
        with models.use(variant) as model:
            torch.testing.assert_close(logits_of(model, ids), expected[variant], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(expected["sft"], expected["dpo"], atol=1e-3)
    with pytest.raises(ValueError, match="Unknown model variant 'rlhf'"):
        with models.use("rlhf"):
            pass


def test_further_adapters_stack_on_sft_like_dpo(stack):
    ids = torch.tensor([[1, 5, 9, 14, 2]])
    models = VariantModel(stack["base"], stack["sft"], None, MODEL_PARAMS, extra_adapters={"trial": stack["dpo"]})
    assert models.variants == ["base", "sft", "trial"]
    expected = logits_of(
        load_adapted_model(stack["base"], MODEL_PARAMS, merged_parents=[stack["sft"]], adapter_path=stack["dpo"]), ids
    )
    with models.use("trial") as model:
        torch.testing.assert_close(logits_of(model, ids), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="Adapter name 'dpo' is taken"):
        VariantModel(stack["base"], stack["sft"], stack["dpo"], MODEL_PARAMS, extra_adapters={"dpo": stack["dpo"]})


def test_batched_left_padded_generation_equals_one_prompt_at_a_time(stack):
    model = load_causal_lm(stack["base"], MODEL_PARAMS).eval()
    tokenizer = load_tokenizer(stack["sft"])
    prompts = [[{"role": "user", "content": text}] for text in ("hi", "I feel so sad about my exam today", "ok then")]
    generation = {"max_new_tokens": 6, "do_sample": False}
    batched = generate_replies(model, tokenizer, prompts, generation, batch_size=3, seed=0)
    single = [generate_replies(model, tokenizer, [p], generation, batch_size=1, seed=0)[0] for p in prompts]
    assert batched == single


def test_eval_prompts_end_before_the_last_listener_turn():
    turns = [
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "u3"},
    ]
    dialogues = pd.DataFrame(
        [{"conv_id": f"c{i}", "split": "test", "emotion": "sad", "turns": turns} for i in range(5)]
    )
    prompts = select_eval_prompts(dialogues, "test", n_prompts=3, system_prompt="sys", seed=0)
    assert len(prompts) == 3
    row = prompts.iloc[0]
    assert [m["content"] for m in row["prompt"]] == ["sys", "u1", "a1", "u2"]
    assert row["reference"] == "a2" and row["context"] == "u2"


def fake_scores(n=40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for shift, variant in enumerate(("base", "sft", "dpo")):
        frame = pd.DataFrame({metric: rng.normal(size=n) + shift for metric in PER_PROMPT_METRICS})
        frame["conv_id"] = [f"c{i}" for i in range(n)]
        frame["variant"] = variant
        frame["response"] = [f"reply {i % (5 + 10 * shift)} of {variant}" for i in range(n)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_table_has_one_row_per_variant_and_cis_for_every_metric_and_contrast():
    scores = fake_scores()
    retention = {v: {"mmlu_accuracy": 0.25, "kl_to_base": float(i)} for i, v in enumerate(("base", "sft", "dpo"))}
    table = comparison_table(scores, retention, [1, 2])
    assert list(table.index) == ["base", "sft", "dpo"]
    assert {*PER_PROMPT_METRICS, "distinct_1", "distinct_2", "mmlu_accuracy", "kl_to_base"} <= set(table.columns)
    texts = [str(i) for i in range(10)]
    items = {
        "kl_to_base": {
            "base": dict.fromkeys(texts, 0.0),
            "sft": dict.fromkeys(texts, 1.0),
            "dpo": dict.fromkeys(texts, 1.0),
        }
    }
    cis = bootstrap_differences(scores, items, [1, 2], n_resamples=200, confidence=0.95, seed=0)
    assert set(cis["contrast"]) == {"sft-base", "dpo-sft"}
    assert len(cis) == 2 * (len(PER_PROMPT_METRICS) + 2 + 1)
    shifted = cis[(cis.metric == "diff_mean") & (cis.contrast == "sft-base")].iloc[0]
    assert shifted["excludes_zero"] and shifted["low"] > 0
    same_kl = cis[(cis.metric == "kl_to_base") & (cis.contrast == "dpo-sft")].iloc[0]
    assert same_kl["diff"] == 0 and not same_kl["excludes_zero"]


def test_each_variant_gets_a_nested_run_with_the_same_metric_names(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("t")
    table = comparison_table(fake_scores(), {}, [1])
    with mlflow.start_run() as parent:
        run_ids = log_variant_runs(table, {"backbone": "MiniLM"})
    client = mlflow.MlflowClient()
    runs = [client.get_run(r) for r in run_ids]
    assert [r.data.tags["variant"] for r in runs] == ["base", "sft", "dpo"]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in runs)
    names = [set(r.data.metrics) for r in runs]
    assert names[0] == names[1] == names[2] and "eval/diff_mean" in names[0]
