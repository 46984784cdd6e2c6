"""Base + SFT + DPO folded into one set of weights, checked against the unmerged adapters."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from empo_kedro.training.modeling import load_causal_lm, load_tokenizer, merge_adapters

logger = logging.getLogger(__name__)

# fp32 export: the merged weights may differ from base+adapters by rounding only (LoRA deltas summed in fp32).
DEFAULT_LOGIT_TOLERANCE = 1e-3


def probe_ids(tokenizer, prompts: Sequence[str]) -> list[torch.Tensor]:
    """Token ids of each probe prompt in the chat template, as the model sees a user message."""
    return [
        torch.tensor(
            [
                tokenizer(
                    tokenizer.apply_chat_template(
                        [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                    ),
                    add_special_tokens=False,
                )["input_ids"]
            ]
        )
        for p in prompts
    ]


@torch.no_grad()
def max_logit_gap(
    merged,
    base_path: Path | str,
    adapters: Sequence[Path | str],
    model_params: Mapping[str, Any],
    ids: Sequence[torch.Tensor],
) -> float:
    """Largest |logit| difference between the merged model and base + adapters applied unmerged (stacked)."""
    reference = PeftModel.from_pretrained(load_causal_lm(base_path, model_params), str(adapters[0]), adapter_name="a0")
    for i, path in enumerate(adapters[1:], start=1):
        reference.load_adapter(str(path), adapter_name=f"a{i}")
    reference.base_model.set_adapter([f"a{i}" for i in range(len(adapters))])
    reference.eval()
    merged.eval()
    return max(float((merged(input_ids=x).logits - reference(input_ids=x).logits).abs().max()) for x in ids)


def merged_model(
    base_path: Path | str,
    adapters: Sequence[Path | str],
    model_params: Mapping[str, Any],
    probes: Sequence[str],
    tolerance: float = DEFAULT_LOGIT_TOLERANCE,
):
    """The merged model (fp32, CPU), its tokenizer (with chat template) and the measured logit gap.

    Raises if the gap exceeds ``tolerance``: an export that answers differently from the evaluated model is a bug.
    """
    params = {**model_params, "dtype": "float32", "device": "cpu", "quantization": None}
    merged = merge_adapters(load_causal_lm(base_path, params), adapters)
    tokenizer = load_tokenizer(adapters[-1], bool(model_params.get("trust_remote_code", False)))
    gap = max_logit_gap(merged, base_path, adapters, params, probe_ids(tokenizer, probes))
    logger.info("Merged model vs base + adapters: max |logit gap| %.2e (tolerance %.0e)", gap, tolerance)
    if gap > tolerance:
        raise ValueError(f"merged weights differ from base + adapters by {gap:.3e} in the logits (> {tolerance})")
    return merged, tokenizer, gap


@torch.no_grad()
def greedy_replies(model, tokenizer, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy replies to single user messages (the chat template applied), one prompt at a time."""
    replies = []
    for ids in probe_ids(tokenizer, prompts):
        output = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        replies.append(tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True).strip())
    return replies
