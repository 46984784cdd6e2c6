"""Nodes of the dpo pipeline: DPO from the SFT model with the SFT model as reference."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from empo_kedro.io.model_datasets import ADAPTER_WEIGHTS, AdapterHandle, LocalModel, TrainedAdapter, trained_adapter
from empo_kedro.training.checkpoints import model_lineage
from empo_kedro.training.dpo import train_dpo
from empo_kedro.training.metrics import as_mlflow_metrics
from empo_kedro.training.modeling import load_adapted_model, load_tokenizer


def train_dpo_adapter(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    preference_pairs: pd.DataFrame,
    base_model_params: dict,
    dpo_params: dict,
    seed: int,
) -> tuple[TrainedAdapter, dict]:
    """Merge SFT into the base weights (one copy), train a fresh DPO adapter on top, report held-out margins."""
    torch.manual_seed(seed)
    tokenizer = load_tokenizer(sft_adapter.path, base_model_params.get("trust_remote_code", False))
    parents = [*sft_adapter.merged_parents, sft_adapter.path]
    sft_model = load_adapted_model(base_model.path, base_model_params, merged_parents=parents)
    lineage = model_lineage(base_model.provenance.get("fingerprint"), [Path(p) / ADAPTER_WEIGHTS for p in parents])
    params = {**dpo_params, "device": base_model_params.get("device", "auto"), "lineage": lineage}  # keys checkpoints
    peft_model, metrics, log_history = train_dpo(sft_model, tokenizer, preference_pairs, params, seed, Path(dpo_params["output_dir"]))
    adapter = trained_adapter("dpo", peft_model, tokenizer, base_model, parents, metrics, log_history)
    return adapter, as_mlflow_metrics(metrics)
