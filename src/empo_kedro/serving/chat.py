"""Replies to a conversation (OpenAI-style messages) from base, SFT or DPO, with the context kept in budget.

One :class:`ChatEngine` holds one copy of the base weights with the adapters switched (as the evaluation does), so a
side-by-side comparison costs no extra memory. Decoding and templating are the evaluation's: the same messages give
the reply ``evaluation.generation.generate_replies`` gives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.variants import VariantModel
from empo_kedro.training.modeling import load_tokenizer

logger = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")


class ChatInputError(UserFacingError, ValueError):
    """A request the model cannot answer (no messages, an unknown role, a non-text content)."""


@dataclass(frozen=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    dropped_turns: int = 0
    dropped_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return bool(self.dropped_turns or self.dropped_tokens)

    def warning(self) -> str | None:
        if not self.truncated:
            return None
        return f"conversation longer than the context budget: dropped the {self.dropped_turns} oldest turn(s)" + (
            f" and the first {self.dropped_tokens} token(s) of what remained" if self.dropped_tokens else ""
        )


def check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Plain ``{role, content}`` dicts; a clear error for an empty request, an unknown role or non-text content."""
    if not messages:
        raise ChatInputError("the request holds no messages: send at least one {'role': 'user', 'content': ...}")
    checked = []
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ChatInputError(f"message {i}: role {role!r} is not one of {list(ROLES)}")
        if not isinstance(content, str):
            raise ChatInputError(f"message {i}: content must be text, got {type(content).__name__}")
        checked.append({"role": role, "content": content})
    return checked


class ChatEngine:
    """Base weights + SFT (+ DPO) adapters, one tokenizer with its chat template, a token budget per request."""

    def __init__(
        self,
        models: VariantModel,
        tokenizer,
        generation: Mapping[str, Any],
        max_context_tokens: int,
        system_prompt: str | None = None,
    ) -> None:
        self.models, self.tokenizer = models, tokenizer
        self.generation = dict(generation)
        self.max_context_tokens = int(max_context_tokens)
        self.system_prompt = system_prompt

    @classmethod
    def from_folders(
        cls,
        base_path: Path | str,
        sft_adapter: Path | str,
        dpo_adapter: Path | str | None,
        model_params: Mapping[str, Any],
        generation: Mapping[str, Any],
        max_context_tokens: int,
        system_prompt: str | None = None,
    ) -> ChatEngine:
        models = VariantModel(
            base_path, sft_adapter, dpo_adapter, model_params, autocast_dtype=model_params.get("eval_autocast")
        )
        tokenizer = load_tokenizer(sft_adapter, bool(model_params.get("trust_remote_code", False)))
        return cls(models, tokenizer, generation, max_context_tokens, system_prompt)

    @property
    def variants(self) -> list[str]:
        return list(self.models.variants)

    def _ids(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def fit_context(self, messages: list[dict[str, str]], max_new_tokens: int) -> tuple[list[int], int, int]:
        """Prompt ids within ``max_context_tokens - max_new_tokens``: oldest turns dropped first (a leading system
        message stays), then a single over-long message loses its first tokens. Returns ids and what was dropped."""
        budget = self.max_context_tokens - max_new_tokens
        if budget <= 0:
            raise ChatInputError(
                f"max_new_tokens {max_new_tokens} leaves no room in the context of {self.max_context_tokens} tokens"
            )
        system = messages[:1] if messages[0]["role"] == "system" else []
        turns = messages[len(system) :]
        ids = self._ids(system + turns)
        dropped_turns = 0
        while len(ids) > budget and len(turns) > 1:
            turns = turns[1:]
            dropped_turns += 1
            ids = self._ids(system + turns)
        dropped_tokens = max(0, len(ids) - budget)
        return ids[dropped_tokens:], dropped_turns, dropped_tokens

    def with_system_prompt(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The project's system prompt in front of a conversation that brings none."""
        if self.system_prompt and messages[0]["role"] != "system":
            return [{"role": "system", "content": self.system_prompt}, *messages]
        return messages

    @torch.no_grad()
    def reply(
        self, messages: Sequence[Mapping[str, Any]], variant: str, generation: Mapping[str, Any] | None = None
    ) -> ChatReply:
        """The variant's reply to the conversation (greedy unless the generation settings say otherwise)."""
        settings = {**self.generation, **(generation or {})}
        conversation = self.with_system_prompt(check_messages(messages))
        ids, dropped_turns, dropped_tokens = self.fit_context(conversation, int(settings.get("max_new_tokens", 64)))
        with self.models.use(variant) as model:
            device = next(model.parameters()).device
            input_ids = torch.tensor([ids], device=device)
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                **settings,
                use_cache=True,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[0, len(ids) :]
        reply = ChatReply(
            self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
            len(ids),
            len(new_tokens),
            dropped_turns,
            dropped_tokens,
        )
        if reply.truncated:
            logger.warning("%s", reply.warning())
        return reply
