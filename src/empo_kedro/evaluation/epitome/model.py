"""The EPITOME scorer's network, in one of two layouts, pooled, then one linear 3-way level head per mechanism, plus,
as in the original EPITOME model, a token-level head tagging the response tokens inside the annotated rationale spans
(an auxiliary loss).

- ``cross``: a cross-encoder, ``[CLS] seeker [SEP] response [SEP]`` through one pretrained HF encoder (every layer
  attends across both posts).
- ``epitome``: the original EPITOME layout (Sharma et al. 2020): the seeker post and the response through the encoder
  separately (one shared encoder here; EPITOME trained two), then one attention layer from the response tokens to the
  seeker tokens, added to the response's states; heads on the response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from empo_kedro.evaluation.epitome.params import NUM_LEVELS

# EPITOME's response-to-seeker attention is a single-head layer.
SEEKER_ATTENTION_HEADS = 1


def _pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def split_streams(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, response_start: torch.Tensor, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoded pairs -> (seeker ids, seeker mask, response ids, response mask), each right-padded.

    The seeker stream is the pair up to the response (``[CLS] seeker [SEP]``); the response stream is the pair's
    first token followed by the rest (``[CLS] response [SEP]``), so both are well-formed single sequences.
    """
    lengths = attention_mask.sum(1).tolist()
    starts = response_start.tolist()
    if min(starts) < 1:
        raise ValueError("The 'epitome' layout needs a special token before the seeker post (response_start >= 1)")
    n = input_ids.shape[0]
    seeker_ids = input_ids.new_full((n, max(starts)), pad_id)
    response_ids = input_ids.new_full(
        (n, max(1 + length - start for length, start in zip(lengths, starts, strict=True))), pad_id
    )
    seeker_mask, response_mask = torch.zeros_like(seeker_ids), torch.zeros_like(response_ids)
    for row, (length, start) in enumerate(zip(lengths, starts, strict=True)):
        seeker_ids[row, :start] = input_ids[row, :start]
        seeker_mask[row, :start] = 1
        response_ids[row, 0] = input_ids[row, 0]
        response_ids[row, 1 : 1 + length - start] = input_ids[row, start:length]
        response_mask[row, : 1 + length - start] = 1
    return seeker_ids, seeker_mask, response_ids, response_mask


class EpitomeModel(nn.Module):
    """Shared encoder + one level head per mechanism (+ optional rationale tagger), in the ``cross`` or ``epitome``
    layout."""

    def __init__(
        self,
        encoder: nn.Module,
        mechanisms: Sequence[str],
        pooling: str,
        dropout: float,
        rationale_head: bool,
        layout: str = "cross",
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.mechanisms = list(mechanisms)
        self.pooling = pooling
        self.layout = layout
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.level_heads = nn.ModuleDict({m: nn.Linear(hidden, NUM_LEVELS) for m in self.mechanisms})
        self.rationale_head = nn.Linear(hidden, len(self.mechanisms)) if rationale_head else None
        self.seeker_attention = (
            nn.MultiheadAttention(hidden, SEEKER_ATTENTION_HEADS, batch_first=True) if layout == "epitome" else None
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        response_start: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Level logits per mechanism and rationale logits per pair token (``None`` without the tagger)."""
        if self.seeker_attention is not None:
            if response_start is None:
                raise ValueError("The 'epitome' layout needs each pair's response_start (encode_pairs gives it)")
            return self._two_streams(input_ids, attention_mask, response_start)
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        return self._heads(hidden, attention_mask)

    def _heads(self, hidden: torch.Tensor, mask: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        pooled = self.dropout(_pool(hidden, mask, self.pooling))
        logits = {m: head(pooled).float() for m, head in self.level_heads.items()}
        token_logits = None
        if self.rationale_head is not None:
            token_logits = self.rationale_head(self.dropout(hidden)).float()
        return logits, token_logits

    def _two_streams(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, response_start: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        pad_id = getattr(self.encoder.config, "pad_token_id", None) or 0
        seeker_ids, seeker_mask, response_ids, response_mask = split_streams(
            input_ids, attention_mask, response_start, pad_id
        )
        seeker = self.encoder(input_ids=seeker_ids, attention_mask=seeker_mask).last_hidden_state
        response = self.encoder(input_ids=response_ids, attention_mask=response_mask).last_hidden_state
        attended, _ = self.seeker_attention(
            response, seeker, seeker, key_padding_mask=seeker_mask == 0, need_weights=False
        )
        logits, response_token_logits = self._heads(response + attended, response_mask)
        if response_token_logits is None:
            return logits, None
        # back to the pair's positions, where the rationale labels are (0 on the seeker's tokens, labelled -100)
        token_logits = response_token_logits.new_zeros((*input_ids.shape, response_token_logits.shape[-1]))
        for row, (length, start) in enumerate(
            zip(attention_mask.sum(1).tolist(), response_start.tolist(), strict=True)
        ):
            token_logits[row, start:length] = response_token_logits[row, 1 : 1 + length - start]
        return logits, token_logits


def build_model(encoder_config: Any, cfg: Mapping[str, Any]) -> EpitomeModel:
    """An untrained model of the architecture a saved scorer config describes (weights are loaded after)."""
    from transformers import AutoModel

    encoder = AutoModel.from_config(encoder_config)
    return EpitomeModel(
        encoder.float(),
        cfg["mechanisms"],
        cfg["pooling"],
        cfg["dropout"],
        cfg["rationale_head"],
        cfg.get("layout", "cross"),  # scorers saved before the layout existed are cross-encoders
    )
