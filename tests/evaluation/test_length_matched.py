"""Length-matched decoding on a tiny model: every row of a batch gets its own number of new tokens."""

from __future__ import annotations

import pytest

from empo_kedro.evaluation.length_matched import generate_to_lengths
from empo_kedro.training.modeling import load_causal_lm, load_tokenizer
from tests.tiny_models import make_tiny_causal_lm

PROMPTS = [
    [{"role": "user", "content": text}]
    for text in ("hi", "I feel so sad about my exam today", "ok then", "my dog is sick and I am worried")
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = make_tiny_causal_lm(tmp_path_factory.mktemp("tiny"))
    return load_causal_lm(path, {"dtype": "float32", "device": "cpu"}).eval(), load_tokenizer(path)


def test_reply_token_counts_equal_the_targets_in_one_batch(tiny):
    model, tokenizer = tiny
    targets = [0, 3, 9, 20]  # 20 is above max_new_tokens: capped
    generation = {"max_new_tokens": 12, "do_sample": False, "backend": "transformers"}  # as in parameters
    replies, counts = generate_to_lengths(model, tokenizer, PROMPTS, targets, generation, batch_size=4, seed=0)
    assert counts == [0, 3, 9, 12]
    assert replies[0] == "" and len(replies) == 4


def test_without_forced_stop_a_reply_is_at_least_its_target(tiny):
    model, tokenizer = tiny
    targets = [5, 2, 7, 1]
    _, counts = generate_to_lengths(
        model,
        tokenizer,
        PROMPTS,
        targets,
        {"max_new_tokens": 10, "do_sample": False},
        batch_size=2,
        seed=0,
        force_stop=False,
    )
    assert all(count >= target for count, target in zip(counts, targets, strict=False))


def test_targets_must_match_prompts(tiny):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="4 prompts but 2 target lengths"):
        generate_to_lengths(model, tokenizer, PROMPTS, [1, 2], {"max_new_tokens": 4}, batch_size=2, seed=0)
