"""A tiny base model with SFT and DPO adapters (random LoRA weights), and a throwaway MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from empo_kedro.io.model_datasets import LocalModel
from tests.tiny_models import make_tiny_adapter_stack

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
    return make_tiny_adapter_stack(tmp_path_factory.mktemp("serving_stack"))


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
