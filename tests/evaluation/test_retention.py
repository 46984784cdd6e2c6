"""Tests for the mean per-token KL retention metric on a tiny random Llama."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model

from empo_kedro.evaluation.retention import (
    mean_token_kl,
    mean_token_kl_in_context,
    mean_token_kl_with_adapter,
)
from tests.tiny_models import load_tiny, make_tiny_causal_lm

TEXTS = [
    "I am so sorry to hear that.",
    "That sounds wonderful! I am happy for you and your family, truly.",
    "ok",
    "I feel anxious about my exam tomorrow and I cannot sleep at all tonight.",
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_retention"))


@pytest.fixture()
def perturbed_peft(tiny_dir):
    """A LoRA-wrapped tiny model whose adapter weights were randomised."""
    model, tok = load_tiny(tiny_dir)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0)
    )
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    return peft_model, tok


def test_kl_of_model_with_itself_is_zero(tiny_dir):
    model, tok = load_tiny(tiny_dir)
    out = mean_token_kl(model, model, tok, TEXTS, batch_size=2, max_length=64)
    assert out["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(out["kl_per_text"], 0.0, atol=1e-6)
    assert out["n_tokens"] == int(out["n_tokens_per_text"].sum()) > 0


def test_fresh_lora_is_zero_and_perturbed_lora_is_positive(tiny_dir, perturbed_peft):
    model, tok = load_tiny(tiny_dir)
    fresh = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    assert mean_token_kl_with_adapter(fresh, tok, TEXTS, batch_size=4)["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    peft_model, tok = perturbed_peft
    out = mean_token_kl_with_adapter(peft_model, tok, TEXTS, batch_size=4, max_length=64)
    assert out["kl_mean"] > 1e-4
    assert (out["kl_per_text"] > 0).all()


def test_adapter_toggle_matches_two_model_form(tiny_dir, perturbed_peft):
    peft_model, tok = perturbed_peft
    base, _ = load_tiny(tiny_dir)
    one_copy = mean_token_kl_with_adapter(peft_model, tok, TEXTS, batch_size=3)
    two_copies = mean_token_kl(base, peft_model, tok, TEXTS, batch_size=3)
    assert np.allclose(one_copy["kl_per_text"], two_copies["kl_per_text"], rtol=1e-4, atol=1e-7)
    generic = mean_token_kl_in_context(peft_model, peft_model.disable_adapter, tok, TEXTS)
    assert generic["kl_mean"] == pytest.approx(one_copy["kl_mean"], rel=1e-5)


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_padding_does_not_change_per_text_kl(perturbed_peft, padding_side):
    peft_model, tok = perturbed_peft
    tok.padding_side = padding_side
    batched = mean_token_kl_with_adapter(peft_model, tok, TEXTS, batch_size=len(TEXTS))
    single = [mean_token_kl_with_adapter(peft_model, tok, [t], batch_size=1)["kl_per_text"][0] for t in TEXTS]
    assert np.allclose(batched["kl_per_text"], single, rtol=1e-4, atol=1e-7)


def test_empty_text_and_truncation_and_mode_restored(perturbed_peft):
    peft_model, tok = perturbed_peft
    peft_model.train()
    out = mean_token_kl_with_adapter(peft_model, tok, ["", TEXTS[1]], batch_size=2, max_length=5)
    assert peft_model.training  # previous mode restored
    assert np.isnan(out["kl_per_text"][0]) and np.isfinite(out["kl_per_text"][1])
    assert out["n_empty_texts"] == 1
    assert out["n_truncated"] == 1
    assert out["n_tokens_per_text"].tolist() == [0, 5]
    assert np.isfinite(out["kl_mean"])
