"""SFT and DPO logic on a tiny random model: loss masks, the DPO reference, one model copy, epoch draws, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch.utils.data import SequentialSampler

from empo_kedro.io.model_datasets import AdapterDataset, TrainedAdapter
from empo_kedro.training import modeling
from empo_kedro.training.config import TrainingConfigError
from empo_kedro.training.dpo import build_dpo_trainer, epoch_ordered_pairs, train_dpo
from empo_kedro.training.modeling import ensure_generation_markers, load_adapted_model, load_tokenizer
from empo_kedro.training.sft import build_sft_trainer, train_sft
from tests.tiny_models import make_tiny_causal_lm

MODEL_PARAMS = {"dtype": "float32", "device": "cpu"}
FAST = {
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 4,
    "logging_steps": 1,
    "bf16": False,
    "gradient_checkpointing": False,
    "max_length": 64,
}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny"))


def conversations(n_train=8, n_valid=2) -> pd.DataFrame:
    rows = []
    for split, n in (("train", n_train), ("valid", n_valid)):
        for i in range(n):
            rows.append(
                {
                    "split": split,
                    "conv_id": f"{split}{i}",
                    "messages": [
                        {"role": "system", "content": "be kind"},
                        {"role": "user", "content": f"I lost my dog {i}"},
                        {"role": "assistant", "content": f"I am so sorry {i}."},
                        {"role": "user", "content": "thanks"},
                        {"role": "assistant", "content": "Anytime."},
                    ],
                }
            )
    return pd.DataFrame(rows)


def preference_pairs(n_prompts=8, epochs=2) -> pd.DataFrame:
    rows = []
    for epoch in range(epochs):
        for split, n in (("train", n_prompts), ("valid", 4)):
            for i in range(n):
                rows.append(
                    {
                        "prompt": [
                            {"role": "system", "content": "be kind"},
                            {"role": "user", "content": f"I feel sad {i}"},
                        ],
                        "chosen": "I am so sorry, that sounds hard.",
                        "rejected": f"Wonderful news {epoch}-{i}!",
                        "conv_id": f"{split}{i}",
                        "epoch": epoch,
                        "split": split,
                    }
                )
    return pd.DataFrame(rows)


def sft_params(**training):
    return {
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "train_split": "train",
        "eval_split": "valid",
        "device": "cpu",
        "training": {**FAST, "max_steps": 2, "learning_rate": 1e-3, **training},
    }


def dpo_params(**training):
    return {
        "lora": {"r": 8, "alpha": 2, "dropout": 0.0},
        "train_split": "train",
        "eval_split": "valid",
        "epochs": 2,
        "device": "cpu",
        "training": {**FAST, "beta": 0.1, "learning_rate": 5e-2, **training},
    }


def test_sft_loss_covers_only_assistant_turns(tiny_dir, tmp_path):
    tokenizer = ensure_generation_markers(load_tokenizer(tiny_dir))
    model = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    trainer = build_sft_trainer(model, tokenizer, conversations(), sft_params(max_length=512), 0, tmp_path)
    example = trainer.train_dataset[0]
    kept = [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label != -100]
    assert tokenizer.decode(kept) == "I am so sorry 0.<|im_end|>Anytime.<|im_end|>"


def test_sft_max_length_that_cuts_every_reply_is_refused_naming_it(tiny_dir, tmp_path):
    tokenizer = ensure_generation_markers(load_tokenizer(tiny_dir))
    model = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    with pytest.raises(TrainingConfigError, match=r"sft.training.max_length=8 cuts every one of the 8 train"):
        build_sft_trainer(model, tokenizer, conversations(), sft_params(max_length=8), 0, tmp_path)


def make_sft_adapter(tiny_dir: Path, out: Path) -> Path:
    """An SFT adapter with non-zero weights, so SFT differs from the base model."""
    torch.manual_seed(0)
    base = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    peft_model = get_peft_model(
        base,
        LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"),
    )
    AdapterDataset(str(out)).save(
        TrainedAdapter(peft_model, load_tokenizer(tiny_dir), {"kind": "sft", "merged_parents": []})
    )
    return out


def completion_log_probs(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probs of the completion tokens of a DPO batch (chosen half, rejected half), computed by hand."""
    ids, completion = batch["input_ids"], batch["completion_mask"]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    per_token = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (per_token * completion[:, 1:]).sum(dim=1).chunk(2)


def test_dpo_reference_log_probs_are_the_sft_models_and_no_second_copy_is_loaded(tiny_dir, tmp_path, monkeypatch):
    sft_dir = make_sft_adapter(tiny_dir, tmp_path / "sft")
    loads = []
    real_from_pretrained = modeling.AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(
        modeling.AutoModelForCausalLM,
        "from_pretrained",
        lambda *a, **k: loads.append(a) or real_from_pretrained(*a, **k),
    )
    sft_model = load_adapted_model(tiny_dir, MODEL_PARAMS, merged_parents=[sft_dir])
    trainer = build_dpo_trainer(
        sft_model, load_tokenizer(sft_dir), preference_pairs(), None, dpo_params(), 0, tmp_path
    )
    assert len(loads) == 1 and trainer.ref_model is None

    batch = next(iter(trainer.get_train_dataloader()))
    reference = trainer.compute_ref_log_probs(trainer.model, batch)

    # The same completions scored by an independently built SFT model (base + unmerged SFT adapter) ...
    independent_sft = load_adapted_model(tiny_dir, MODEL_PARAMS, adapter_path=sft_dir)
    # ... and by the base model, which is what TRL's default reference would have been.
    base = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    scored = {name: completion_log_probs(other, batch) for name, other in (("sft", independent_sft), ("base", base))}
    for ours, theirs in zip(reference, scored["sft"], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(reference[0], scored["base"][0], atol=1e-3)


def test_epoch_k_trains_on_draw_k_in_order(tiny_dir, tmp_path):
    pairs = preference_pairs(n_prompts=8, epochs=3)
    ordered = epoch_ordered_pairs(pairs, "train", epochs=2, limit=None, seed=0)
    assert ordered["epoch"].tolist() == [0] * 8 + [1] * 8
    assert set(ordered.loc[ordered.epoch == 0, "conv_id"]) == set(ordered.loc[ordered.epoch == 1, "conv_id"])
    limited = epoch_ordered_pairs(pairs, "train", epochs=2, limit=3, seed=0)
    assert len(limited) == 6 and limited["conv_id"].nunique() == 3
    sft_model = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    trainer = build_dpo_trainer(sft_model, load_tokenizer(tiny_dir), ordered, None, dpo_params(), 0, tmp_path)
    assert isinstance(trainer._get_train_sampler(trainer.train_dataset), SequentialSampler)
    assert trainer.args.num_train_epochs == 1


def test_more_epochs_than_draws_is_refused():
    with pytest.raises(TrainingConfigError, match="n_epochs >= 3"):
        epoch_ordered_pairs(preference_pairs(epochs=2), "train", epochs=3, limit=None, seed=0)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p["training"].update(beta=-0.1), "beta must be > 0"),
        (lambda p: p["lora"].update(r=0), "lora.r must be >= 1"),
        (lambda p: p["training"].update(betta=0.1), r"unknown DPOConfig keys \['betta'\]"),
        (lambda p: p["training"].update(num_train_epochs=3), "set by the project"),
    ],
)
def test_bad_dpo_parameters_fail_before_training(tiny_dir, tmp_path, change, message):
    params = dpo_params()
    change(params)
    model = modeling.load_causal_lm(tiny_dir, MODEL_PARAMS)
    with pytest.raises(TrainingConfigError, match=message):
        build_dpo_trainer(model, load_tokenizer(tiny_dir), preference_pairs(), None, params, 0, tmp_path)


def test_sft_then_dpo_moves_the_heldout_margin_and_saves_distinct_adapters(tiny_dir, tmp_path):
    torch.manual_seed(0)
    tokenizer = ensure_generation_markers(load_tokenizer(tiny_dir))
    peft_model, sft_metrics, _ = train_sft(
        modeling.load_causal_lm(tiny_dir, MODEL_PARAMS),
        tokenizer,
        conversations(),
        sft_params(),
        0,
        tmp_path / "sft_scratch",
    )
    assert "eval_loss" in sft_metrics
    AdapterDataset(str(tmp_path / "sft")).save(TrainedAdapter(peft_model, tokenizer, {"merged_parents": []}))
    sft_model = load_adapted_model(tiny_dir, MODEL_PARAMS, merged_parents=[tmp_path / "sft"])
    dpo_model, metrics, history = train_dpo(
        sft_model, tokenizer, preference_pairs(), dpo_params(), 0, tmp_path / "dpo_scratch"
    )
    assert metrics["train_pairs"] == 16
    assert [entry["step"] for entry in history if "loss" in entry] == [1, 2, 3, 4]
    assert metrics["eval_rewards/margins"] > 0
    AdapterDataset(str(tmp_path / "dpo")).save(TrainedAdapter(dpo_model, tokenizer, {"merged_parents": ["sft"]}))
    sft_bytes = (tmp_path / "sft" / "adapter_model.safetensors").read_bytes()
    assert sft_bytes != (tmp_path / "dpo" / "adapter_model.safetensors").read_bytes()
    assert json.loads((tmp_path / "dpo" / "empo_adapter.json").read_text())["merged_parents"] == ["sft"]
