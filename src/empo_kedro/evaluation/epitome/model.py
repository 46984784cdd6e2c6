"""The EPITOME scorer's network: a cross-encoder (``[CLS] seeker [SEP] response [SEP]`` through one pretrained HF
encoder), pooled, then one linear 3-way level head per mechanism, plus, as in the original EPITOME model, a token-level
head tagging the response tokens inside the annotated rationale spans (an auxiliary loss)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from empo_kedro.evaluation.epitome.params import NUM_LEVELS


class EpitomeModel(nn.Module):
    """Shared encoder + one level head per mechanism (+ optional rationale tagger)."""

    def __init__(
        self,
        encoder: nn.Module,
        mechanisms: Sequence[str],
        pooling: str,
        dropout: float,
        rationale_head: bool,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.mechanisms = list(mechanisms)
        self.pooling = pooling
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.level_heads = nn.ModuleDict({m: nn.Linear(hidden, NUM_LEVELS) for m in self.mechanisms})
        self.rationale_head = nn.Linear(hidden, len(self.mechanisms)) if rationale_head else None

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = self.dropout(pooled)
        logits = {m: head(pooled).float() for m, head in self.level_heads.items()}
        token_logits = None
        if self.rationale_head is not None:
            token_logits = self.rationale_head(self.dropout(hidden)).float()
        return logits, token_logits


def build_model(encoder_config: Any, cfg: Mapping[str, Any]) -> EpitomeModel:
    """An untrained model of the architecture a saved scorer config describes (weights are loaded after)."""
    from transformers import AutoModel

    encoder = AutoModel.from_config(encoder_config)
    return EpitomeModel(encoder.float(), cfg["mechanisms"], cfg["pooling"], cfg["dropout"], cfg["rationale_head"])
