"""The tuned model as an MLflow chat model (OpenAI-style messages in, one assistant reply out).

Logged as *models from code* (``chat_model_code.py``), so nothing is pickled: the model folder holds the adapters as
safetensors and a ``model_config``; the base weights are either an artifact of the model or, to store them once per
base model, the artifacts of a ``runs:/`` URI in the same store (``base_model_uri``). Loading needs the store, never
a hub.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
from mlflow.pyfunc import ChatModel
from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository
from mlflow.types.llm import ChatChoice, ChatCompletionResponse, ChatMessage, ChatParams, TokenUsageStats
from mlflow.utils.file_utils import local_file_uri_to_path

from empo_kedro.serving.chat import ChatEngine

logger = logging.getLogger(__name__)

BASE_ARTIFACT, SFT_ARTIFACT, DPO_ARTIFACT = "base_model", "sft_adapter", "dpo_adapter"
# Where base weights fetched from a remote store are kept between loads (default: <tmp>/empo_kedro_artifacts).
ARTIFACT_CACHE_ENV = "EMPO_ARTIFACT_CACHE"
COMPLETE_MARKER = ".complete"


def resolve_base_path(artifacts: dict[str, str], config: dict[str, Any]) -> Path:
    """The base model folder: the model's own artifact, else the one ``base_model_uri`` names in the store."""
    if BASE_ARTIFACT in artifacts:
        return Path(artifacts[BASE_ARTIFACT])
    uri = config.get("base_model_uri")
    if not uri:
        raise ValueError("the chat model has neither a base_model artifact nor a base_model_uri in its model_config")
    return local_artifact_folder(uri)


def local_artifact_folder(uri: str) -> Path:
    """A folder on this disk holding the artifacts at ``uri``.

    A store on this disk is read in place; a remote one is downloaded once per URI into a cache, so loading the chat
    model again (every ``mlflow models serve`` worker, every test) does not leave another copy of the base weights
    in a fresh temporary folder, as ``mlflow.artifacts.download_artifacts`` without a destination does.
    """
    underlying = RunsArtifactRepository.get_underlying_uri(uri) if RunsArtifactRepository.is_runs_uri(uri) else uri
    if urlparse(underlying).scheme in ("", "file"):
        local = Path(local_file_uri_to_path(underlying))
        if local.is_dir():
            return local
    key = hashlib.sha256(f"{mlflow.get_tracking_uri()}|{underlying}".encode()).hexdigest()[:24]
    cache_root = Path(os.environ.get(ARTIFACT_CACHE_ENV) or Path(tempfile.gettempdir()) / "empo_kedro_artifacts")
    entry = cache_root / key
    if not (entry / COMPLETE_MARKER).exists():
        cache_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.new-", dir=cache_root))
        try:
            downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(staging)))
            (staging / COMPLETE_MARKER).write_text(downloaded.name)
            shutil.rmtree(entry, ignore_errors=True)
            os.replace(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("Base weights of %s cached at %s", uri, entry)
    return entry / (entry / COMPLETE_MARKER).read_text()


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
