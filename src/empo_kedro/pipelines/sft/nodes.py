"""Nodes of the sft pipeline: provision the base model, then train the SFT LoRA adapter."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import torch

from empo_kedro.io.model_datasets import LocalModel, TrainedAdapter, trained_adapter
from empo_kedro.params import BaseModelParams, SftParams
from empo_kedro.training.base_model.spec import BaseModelSpec
from empo_kedro.training.checkpoints import model_lineage
from empo_kedro.training.metrics import as_mlflow_metrics
from empo_kedro.training.modeling import ensure_generation_markers, load_causal_lm, load_tokenizer
from empo_kedro.training.sft import train_sft


def provision_base_model(base_model_params: BaseModelParams) -> BaseModelSpec:
    """The spec of the base model; the catalog's BaseModelDataset materialises it (once) as safetensors.

    Loading options (dtype, device, quantization) are not part of what is cached, so they are left out here.
    """
    spec_keys = {field.name for field in dataclasses.fields(BaseModelSpec)} | {"display_name"}
    return BaseModelSpec.from_params({k: v for k, v in base_model_params.items() if k in spec_keys})


def train_sft_adapter(
    base_model: LocalModel,
    sft_conversations: pd.DataFrame,
    base_model_params: BaseModelParams,
    sft_params: SftParams,
    seed: int,
) -> tuple[TrainedAdapter, dict]:
    """Train a LoRA adapter on listener turns; returns it with its final metrics."""
    torch.manual_seed(seed)
    tokenizer = ensure_generation_markers(load_tokenizer(base_model.path, base_model_params.trust_remote_code))
    model = load_causal_lm(base_model.path, base_model_params)
    params = {
        **sft_params,
        "device": base_model_params.get("device", "auto"),
        "lineage": model_lineage(base_model.provenance.get("fingerprint"), []),
    }  # keys its checkpoints
    peft_model, metrics, log_history = train_sft(
        model, tokenizer, sft_conversations, params, seed, Path(sft_params.output_dir)
    )
    adapter = trained_adapter("sft", peft_model, tokenizer, base_model, [], metrics, log_history)
    return adapter, as_mlflow_metrics(metrics)
