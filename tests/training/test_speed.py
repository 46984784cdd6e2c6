"""Speed-ups must not change what is computed: prompt sharing, labelled-only LM head, length buckets, bf16 freezing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from peft import get_peft_model
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import add_fused_lm_head

from empo_kedro.training.dpo import (
    build_dpo_trainer,
    epoch_ordered_pairs,
    pair_length,
    preference_records,
)
from empo_kedro.training.modeling import load_adapted_model, load_tokenizer, lora_config
from empo_kedro.training.prefix_sharing import (
    _shared_prompt_plan,
    enable_prompt_sharing,
)
from empo_kedro.training.speed import (
    cast_frozen_weights,
    labelled_positions_only,
    length_bucketed_order,
    padding_fraction,
)
from tests.tiny_models import make_tiny_causal_lm
from tests.training.test_sft_dpo import MODEL_PARAMS, dpo_params, preference_pairs

OUTPUTS = ("log_probs", "entropy", "mean_logits", "is_top1")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_speed"))


def varied_pairs():
    """Prompts and completions of different lengths, so padding, offsets and the cache layout are all exercised."""
    pairs = preference_pairs(n_prompts=6, epochs=1)
    pairs["prompt"] = [
        [{"role": "system", "content": "be kind"}, {"role": "user", "content": "I feel sad " + "really " * (i % 4)}]
        + ([{"role": "assistant", "content": "oh no"}, {"role": "user", "content": "yes"}] if i % 2 else [])
        for i in range(len(pairs))
    ]
    pairs["chosen"] = [("I am so sorry. " * (1 + i % 3)).strip() for i in range(len(pairs))]
    pairs["rejected"] = [("Great! " * (1 + (i * 2) % 5)).strip() for i in range(len(pairs))]
    return pairs


def dpo_batch(tiny_dir: Path, tmp_path: Path):
    """A real TRL DPO batch ([chosen; rejected], right-padded) and a fresh LoRA policy with TRL's fused LM head."""
    tokenizer = load_tokenizer(tiny_dir)
    model = load_adapted_model(tiny_dir, MODEL_PARAMS)
    pairs = varied_pairs()
    params = {**dpo_params(per_device_train_batch_size=6), "speed": {"prompt_sharing": False}}
    trainer = build_dpo_trainer(model, tokenizer, pairs.loc[pairs["split"] == "train"], None, params, 0, tmp_path)
    assert not trainer.prompt_sharing
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    return trainer.model, batch, labels


def test_shared_prompt_forward_equals_the_plain_forward_in_value_and_gradient(tiny_dir, tmp_path):
    policy, batch, labels = dpo_batch(tiny_dir, tmp_path)
    assert _shared_prompt_plan(batch["input_ids"], batch["attention_mask"], labels) is not None
    # Some LoRA weights away from zero, so the adapter takes part in the comparison.
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)

    def run():
        policy.zero_grad()
        out = policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels,
                     fused_lm_head=True, use_cache=False)
        (out.log_probs.sum() + 0.1 * out.entropy.sum()).backward()
        grads = {n: p.grad.clone() for n, p in policy.named_parameters() if p.grad is not None}
        return out, grads

    with labelled_positions_only():
        plain, plain_grads = run()
        assert enable_prompt_sharing(policy.get_base_model(), OUTPUTS)
        assert enable_prompt_sharing(policy.get_base_model(), OUTPUTS)  # idempotent: wraps once
        shared, shared_grads = run()
    assert policy.get_base_model().shared_prompt_calls == 1
    for field in OUTPUTS:
        torch.testing.assert_close(getattr(shared, field).float(), getattr(plain, field).float(), atol=1e-4, rtol=1e-4)
    assert plain_grads.keys() == shared_grads.keys() and plain_grads
    for name in plain_grads:
        torch.testing.assert_close(shared_grads[name], plain_grads[name], atol=1e-4, rtol=1e-3)


def test_unpaired_batches_fall_back_to_the_plain_forward(tiny_dir, tmp_path):
    _, batch, labels = dpo_batch(tiny_dir, tmp_path)
    swapped = batch["input_ids"].clone()
    swapped[-1, 0] = swapped[0, 0] + 1  # a rejected row whose prompt differs from its chosen row's
    assert _shared_prompt_plan(swapped, batch["attention_mask"], labels) is None
    assert _shared_prompt_plan(batch["input_ids"][:-1], batch["attention_mask"][:-1], labels[:-1]) is None


def test_dpo_with_all_speedups_learns_what_plain_trl_learns(tiny_dir, tmp_path):
    """Same pairs, same order, same seed: losses of the fast path match a stock fp32 TRL trainer step by step."""
    pairs = varied_pairs()
    train = pairs.loc[pairs["split"] == "train"]
    tokenizer = load_tokenizer(tiny_dir)
    params = dpo_params(per_device_train_batch_size=3, max_steps=2, learning_rate=1e-2)
    fast = build_dpo_trainer(load_adapted_model(tiny_dir, MODEL_PARAMS), tokenizer, train, None,
                             {**params, "speed": {"labelled_positions_only": True}}, 0, tmp_path / "fast")
    assert getattr(fast, "prompt_sharing", False)
    with labelled_positions_only():
        fast.train()
    stock = DPOTrainer(
        model=get_peft_model(load_adapted_model(tiny_dir, MODEL_PARAMS), lora_config(params["lora"])),
        ref_model=None, processing_class=tokenizer, train_dataset=fast.train_dataset.select(range(len(train))),
        args=DPOConfig(output_dir=str(tmp_path / "stock"), use_cpu=True, report_to=[], seed=0, bf16=False,
                       gradient_checkpointing=False, train_sampling_strategy="sequential", max_steps=2,
                       per_device_train_batch_size=3, learning_rate=1e-2, beta=0.1, max_length=64, logging_steps=1,
                       save_strategy="no"),
    )
    stock.train()
    fast_losses = [e["loss"] for e in fast.state.log_history if "loss" in e]
    stock_losses = [e["loss"] for e in stock.state.log_history if "loss" in e]
    assert len(fast_losses) == 2
    assert fast.model.get_base_model().shared_prompt_calls >= 4  # policy and reference forwards of both steps
    np.testing.assert_allclose(fast_losses, stock_losses, rtol=1e-3)


def test_labelled_positions_only_restores_trl_and_keeps_log_probs(tiny_dir, tmp_path):
    import trl.trainer.utils as trl_utils

    policy, batch, labels = dpo_batch(tiny_dir, tmp_path)
    original = trl_utils._use_triton
    plain = policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels,
                   fused_lm_head=True).log_probs
    with labelled_positions_only():
        assert trl_utils._use_triton is not original
        compact = policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels,
                         fused_lm_head=True).log_probs
    assert trl_utils._use_triton is original
    torch.testing.assert_close(compact, plain)


def test_length_buckets_cut_padding_and_keep_every_item_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 200, size=256)
    plain = rng.permutation(256)
    bucketed = length_bucketed_order(lengths, 8, 16, np.random.default_rng(1))
    assert sorted(bucketed.tolist()) == list(range(256))
    assert padding_fraction(lengths[bucketed], 8) < padding_fraction(lengths[plain], 8) / 3
    again = length_bucketed_order(lengths, 8, 16, np.random.default_rng(1))
    assert np.array_equal(bucketed, again)


def test_bucketed_epochs_keep_draw_order_and_prompts():
    pairs = varied_pairs()
    pairs = __import__("pandas").concat([pairs, pairs.assign(epoch=1, rejected=pairs["rejected"] + "!")])
    ordered = epoch_ordered_pairs(pairs, "train", 2, None, 0, bucket_batch_size=2, bucket_window_batches=2)
    assert ordered["epoch"].tolist() == [0] * 6 + [1] * 6
    assert set(ordered.loc[ordered["epoch"] == 0, "conv_id"]) == set(ordered.loc[ordered["epoch"] == 1, "conv_id"])
    assert all(pair_length(row) > 0 for row in ordered.itertuples(index=False))


def test_frozen_weights_cast_keeps_lora_weights_in_float32(tiny_dir):
    model = cast_frozen_weights(load_adapted_model(tiny_dir, MODEL_PARAMS), torch.bfloat16)
    policy = get_peft_model(model, lora_config({"r": 4, "alpha": 8}))
    dtypes = {name.split(".")[-2] if "lora_" in name else "base": p.dtype for name, p in policy.named_parameters()}
    assert dtypes["base"] == torch.bfloat16
    assert {p.dtype for n, p in policy.named_parameters() if p.requires_grad} == {torch.float32}
    assert preference_records(varied_pairs().head(1))[0]["chosen"][0]["role"] == "assistant"
    assert add_fused_lm_head  # the TRL hook the speed-ups build on is still exported
