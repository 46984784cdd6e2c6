"""Trainer callbacks: per-step metrics into the active MLflow run, under a pipeline prefix."""

from __future__ import annotations

import numbers

import mlflow
from transformers import TrainerCallback


class MlflowStepMetrics(TrainerCallback):
    """Logs every number a trainer reports (loss, learning rate, DPO rewards...) as ``<prefix>/<name>`` histories.

    We log into kedro-mlflow's run instead of using transformers' MLflowCallback, which would start its own run and
    log TrainingArguments as params that clash between the SFT and DPO steps of one ``kedro run``.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero or mlflow.active_run() is None:
            return
        metrics = {
            f"{self.prefix}/{name}".replace("@", "_at_"): float(value)
            for name, value in logs.items()
            if isinstance(value, numbers.Number) and not isinstance(value, bool)
        }
        if metrics:
            mlflow.log_metrics(metrics, step=state.global_step)
