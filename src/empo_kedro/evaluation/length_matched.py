"""Length-matched decoding: a model's replies forced to a given number of tokens per prompt.

The ``sft_len`` control is SFT decoding each prompt to the token length of DPO's reply to it, so "DPO vs SFT at equal
length" is a row of the comparison. ``min_new_tokens`` of ``generate`` applies to a whole batch; here a logits
processor holds each row's own target: end-of-sequence is suppressed until the row has generated its target, then
forced (``force_stop``), so a reply has exactly ``min(target, max_new_tokens)`` tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerBase

from empo_kedro.data.dialogues import as_turns
from empo_kedro.evaluation.generation import GENERATION_CACHE_KIND, generate_batch, replies_key

logger = logging.getLogger(__name__)

#: The length-matched control variant: SFT decoding to the length of DPO's replies.
SFT_LEN = "sft_len"


class RowTargetLengthProcessor(LogitsProcessor):
    """End-of-sequence impossible before each row's target number of new tokens, and certain at it."""

    def __init__(
        self, prompt_length: int, targets: Sequence[int], eos_token_ids: Sequence[int], force_stop: bool = True
    ) -> None:
        if not eos_token_ids:
            raise ValueError("Length-matched decoding needs the tokenizer's end-of-sequence token id")
        self.prompt_length = prompt_length
        self.targets = torch.as_tensor(list(targets), dtype=torch.long)
        self.eos_token_ids = torch.as_tensor(sorted(set(eos_token_ids)), dtype=torch.long)
        self.force_stop = force_stop

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids.shape[1] - self.prompt_length
        targets = self.targets.to(scores.device)
        eos = self.eos_token_ids.to(scores.device)
        scores = scores.clone()
        early = generated < targets
        scores[early.nonzero(as_tuple=True)[0][:, None], eos[None, :]] = float("-inf")
        if self.force_stop:
            due = (~early).nonzero(as_tuple=True)[0]
            scores[due] = float("-inf")
            scores[due, eos[0]] = 0.0
        return scores


def eos_token_ids(model: Any, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Every id that ends a reply: the tokenizer's EOS and the model's generation-config EOS ids."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids += configured if isinstance(configured, list) else ([configured] if configured is not None else [])
    return list(dict.fromkeys(ids))


def reply_token_counts(tokenizer: PreTrainedTokenizerBase, replies: Sequence[str]) -> list[int]:
    """Tokens of each reply text, without special tokens: the targets taken from another variant's replies."""
    return [len(ids) for ids in tokenizer(list(replies), add_special_tokens=False)["input_ids"]]


def count_new_tokens(new_tokens: torch.Tensor, stop_ids: Sequence[int]) -> list[int]:
    """Per row, the generated tokens before the first end-of-sequence or padding token."""
    stop = torch.isin(new_tokens, torch.as_tensor(list(stop_ids), device=new_tokens.device))
    first = torch.where(
        stop.any(dim=1), stop.int().argmax(dim=1), torch.full_like(stop[:, 0], new_tokens.shape[1], dtype=torch.long)
    )
    return first.tolist()


@torch.no_grad()
def generate_to_lengths(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[list[dict]],
    targets: Sequence[int],
    generation: Mapping[str, Any],
    batch_size: int,
    seed: int,
    force_stop: bool = True,
    desc: str = "generate (length-matched)",
) -> tuple[list[str], list[int]]:
    """Replies of ``targets[i]`` new tokens each (capped by ``max_new_tokens``) and their token counts.

    Batched and left-padded like :func:`empo_kedro.evaluation.generation.generate_replies`, with the same decoding
    settings; only end-of-sequence is steered.
    """
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} target lengths")
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(as_turns(p), tokenize=False, add_generation_prompt=True) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    replies: list[str] = [""] * len(texts)
    counts: list[int] = [0] * len(texts)
    eos = eos_token_ids(model, tokenizer)
    stop_ids = [*eos, *([tokenizer.pad_token_id] if tokenizer.pad_token_id is not None else [])]
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        batch_ids = order[start : start + batch_size]
        encoded = tokenizer(
            [texts[i] for i in batch_ids], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        prompt_length = encoded["input_ids"].shape[1]
        processor = RowTargetLengthProcessor(prompt_length, [int(targets[i]) for i in batch_ids], eos, force_stop)
        output = generate_batch(
            model, encoded, generation, tokenizer.pad_token_id, logits_processor=LogitsProcessorList([processor])
        )
        new_tokens = output[:, prompt_length:]
        for i, tokens, count in zip(batch_ids, new_tokens, count_new_tokens(new_tokens, stop_ids), strict=False):
            replies[i] = tokenizer.decode(tokens[:count], skip_special_tokens=True).strip()
            counts[i] = count
    return replies, counts


def length_matched_replies(
    models: Any,
    variant: str,
    name: str,
    prompts: pd.DataFrame,
    targets: Sequence[int],
    tokenizer: PreTrainedTokenizerBase,
    generation: Mapping[str, Any],
    batch_size: int,
    seed: int,
) -> pd.DataFrame:
    """``variant``'s replies decoded to ``targets`` tokens, as rows of variant ``name`` (one per prompt).

    With ``models.reply_cache`` (as in :func:`empo_kedro.evaluation.generation.variant_replies`), the replies are
    saved once generated and reused by a rerun with the same weights, prompts, decoding and targets.
    """
    cache = getattr(models, "reply_cache", None)
    key = (
        replies_key(
            models.identity(variant),
            prompts,
            generation,
            batch_size,
            seed,
            getattr(models, "autocast_dtype", None),
            target_tokens=targets,
        )
        if cache is not None
        else None
    )
    cached = cache.cached(GENERATION_CACHE_KIND, key) if cache is not None else None
    if cached is not None and len(cached.get("responses", [])) == len(cached.get("counts", [])) == len(prompts):
        replies, counts = cached["responses"], cached["counts"]
        logger.info("Replies of %s to these %d prompts are already generated, reusing them", name, len(replies))
    else:
        with models.use(variant) as model:
            replies, counts = generate_to_lengths(
                model,
                tokenizer,
                prompts["prompt"].tolist(),
                targets,
                generation,
                batch_size,
                seed,
                desc=f"generate ({name})",
            )
        if cache is not None:
            cache.save_cached(GENERATION_CACHE_KIND, key, {"variant": name, "responses": replies, "counts": counts})
    capped = int(generation.get("max_new_tokens", 0) or 0)
    matched = sum(c == (min(t, capped) if capped else t) for c, t in zip(counts, targets, strict=False))
    logger.info("Length-matched %s: %d of %d replies at their target length", name, matched, len(counts))
    frame = prompts.copy()
    frame["variant"], frame["response"], frame["target_tokens"], frame["reply_tokens"] = (
        name,
        replies,
        list(targets),
        counts,
    )
    return frame
