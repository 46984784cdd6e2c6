"""``evaluation.generation.prefill: per_prompt``: the prompts' cache computed without padding gives the replies of
the batched (padded) reference path."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from empo_kedro.evaluation.generation import generate_batch, generate_replies, replies_key, unpadded_prompt_cache
from empo_kedro.evaluation.vllm_generation import (
    GenerationBackendError,
    check_generation_backend,
    decoding_settings,
    prefill_mode,
    replies_fingerprint_settings,
)
from tests.tiny_models import load_tiny, make_tiny_causal_lm

SYSTEM = {"role": "system", "content": "You are a caring, empathetic listener."}
TEXTS = (
    "hi",
    "I feel so sad about my exam today, I studied for weeks and still failed it",
    "ok then",
    "My dog passed away last week and the house feels empty.",
    "It is completely normal to feel nervous before a big day.",
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A random tiny Llama with an untied output layer, so greedy replies are non-empty."""
    model, tokenizer = load_tiny(make_tiny_causal_lm(tmp_path_factory.mktemp("tiny"), tie_word_embeddings=False))
    return model, tokenizer


def prompts_with_system():
    return [[SYSTEM, {"role": "user", "content": text}] for text in TEXTS]


def chat_texts(tokenizer) -> list[str]:
    return [
        tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        for prompt in prompts_with_system()
    ]


def test_per_prompt_prefill_replies_equal_the_batched_path(tiny):
    model, tokenizer = tiny
    generation = {"max_new_tokens": 8, "do_sample": False}
    reference = generate_replies(model, tokenizer, prompts_with_system(), generation, batch_size=5, seed=0)
    unpadded = generate_replies(
        model, tokenizer, prompts_with_system(), {**generation, "prefill": "per_prompt"}, batch_size=5, seed=0
    )
    assert all(reference), "empty replies would make the comparison vacuous"
    assert unpadded == reference


def test_per_prompt_prefill_gives_the_batched_path_s_scores_at_every_step(tiny):
    """Equal replies alone are a weak check on a random tiny model (its argmax barely depends on the context), so
    the next-token scores of every decoding step are compared too."""
    model, tokenizer = tiny
    tokenizer.padding_side = "left"
    encoded = tokenizer(chat_texts(tokenizer), return_tensors="pt", padding=True, add_special_tokens=False)
    generation = {"max_new_tokens": 8, "do_sample": False, "output_scores": True, "return_dict_in_generate": True}
    with torch.no_grad():
        batched = generate_batch(model, encoded, generation, tokenizer.pad_token_id)
        unpadded = generate_batch(model, encoded, {**generation, "prefill": "per_prompt"}, tokenizer.pad_token_id)
    assert torch.equal(unpadded.sequences, batched.sequences)
    for ours, theirs in zip(unpadded.scores, batched.scores, strict=True):
        torch.testing.assert_close(ours, theirs)


def test_unpadded_cache_matches_the_padded_forward_at_real_positions(tiny):
    model, tokenizer = tiny
    tokenizer.padding_side = "left"
    encoded = tokenizer(chat_texts(tokenizer), return_tensors="pt", padding=True, add_special_tokens=False)
    mask = encoded["attention_mask"][:, :-1]
    with torch.no_grad():
        cache = unpadded_prompt_cache(model, encoded["input_ids"], encoded["attention_mask"])
        padded = model(  # positions as model.generate gives them: counted from each row's first real token
            input_ids=encoded["input_ids"][:, :-1],
            attention_mask=mask,
            position_ids=(mask.cumsum(1) - 1).clamp(min=0),
            use_cache=True,
        ).past_key_values
    real = mask.bool()
    for ours, theirs in zip(cache.layers, padded.layers, strict=True):
        assert ours.keys.shape == theirs.keys.shape
        torch.testing.assert_close(ours.keys.transpose(1, 2)[real], theirs.keys.transpose(1, 2)[real])
        torch.testing.assert_close(ours.values.transpose(1, 2)[real], theirs.values.transpose(1, 2)[real])


def test_prefill_is_a_project_key_not_a_decoding_setting():
    assert decoding_settings({"max_new_tokens": 4, "prefill": "per_prompt", "backend": "transformers"}) == {
        "max_new_tokens": 4
    }
    assert prefill_mode({}) == "batched"
    with pytest.raises(GenerationBackendError, match="prefill"):
        prefill_mode({"prefill": "sideways"})


def test_reply_cache_key_names_per_prompt_prefill_but_not_the_default():
    prompts = pd.DataFrame({"conv_id": ["c1"], "prompt": [[{"role": "user", "content": "hi"}]]})
    generation = {"max_new_tokens": 4, "do_sample": False}

    def key(settings):
        return replies_key(["base"], prompts, settings, 4, 0, None)

    assert key({**generation, "prefill": "batched"}) == key(generation)  # caches written before the setting
    assert key({**generation, "prefill": "per_prompt"}) != key(generation)


def test_an_unknown_prefill_is_refused_by_the_pre_run_check():
    with pytest.raises(GenerationBackendError, match="generation.prefill"):
        check_generation_backend({"backend": "transformers", "prefill": "sideways"}, None, {"device": "cpu"})


def test_sweep_reply_fingerprints_name_per_prompt_prefill_but_not_the_default():
    generation = {"backend": "transformers", "max_new_tokens": 4, "do_sample": False}
    unchanged = replies_fingerprint_settings({**generation, "prefill": "batched"})
    assert unchanged == replies_fingerprint_settings(generation) == decoding_settings(generation)
    assert replies_fingerprint_settings({**generation, "prefill": "per_prompt"})["prefill"] == "per_prompt"
