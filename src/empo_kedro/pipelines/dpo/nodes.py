"""Nodes of the dpo pipeline: DPO from the SFT model with the SFT model as reference."""

from __future__ import annotations

import pandas as pd

from empo_kedro.io.model_datasets import AdapterHandle, LocalModel, TrainedAdapter
from empo_kedro.params import BaseModelParams, DpoParams
from empo_kedro.serving.registry import register_chat_models
from empo_kedro.training.dpo import train_dpo_on_sft
from empo_kedro.training.metrics import as_mlflow_metrics


def train_dpo_adapter(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    preference_pairs: pd.DataFrame,
    base_model_params: BaseModelParams,
    dpo_params: DpoParams,
    seed: int,
) -> tuple[TrainedAdapter, dict]:
    """Merge SFT into the base weights (one copy), train a fresh DPO adapter on top, report held-out margins."""
    adapter, metrics = train_dpo_on_sft(
        base_model, sft_adapter, preference_pairs, base_model_params, dpo_params, seed, dpo_params.output_dir
    )
    return adapter, as_mlflow_metrics(metrics)


def register_tuned_models(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle,
    base_model_params: dict,
    registry: dict,
    system_prompt: str,
) -> dict:
    """Log SFT and DPO as MLflow chat models and register them (``models:/empo-dpo/latest``)."""
    return register_chat_models(base_model, sft_adapter, dpo_adapter, base_model_params, registry, system_prompt)
