"""Speed-ups must not change what is computed: prompt sharing, labelled-only LM head, length buckets, bf16 freezing."""

from __future__ import annotations

import math
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
    training_order,
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
    speed_context,
)
from empo_kedro.training.trl_private import LABELLED_POSITIONS_ONLY, PROMPT_SHARING, missing_names
from tests.tiny_models import make_tiny_causal_lm
from tests.training.test_sft_dpo import MODEL_PARAMS, dpo_params, preference_pairs

OUTPUTS = ("log_probs", "entropy", "mean_logits", "is_top1")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_speed"))


def varied_pairs(n_prompts: int = 6):
    """Prompts and completions of different lengths, so padding, offsets and the cache layout are all exercised."""
    pairs = preference_pairs(n_prompts=n_prompts, epochs=1)
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
        out = policy(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=labels,
            fused_lm_head=True,
            use_cache=False,
        )
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


def lora_state(model) -> dict[str, torch.Tensor]:
    """The trained adapter's weights (not the frozen "ref" copy TRL adds for an adapter it is given)."""
    return {name: p.detach().float().clone() for name, p in model.named_parameters() if ".default." in name}


def copy_lora(model, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state:
                param.copy_(state[name])


def train_fast_and_stock(
    tiny_dir: Path, tmp_path: Path, frozen_dtype: str | None, bf16: bool, steps: int = 8, torch_compile: bool = False
):
    """The project's DPO trainer (all speed-ups, length-bucketed order) and stock TRL, from the same LoRA weights.

    Stock TRL gets the fast trainer's tokenized rows in the same order (bucketing only decides which pairs share a
    batch; its padding saving is tested in ``test_length_buckets_cut_padding_and_keep_every_item_once``).
    """
    pairs = varied_pairs(n_prompts=steps * 2)
    tokenizer = load_tokenizer(tiny_dir)
    training = {
        "per_device_train_batch_size": 2,
        "max_steps": steps,
        "learning_rate": 3e-2,
        "bf16": bf16,
        "lr_scheduler_type": "constant",
    }
    params = {
        **dpo_params(**training),
        "epochs": 1,
        "speed": {
            "labelled_positions_only": True,
            "frozen_weights_dtype": frozen_dtype,
            "length_bucket_window_batches": 4,
            "torch_compile": torch_compile,
        },
    }
    ordered = training_order(pairs, params, 0)
    plain = epoch_ordered_pairs(pairs, "train", 1, None, 0)
    assert ordered["conv_id"].tolist() != plain["conv_id"].tolist()  # bucketing is in play
    fast = build_dpo_trainer(
        load_adapted_model(tiny_dir, MODEL_PARAMS), tokenizer, ordered, None, params, 0, tmp_path / "fast"
    )
    assert fast.prompt_sharing
    initial = lora_state(fast.model)
    stock_policy = get_peft_model(load_adapted_model(tiny_dir, MODEL_PARAMS), lora_config(params["lora"]))
    copy_lora(stock_policy, initial)
    stock = DPOTrainer(
        model=stock_policy,
        ref_model=None,
        processing_class=tokenizer,
        train_dataset=fast.train_dataset,
        args=DPOConfig(
            output_dir=str(tmp_path / "stock"),
            use_cpu=True,
            report_to=[],
            seed=0,
            bf16=bf16,
            gradient_checkpointing=False,
            train_sampling_strategy="sequential",
            max_steps=steps,
            per_device_train_batch_size=2,
            learning_rate=3e-2,
            lr_scheduler_type="constant",
            beta=0.1,
            max_length=64,
            logging_steps=1,
            save_strategy="no",
        ),
    )
    with speed_context(params):
        fast.train()
    stock.train()
    assert fast.model.get_base_model().shared_prompt_calls >= 2 * steps  # policy and reference forwards shared
    losses = [[e["loss"] for e in trainer.state.log_history if "loss" in e] for trainer in (fast, stock)]
    assert len(losses[0]) == len(losses[1]) == steps
    return losses, initial, lora_state(fast.model), lora_state(stock.model)


def test_dpo_with_all_speedups_learns_what_plain_trl_learns(tiny_dir, tmp_path):
    """fp32: same initial adapter, 8 steps at a learning rate that moves the loss far from ln 2; losses and LoRA
    weights of the fast path match stock TRL step by step."""
    (fast_losses, stock_losses), initial, fast_lora, stock_lora = train_fast_and_stock(tiny_dir, tmp_path, None, False)
    assert abs(stock_losses[-1] - math.log(2)) > 0.2  # training moved, so agreement below means something
    np.testing.assert_allclose(fast_losses, stock_losses, rtol=1e-3, atol=1e-4)
    assert stock_lora.keys() == fast_lora.keys() == initial.keys() and initial
    for name, weights in stock_lora.items():
        assert not torch.equal(weights, initial[name])
        torch.testing.assert_close(fast_lora[name], weights, rtol=1e-3, atol=1e-4)


@pytest.mark.slow  # inductor compiles 8 graphs: 2-5 min on a busy 2-core CPU with a cold inductor cache (25 s warm)
def test_torch_compile_switch_compiles_the_decoder_layers_and_keeps_the_loss(tiny_dir, tmp_path):
    """``speed.torch_compile``: the policy's decoder layers run compiled (dynamo captured graphs) and the fp32 losses
    and LoRA weights still match stock TRL step by step."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    (fast_losses, stock_losses), _, fast_lora, stock_lora = train_fast_and_stock(
        tiny_dir, tmp_path, None, False, steps=4, torch_compile=True
    )
    assert counters["stats"]["unique_graphs"] > 0
    np.testing.assert_allclose(fast_losses, stock_losses, rtol=1e-3, atol=1e-4)
    for name, weights in stock_lora.items():
        torch.testing.assert_close(fast_lora[name], weights, rtol=1e-3, atol=1e-4)
    torch._dynamo.reset()


def test_dpo_with_bf16_frozen_weights_learns_what_bf16_trl_learns(tiny_dir, tmp_path):
    """bf16 frozen weights under autocast against stock TRL's bf16 mixed precision (fp32 weights): autocast rounds
    the same linear weights to bf16 on every call, so the paths differ only in the order of bf16 operations."""
    (fast_losses, stock_losses), _, fast_lora, stock_lora = train_fast_and_stock(tiny_dir, tmp_path, "bfloat16", True)
    assert abs(stock_losses[-1] - math.log(2)) > 0.2
    np.testing.assert_allclose(fast_losses, stock_losses, rtol=1e-3, atol=1e-4)  # measured ~1e-4
    moved_fast = torch.cat([fast_lora[n].flatten() for n in sorted(fast_lora) if "lora_B" in n])
    moved_stock = torch.cat([stock_lora[n].flatten() for n in sorted(stock_lora) if "lora_B" in n])
    assert (moved_fast - moved_stock).norm() < 0.02 * moved_stock.norm()  # measured 0.7%


def test_labelled_positions_only_restores_trl_and_keeps_log_probs(tiny_dir, tmp_path):
    import trl.trainer.utils as trl_utils

    policy, batch, labels = dpo_batch(tiny_dir, tmp_path)
    original = trl_utils._use_triton
    plain = policy(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels, fused_lm_head=True
    ).log_probs
    with labelled_positions_only():
        assert trl_utils._use_triton is not original
        compact = policy(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels, fused_lm_head=True
        ).log_probs
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
    assert policy.get_base_model().model.layers[0].mlp.up_proj.base_layer.weight.dtype == torch.bfloat16
    assert {p.dtype for n, p in policy.named_parameters() if p.requires_grad} == {torch.float32}
    assert preference_records(varied_pairs().head(1))[0]["chosen"][0]["role"] == "assistant"
    assert add_fused_lm_head  # the TRL hook the speed-ups build on is still exported


def test_frozen_weights_cast_keeps_rotary_buffers_in_float32(tiny_dir):
    """Only what autocast computes in bf16 anyway is held in bf16: linear weights, not embeddings, norms, buffers."""
    model = cast_frozen_weights(load_adapted_model(tiny_dir, MODEL_PARAMS), torch.bfloat16)
    buffers = dict(model.named_buffers())
    assert any(name.endswith("inv_freq") for name in buffers)
    assert {b.dtype for name, b in buffers.items() if "inv_freq" in name} == {torch.float32}
    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    assert {d for n, d in dtypes.items() if n.endswith("proj.weight")} == {torch.bfloat16}
    assert {d for n, d in dtypes.items() if "embed" in n or "norm" in n} == {torch.float32}
    assert model.get_output_embeddings().weight.dtype == torch.float32


def test_labelled_positions_only_is_active_on_the_cpu(tiny_dir, tmp_path, monkeypatch):
    """Not only equal outputs: the LM head really projects only the labelled positions under the context."""
    import trl.trainer.utils as trl_utils

    policy, batch, labels = dpo_batch(tiny_dir, tmp_path)
    rows_projected = []
    kernel = trl_utils._ChunkedLogProbFunction

    class Spy:
        @staticmethod
        def apply(hidden, *args):
            rows_projected.append(hidden.size(0))
            return kernel.apply(hidden, *args)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Spy)
    policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels, fused_lm_head=True)
    with labelled_positions_only():
        policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels, fused_lm_head=True)
    labelled = int((labels[:, 1:] != -100).sum())
    assert rows_projected == [labels[:, 1:].numel(), labelled] and labelled < labels[:, 1:].numel()


def test_trl_private_names_the_speedups_use_are_present():
    assert missing_names(LABELLED_POSITIONS_ONLY) == []
    assert missing_names(PROMPT_SHARING) == []


@pytest.mark.parametrize(
    ("target", "speedup"),
    [
        ("trl.trainer.utils._use_triton", LABELLED_POSITIONS_ONLY),
        ("trl.trainer.utils._CHUNKED_LOGPROB_CHUNK_SIZE", PROMPT_SHARING),
        ("trl.trainer.utils.FusedCausalLMOutput", PROMPT_SHARING),
    ],
)
def test_a_missing_private_name_switches_its_speedup_off_with_one_warning(
    target, speedup, tiny_dir, monkeypatch, caplog
):
    from empo_kedro.training import trl_private

    monkeypatch.delattr(target)
    monkeypatch.setattr(trl_private, "_warned", set())
    with caplog.at_level("WARNING", logger=trl_private.__name__):
        if speedup == LABELLED_POSITIONS_ONLY:
            with labelled_positions_only():
                pass
            with labelled_positions_only():  # still usable, still only one warning
                pass
        else:
            model = load_adapted_model(tiny_dir, MODEL_PARAMS)
            assert not enable_prompt_sharing(model, OUTPUTS)
            assert not enable_prompt_sharing(model, OUTPUTS)
            assert not getattr(model, "prompt_sharing_enabled", False)
    warnings = [r for r in caplog.records if speedup in r.getMessage()]
    assert len(warnings) == 1 and target.rsplit(".", 1)[1] in warnings[0].getMessage()


def test_a_reshaped_chunked_logprob_signature_switches_prompt_sharing_off(monkeypatch):
    import trl.kernels

    class Reshaped:
        @staticmethod
        def forward(ctx, hidden, weight, targets, bias, temperature, chunk_size, softcap, scale, outputs):
            raise AssertionError("never called")

    monkeypatch.setattr(trl.kernels, "ChunkedLogProbFunction", Reshaped)
    assert any("ChunkedLogProbFunction.forward" in p for p in missing_names(PROMPT_SHARING))
