"""Nodes of the dpo pipeline: DPO from the SFT model with the SFT model as reference."""

from __future__ import annotations

import pandas as pd

from empo_kedro.io.model_datasets import AdapterHandle, LocalModel, TrainedAdapter
from empo_kedro.params import BaseModelParams, DpoParams
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
    adapter, metrics = train_dpo_on_sft(base_model, sft_adapter, preference_pairs, base_model_params, dpo_params,
                                        seed, dpo_params.output_dir)
    return adapter, as_mlflow_metrics(metrics)
