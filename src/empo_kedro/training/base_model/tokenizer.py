"""Make a freshly loaded tokenizer training-ready: a chat template with generation markers, a pad token distinct
from EOS where the vocabulary has one, left padding for batched generation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from empo_kedro.training.base_model.chat_template import (
    CHATML_CHAT_TEMPLATE,
    UnsupportedChatTemplateError,
    assistant_mask_ends_with_special_token,
    chat_template_with_generation_markers,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# Candidate pad tokens, tried in order when the tokenizer has no pad or pads with EOS.
PAD_TOKEN_CANDIDATES = ("<|endoftext|>", "<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>")


def _special_tokens_of(tokenizer: PreTrainedTokenizerBase) -> dict[str, str]:
    names = ("bos_token", "eos_token", "unk_token", "pad_token")
    return {name: str(getattr(tokenizer, name)) for name in names if getattr(tokenizer, name, None) is not None}


def _choose_pad_token(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """Keep a distinct pad; else use a distinct existing token (never add one: that would resize the embeddings);
    else fall back to EOS."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return None
    vocab = tokenizer.get_vocab()
    reserved = {tokenizer.eos_token_id, tokenizer.bos_token_id}
    for candidate in (*PAD_TOKEN_CANDIDATES, tokenizer.unk_token):
        if candidate and candidate in vocab and vocab[candidate] not in reserved:
            return candidate
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        logger.warning("No distinct pad token in the vocabulary: padding with EOS %r", tokenizer.eos_token)
        return tokenizer.eos_token
    return None


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> dict[str, Any]:
    """Make the tokenizer training-ready in place; return what was done (for provenance)."""
    info: dict[str, Any] = {}
    template = variants = tokenizer.chat_template
    if isinstance(variants, dict):  # named variants: only the default one is used for training
        template = variants.get("default")
    info["original_chat_template"] = template
    if not template:
        vocab = tokenizer.get_vocab()
        if "<|im_start|>" in vocab and "<|im_end|>" in vocab:
            logger.warning("Tokenizer has no chat template but ChatML tokens: setting a plain ChatML template")
            template = CHATML_CHAT_TEMPLATE
        else:
            logger.warning("Tokenizer has no chat template and no ChatML tokens: leaving chat_template unset")
    info["assistant_masks_supported"] = False
    if template:
        try:
            template = chat_template_with_generation_markers(template, _special_tokens_of(tokenizer))
            info["assistant_masks_supported"] = True
        except UnsupportedChatTemplateError as exc:
            logger.warning(
                "Keeping the chat template without {%% generation %%} markers (%s); TRL's "
                "assistant_only_loss will not work with this base model",
                exc,
            )
        tokenizer.chat_template = {**variants, "default": template} if isinstance(variants, dict) else template
        if info["assistant_masks_supported"] and not assistant_mask_ends_with_special_token(tokenizer):
            logger.warning("The assistant mask does not end on a special end-of-turn token for this tokenizer")
            info["assistant_masks_supported"] = False

    pad = _choose_pad_token(tokenizer)
    if pad is not None:
        logger.info("Pad token: %r (was %r; eos is %r)", pad, tokenizer.pad_token, tokenizer.eos_token)
        tokenizer.pad_token = pad
    # Left padding is what batched generation needs (new tokens follow the prompt directly); TRL's SFT/DPO collators
    # pad explicitly on the right for training, so this default does not affect training.
    tokenizer.padding_side = "left"
    tokenizer.init_kwargs["padding_side"] = "left"  # save_pretrained only writes init kwargs (+ model_max_length)
    for loading_only in ("is_local", "local_files_only"):  # how *this* load ran; not a property of the tokenizer
        tokenizer.init_kwargs.pop(loading_only, None)
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions and (tokenizer.model_max_length is None or tokenizer.model_max_length > 10**9):
        tokenizer.model_max_length = int(max_positions)

    for config in (model.config, getattr(model, "generation_config", None)):
        if config is None:
            continue
        config.pad_token_id = tokenizer.pad_token_id
        if getattr(config, "eos_token_id", None) is None:
            config.eos_token_id = tokenizer.eos_token_id
    info.update(
        pad_token=tokenizer.pad_token,
        pad_token_id=tokenizer.pad_token_id,
        eos_token=tokenizer.eos_token,
        eos_token_id=tokenizer.eos_token_id,
        padding_side=tokenizer.padding_side,
        model_max_length=tokenizer.model_max_length,
    )
    return info
