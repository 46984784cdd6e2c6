"""Evaluation prompts from the ED test split and batched, seeded generation of replies."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import DynamicCache, PreTrainedTokenizerBase

from empo_kedro.data.dialogues import SYSTEM, USER, as_turns, listener_turn_indices
from empo_kedro.evaluation.vllm_generation import decoding_settings, prefill_mode, without_default_prefill

logger = logging.getLogger(__name__)


def select_eval_prompts(
    dialogues: pd.DataFrame, split: str, n_prompts: int | None, system_prompt: str, seed: int
) -> pd.DataFrame:
    """One prompt per dialogue of a split: the history up to its last listener turn, which is the reference."""
    rows = []
    for row in dialogues.loc[dialogues["split"] == split].sort_values("conv_id").itertuples(index=False):
        turns = as_turns(row.turns)
        listener = listener_turn_indices(turns)
        if not listener:
            continue
        index = listener[-1]
        history = turns[:index]
        rows.append(
            {
                "conv_id": row.conv_id,
                "emotion": row.emotion,
                "prompt": ([{"role": SYSTEM, "content": system_prompt}] if system_prompt else []) + history,
                "context": next(t["content"] for t in reversed(history) if t["role"] == USER),
                "reference": turns[index]["content"],
            }
        )
    prompts = pd.DataFrame(rows)
    if prompts.empty:
        raise ValueError(f"No evaluation prompts in split '{split}'")
    if n_prompts is not None and len(prompts) > n_prompts:
        prompts = prompts.sample(n=n_prompts, random_state=seed).sort_values("conv_id")
    return prompts.reset_index(drop=True)


@torch.no_grad()
def generate_replies(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[list[dict]],
    generation: Mapping[str, Any],
    batch_size: int,
    seed: int,
    desc: str = "generate",
) -> list[str]:
    """Left-padded batches, KV cache on, decoding settings from parameters; prompts sorted by length to pad less."""
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(as_turns(p), tokenize=False, add_generation_prompt=True) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    replies: list[str] = [""] * len(texts)
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        batch_ids = order[start : start + batch_size]
        encoded = tokenizer(
            [texts[i] for i in batch_ids], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        output = generate_batch(model, encoded, generation, tokenizer.pad_token_id)
        new_tokens = output[:, encoded["input_ids"].shape[1] :]
        for i, tokens in zip(batch_ids, new_tokens, strict=True):
            replies[i] = tokenizer.decode(tokens, skip_special_tokens=True).strip()
    return replies


def unpadded_prompt_cache(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> DynamicCache:
    """The KV cache of a left-padded batch's prompts (all but each prompt's last token), computed without padding.

    The prompts' common token prefix (the system prompt and chat template) runs once; each prompt's remainder runs
    alone on top of it, so no compute goes to padding or to the shared prefix. The per-prompt caches are then
    left-padded into one batch cache for ``model.generate``, which decodes from each prompt's last token on.
    """
    rows = [ids[mask.bool()] for ids, mask in zip(input_ids, attention_mask, strict=True)]
    contexts = [row[:-1] for row in rows]
    shortest = min(len(context) for context in contexts)
    if shortest == 0:
        raise ValueError("per_prompt prefill needs prompts of at least two tokens")
    prefix = 0
    while prefix < shortest - 1 and all(bool(context[prefix] == contexts[0][prefix]) for context in contexts):
        prefix += 1
    prefix_layers = None
    if prefix:
        prefix_cache = model(input_ids=contexts[0][None, :prefix], use_cache=True).past_key_values
        prefix_layers = [(layer.keys, layer.values) for layer in prefix_cache.layers]
    per_prompt = []
    for context in contexts:
        cache = DynamicCache()
        if prefix_layers is not None:
            for index, (keys, values) in enumerate(prefix_layers):
                cache.update(keys, values, index)
        positions = torch.arange(prefix, len(context), device=context.device)[None]
        model(input_ids=context[None, prefix:], position_ids=positions, past_key_values=cache, use_cache=True)
        per_prompt.append(cache)
    width = input_ids.shape[1] - 1
    batch_cache = DynamicCache()
    for index in range(len(per_prompt[0].layers)):
        keys = [cache.layers[index].keys for cache in per_prompt]
        values = [cache.layers[index].values for cache in per_prompt]
        padded_keys = keys[0].new_zeros((len(keys), keys[0].shape[1], width, keys[0].shape[3]))
        padded_values = values[0].new_zeros((len(values), values[0].shape[1], width, values[0].shape[3]))
        for row, (k, v) in enumerate(zip(keys, values, strict=True)):
            padded_keys[row, :, width - k.shape[2] :] = k[0]
            padded_values[row, :, width - v.shape[2] :] = v[0]
        batch_cache.update(padded_keys, padded_values, index)
    return batch_cache


def generate_batch(
    model: Any, encoded: Mapping[str, torch.Tensor], generation: Mapping[str, Any], pad_token_id: int | None, **extra
) -> torch.Tensor:
    """``model.generate`` on a left-padded batch with the decoding settings; ``generation.prefill: per_prompt``
    computes the prompts' cache without padding first (:func:`unpadded_prompt_cache`)."""
    settings = decoding_settings(generation)
    if prefill_mode(generation) == "per_prompt":
        extra["past_key_values"] = unpadded_prompt_cache(model, encoded["input_ids"], encoded["attention_mask"])
    return model.generate(**encoded, **settings, use_cache=True, pad_token_id=pad_token_id, **extra)


GENERATION_CACHE_KIND = "generations"


def replies_key(
    identity: Sequence[str],
    prompts: pd.DataFrame,
    generation: Mapping[str, Any],
    batch_size: int,
    seed: int,
    autocast: Any,
    target_tokens: Sequence[int] | None = None,
) -> str:
    """Everything a variant's replies depend on: its weights, the prompts, decoding, batching, seed and numerics
    (and, for length-matched replies, each prompt's target length)."""
    payload = {
        "model": list(identity),
        "prompts": prompts[["conv_id", "prompt"]].to_dict("records"),
        "generation": without_default_prefill(generation),
        "batch_size": batch_size,
        "seed": seed,
        "autocast": str(autocast),
    }
    if target_tokens is not None:
        payload["target_tokens"] = [int(t) for t in target_tokens]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def variant_replies(
    models: Any,
    variants: Sequence[str],
    prompts: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    generation: Mapping[str, Any],
    batch_size: int,
    seed: int,
) -> pd.DataFrame:
    """Each variant's replies to the same prompts with the same decoding: one row per (prompt, variant).

    With ``models.reply_cache``, each variant's replies are saved as soon as they are generated and reused by a
    rerun (a run killed later in the evaluation does not generate them again).
    """
    frames = []
    cache = getattr(models, "reply_cache", None)
    for variant in variants:
        key = (
            replies_key(
                models.identity(variant),
                prompts,
                generation,
                batch_size,
                seed,
                getattr(models, "autocast_dtype", None),
            )
            if cache is not None
            else None
        )
        cached = cache.cached(GENERATION_CACHE_KIND, key) if cache is not None else None
        if cached is not None and len(cached.get("responses", [])) == len(prompts):
            replies = cached["responses"]
            logger.info("Replies of %s to these %d prompts are already generated, reusing them", variant, len(replies))
        else:
            with models.use(variant) as model:
                replies = generate_replies(
                    model,
                    tokenizer,
                    prompts["prompt"].tolist(),
                    generation,
                    batch_size,
                    seed,
                    desc=f"generate ({variant})",
                )
            if cache is not None:
                cache.save_cached(GENERATION_CACHE_KIND, key, {"variant": variant, "responses": replies})
        frame = prompts.copy()
        frame["variant"], frame["response"] = variant, replies
        frames.append(frame)
        logger.info("Generated %d replies with %s", len(replies), variant)
    return pd.concat(frames, ignore_index=True)
