"""DPO forwards that run each prompt once for its chosen and its rejected completion.

TRL's DPO batch is ``[prompt+chosen_1..B, prompt+rejected_1..B]``, so every prompt goes through the model twice per
forward (policy and reference alike). ED prompts are long dialogue histories (~100 tokens) and completions short
(~16), so most of a step is the same prompt computed twice. Here the prompts run once with a KV cache, the
completions of both sides run on top of it (cache repeated for the pair), and the next-token log-probs are taken at
the same positions as TRL's fused LM head. Gradients flow through the cache into the prompt's activations, so the
loss and its gradient are those of the plain forward up to floating-point rounding (tested against it).

The wrapper only takes over calls it recognises (a fused-LM-head call whose rows pair up with identical prompts and
contiguous completions); anything else goes to TRL's forward unchanged.
"""

from __future__ import annotations

import functools
import logging
import types
from collections.abc import Sequence
from typing import Any

import torch
from transformers import PreTrainedModel

from empo_kedro.training.trl_private import PROMPT_SHARING, speedup_supported

logger = logging.getLogger(__name__)

# Logit transforms the shared path does not replicate; models that use them keep TRL's forward.
_UNSUPPORTED_LOGIT_OPTIONS = (
    "final_logit_softcapping",
    "logit_scale",
    "output_multiplier",
    "lm_head_multiplier",
    "logits_scaling",
)


# Forward arguments that do not change what the shared path computes (PEFT passes several of them as None/False).
_IGNORED_KWARGS = {"use_cache", "return_dict", "output_attentions", "output_hidden_states"}


def _checkpointing(model: PreTrainedModel) -> bool:
    """Gradient checkpointing turns the KV cache off, which the shared path needs."""
    return model.training and bool(
        getattr(model, "is_activation_checkpointing", getattr(model, "is_gradient_checkpointing", False))
    )


def _shared_prompt_plan(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Prompt and completion lengths per row if the batch is [chosen; rejected] with shared prompts, else None."""
    rows = input_ids.size(0)
    if rows % 2 or rows == 0:
        return None
    half = rows // 2
    completion = labels != -100
    if not completion.any(dim=1).all():
        return None
    prompt_len = completion.int().argmax(dim=1)
    completion_len = completion.sum(dim=1)
    real = attention_mask.bool() if attention_mask is not None else torch.ones_like(completion)
    positions = torch.arange(input_ids.size(1), device=input_ids.device)
    expected_completion = (positions >= prompt_len[:, None]) & (positions < (prompt_len + completion_len)[:, None])
    expected_real = positions < (prompt_len + completion_len)[:, None]
    if not (torch.equal(completion, expected_completion) and torch.equal(real, expected_real)):
        return None  # completions not contiguous at the end of the real tokens (right padding)
    if not torch.equal(prompt_len[:half], prompt_len[half:]):
        return None
    in_prompt = positions < prompt_len[:half, None]
    if not ((input_ids[:half] == input_ids[half:]) | ~in_prompt).all():
        return None
    return prompt_len, completion_len


def _shared_prompt_forward(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    prompt_len: torch.Tensor,
    completion_len: torch.Tensor,
    outputs: Sequence[str],
    chunk_size: int,
) -> Any:
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import FusedCausalLMOutput

    rows, length = input_ids.shape
    half = rows // 2
    device = input_ids.device
    backbone = getattr(model, model.base_model_prefix)

    # 1. Each prompt once (right-padded to the longest prompt), keeping its keys/values.
    prompt_width = int(prompt_len[:half].max())
    prompt_positions = torch.arange(prompt_width, device=device)
    prompt_mask = (prompt_positions < prompt_len[:half, None]).long()
    prompt_out = backbone(input_ids=input_ids[:half, :prompt_width], attention_mask=prompt_mask, use_cache=True)
    cache = prompt_out.past_key_values
    last_prompt_hidden = prompt_out.last_hidden_state[torch.arange(half, device=device), prompt_len[:half] - 1]

    # 2. Completions of both sides on the cache, rows interleaved (chosen_i, rejected_i) to match the repeated cache.
    first_half = torch.arange(half, device=device)
    interleaved = torch.stack([first_half, first_half + half], 1).flatten()
    completion_width = int(completion_len.max())
    offsets = torch.arange(completion_width, device=device)
    gather_at = (prompt_len[:, None] + offsets).clamp(max=length - 1)
    completion_ids = input_ids.gather(1, gather_at)
    completion_mask = offsets < completion_len[:, None]
    cache.batch_repeat_interleave(2)
    attention = torch.cat([prompt_mask.repeat_interleave(2, dim=0), completion_mask[interleaved].long()], dim=1)
    completion_out = backbone(
        input_ids=completion_ids[interleaved],
        attention_mask=attention,
        position_ids=(prompt_len[:, None] + offsets)[interleaved],
        past_key_values=cache,
        use_cache=True,
    )
    original_order = torch.empty_like(interleaved)
    original_order[interleaved] = torch.arange(rows, device=device)
    completion_hidden = completion_out.last_hidden_state[original_order]

    # 3. Next-token log-probs: completion token 0 is predicted by the prompt's last position, token j by token j-1.
    predictors = torch.cat([last_prompt_hidden.repeat(2, 1)[:, None], completion_hidden[:, :-1]], dim=1)
    lm_head = model.get_output_embeddings()
    per_token = ChunkedLogProbFunction.apply(
        predictors[completion_mask],
        lm_head.weight,
        lm_head.bias,
        completion_ids[completion_mask],
        1.0,
        chunk_size,
        None,
        1.0,
        tuple(outputs),
    )
    shifted_mask = labels[:, 1:] != -100  # row-major order equals (row, completion position) order above
    log_probs, entropy, log_sum_sq_probs, mean_logits, is_top1 = (
        None if x is None else x.new_zeros(shifted_mask.shape).masked_scatter(shifted_mask, x) for x in per_token
    )
    loss = -log_probs.sum() / shifted_mask.sum().clamp(min=1)
    return FusedCausalLMOutput(
        loss=loss,
        log_probs=log_probs,
        entropy=entropy,
        log_sum_sq_probs=log_sum_sq_probs,
        mean_logits=mean_logits,
        is_top1=is_top1,
        label_mask=shifted_mask,
        aux_loss=None,
    )


def enable_prompt_sharing(
    model: PreTrainedModel, outputs: Sequence[str] = ("log_probs", "entropy", "mean_logits", "is_top1")
) -> bool:
    """Wrap a model that TRL gave a fused LM head so DPO pair batches share their prompt's forward.

    Returns False (and leaves the model alone) for models the shared path does not cover.
    """
    text_config = model.config.get_text_config()
    if any(getattr(text_config, option, None) not in (None, 1.0) for option in _UNSUPPORTED_LOGIT_OPTIONS):
        logger.info("Prompt sharing off: the model transforms its logits (%s)", model.config.model_type)
        return False
    if getattr(text_config, "model_type", "") in ("gpt_oss",) or getattr(text_config, "num_experts", None):
        logger.info("Prompt sharing off for mixture-of-experts models")
        return False
    if getattr(model, "prompt_sharing_enabled", False):
        return True
    if not speedup_supported(PROMPT_SHARING):
        return False
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    trl_forward = model.forward

    @functools.wraps(type(model).forward)
    def forward(self, *args, fused_lm_head: bool = False, labels=None, **kwargs):
        plan = None
        given = {key for key, value in kwargs.items() if value is not None and key not in _IGNORED_KWARGS}
        if (
            fused_lm_head
            and labels is not None
            and not args
            and kwargs.get("input_ids") is not None
            and given <= {"input_ids", "attention_mask"}
            and not _checkpointing(self)
        ):
            plan = _shared_prompt_plan(kwargs["input_ids"], kwargs.get("attention_mask"), labels)
        if plan is None:
            return trl_forward(*args, fused_lm_head=fused_lm_head, labels=labels, **kwargs)
        self.shared_prompt_calls = getattr(self, "shared_prompt_calls", 0) + 1
        return _shared_prompt_forward(self, kwargs["input_ids"], labels, *plan, outputs, _CHUNKED_LOGPROB_CHUNK_SIZE)

    model.forward = types.MethodType(forward, model)
    model.prompt_sharing_enabled = True
    return True
