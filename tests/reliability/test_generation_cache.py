"""Per-variant generation cache: a variant's replies are saved as soon as they exist and reused by a rerun; another
model, prompt set or decoding setting is generated afresh."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from empo_kedro.evaluation import generation, length_matched
from empo_kedro.io.result_cache import ResultCache


class FakeVariants:
    """The part of VariantModel that ``variant_replies`` uses; ``weights`` stands for each variant's identity."""

    def __init__(self, cache: ResultCache, weights: dict[str, str]):
        self.reply_cache, self.weights, self.autocast_dtype = cache, weights, None

    def identity(self, variant: str) -> list[str]:
        return [self.weights[variant]]

    @contextlib.contextmanager
    def use(self, variant: str):
        yield variant


def test_a_rerun_generates_only_the_variants_whose_replies_are_missing(tmp_path: Path, monkeypatch):
    generated = []

    def fake_generate(model, tokenizer, prompts, settings, batch_size, seed, desc=""):
        generated.append(model)
        return [f"{model} reply {i}" for i in range(len(prompts))]

    monkeypatch.setattr(generation, "generate_replies", fake_generate)
    prompts = pd.DataFrame({"conv_id": ["a", "b"], "prompt": [[{"role": "user", "content": "hi"}]] * 2})
    cache = ResultCache(tmp_path)
    models = FakeVariants(cache, {"base": "w0", "sft": "w1", "dpo": "w2"})
    settings = {"max_new_tokens": 8}

    first = generation.variant_replies(models, ["base", "sft", "dpo"], prompts, None, settings, 2, 0)
    assert generated == ["base", "sft", "dpo"]
    files = sorted((tmp_path / generation.GENERATION_CACHE_KIND).glob("*.json"))
    assert len(files) == 3

    [dpo_file] = [path for path in files if json.loads(path.read_text())["variant"] == "dpo"]
    dpo_file.unlink()  # killed before the last variant's replies were saved
    generated.clear()
    again = generation.variant_replies(models, ["base", "sft", "dpo"], prompts, None, settings, 2, 0)
    assert generated == ["dpo"]
    pd.testing.assert_frame_equal(first, again)

    generated.clear()
    models.weights["dpo"] = "w3"  # retrained: its replies are not the old ones
    generation.variant_replies(models, ["base", "sft", "dpo"], prompts, None, {"max_new_tokens": 8}, 2, 0)
    generation.variant_replies(models, ["base"], prompts, None, {"max_new_tokens": 9}, 2, 0)
    assert generated == ["dpo", "base"]


def test_length_matched_replies_are_cached_per_target_lengths(tmp_path: Path, monkeypatch):
    generated = []

    def fake_to_lengths(model, tokenizer, prompts, targets, settings, batch_size, seed, desc=""):
        generated.append(list(targets))
        return [f"{model} {t}" for t in targets], list(targets)

    monkeypatch.setattr(length_matched, "generate_to_lengths", fake_to_lengths)
    prompts = pd.DataFrame({"conv_id": ["a", "b"], "prompt": [[{"role": "user", "content": "hi"}]] * 2})
    models = FakeVariants(ResultCache(tmp_path), {"sft": "w1"})
    settings = {"max_new_tokens": 8}

    first = length_matched.length_matched_replies(models, "sft", "sft_len", prompts, [3, 5], None, settings, 2, 0)
    again = length_matched.length_matched_replies(models, "sft", "sft_len", prompts, [3, 5], None, settings, 2, 0)
    assert generated == [[3, 5]]
    pd.testing.assert_frame_equal(first, again)
    length_matched.length_matched_replies(models, "sft", "sft_len", prompts, [4, 5], None, settings, 2, 0)
    assert generated == [[3, 5], [4, 5]]  # DPO's replies changed length: generated afresh
