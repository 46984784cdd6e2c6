"""A tiny base model with SFT and DPO adapters (random LoRA weights), and a throwaway MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import torch
from peft import LoraConfig, get_peft_model

from empo_kedro.io.model_datasets import AdapterDataset, LocalModel, TrainedAdapter
from empo_kedro.training.modeling import load_adapted_model, load_causal_lm, load_tokenizer
from tests.tiny_models import make_tiny_causal_lm

MODEL_PARAMS = {"dtype": "float32", "device": "cpu", "eval_autocast": None}
REGISTRY = {
    "enabled": True,
    "base_weights": "store_once",
    "models": {"sft": "empo-sft", "dpo": "empo-dpo"},
    "max_context_tokens": 160,
    "generation": {"max_new_tokens": 8, "do_sample": False},
}
SYSTEM_PROMPT = "You are a caring listener."


@pytest.fixture(scope="session")
def tiny_stack(tmp_path_factory) -> dict[str, Path]:
    """base / sft / dpo folders as the project writes them (DPO trained on the SFT-merged weights)."""
    root = tmp_path_factory.mktemp("serving_stack")
    base = make_tiny_causal_lm(root)
    tokenizer = load_tokenizer(base)
    torch.manual_seed(1)
    sft = get_peft_model(
        load_causal_lm(base, MODEL_PARAMS),
        LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False),
    )
    AdapterDataset(str(root / "sft")).save(TrainedAdapter(sft, tokenizer, {"merged_parents": []}))
    merged = load_adapted_model(base, MODEL_PARAMS, merged_parents=[root / "sft"])
    dpo = get_peft_model(merged, LoraConfig(r=8, lora_alpha=4, target_modules="all-linear", init_lora_weights=False))
    AdapterDataset(str(root / "dpo")).save(TrainedAdapter(dpo, tokenizer, {"merged_parents": [str(root / "sft")]}))
    return {"base": base, "sft": root / "sft", "dpo": root / "dpo"}


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store of this test only (tracking and registry), with an experiment selected."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment("serving-test", artifact_location=str(tmp_path / "artifacts"))
    )
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def local_model(path: Path) -> LocalModel:
    return LocalModel(path=path, provenance={"fingerprint": "tiny-" + path.parent.name})
