"""The tuned model as an MLflow chat model (OpenAI-style messages in, one assistant reply out).

Logged as *models from code* (``chat_model_code.py``), so nothing is pickled: the model folder holds the adapters as
safetensors and a ``model_config``; the base weights are either an artifact of the model or, to store them once per
base model, the artifacts of a ``runs:/`` URI in the same store (``base_model_uri``). Loading needs the store, never
a hub.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import mlflow
from mlflow.pyfunc import ChatModel
from mlflow.types.llm import ChatChoice, ChatCompletionResponse, ChatMessage, ChatParams, TokenUsageStats

from empo_kedro.serving.chat import ChatEngine

logger = logging.getLogger(__name__)

BASE_ARTIFACT, SFT_ARTIFACT, DPO_ARTIFACT = "base_model", "sft_adapter", "dpo_adapter"


def resolve_base_path(artifacts: dict[str, str], config: dict[str, Any]) -> Path:
    """The base model folder: the model's own artifact, else the one ``base_model_uri`` names in the store."""
    if BASE_ARTIFACT in artifacts:
        return Path(artifacts[BASE_ARTIFACT])
    uri = config.get("base_model_uri")
    if not uri:
        raise ValueError("the chat model has neither a base_model artifact nor a base_model_uri in its model_config")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))


class EmpoChatModel(ChatModel):
    """Base + SFT (+ DPO) adapters answering as ``model_config['variant']``."""

    def load_context(self, context) -> None:
        config = dict(context.model_config or {})
        artifacts = dict(context.artifacts or {})
        self.variant = config.get("variant", "dpo")
        self.engine = ChatEngine.from_folders(
            resolve_base_path(artifacts, config),
            artifacts[SFT_ARTIFACT],
            artifacts.get(DPO_ARTIFACT),
            config.get("model_params") or {},
            config.get("generation") or {},
            int(config["max_context_tokens"]),
            config.get("system_prompt"),
        )
        self.model_name = config.get("model_name", f"empo-{self.variant}")

    def predict(self, context, messages: list[ChatMessage], params: ChatParams) -> ChatCompletionResponse:
        overrides = {"max_new_tokens": int(params.max_tokens)} if params and params.max_tokens else {}
        reply = self.engine.reply([{"role": m.role, "content": m.content} for m in messages], self.variant, overrides)
        custom = {"warning": reply.warning()} if reply.truncated else None
        return ChatCompletionResponse(
            choices=[
                ChatChoice(index=0, message=ChatMessage(role="assistant", content=reply.text), finish_reason="stop")
            ],
            usage=TokenUsageStats(
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                total_tokens=reply.prompt_tokens + reply.completion_tokens,
            ),
            id=f"chatcmpl-{uuid.uuid4().hex[:12]}",
            model=self.model_name,
            created=int(time.time()),
            custom_outputs=custom,
        )
