"""A scored system's MLflow run: nested like the variants' runs, with the same ``eval/*`` metric names."""

from __future__ import annotations

import time
from collections.abc import Mapping

import mlflow
import pandas as pd

from empo_kedro.tracking.variant_runs import log_variant_runs


def log_system_run(table: pd.DataFrame, tags: Mapping[str, str], extra_metrics: Mapping[str, float]) -> str | None:
    """Log the system's row (indexed by its name) as a nested ``eval-<name>`` run tagged ``system``; returns its id.

    The run sits beside ``eval-base``/``eval-sft``/``eval-dpo`` in the experiment, so MLflow *Compare* lines the
    metrics up; ``extra_metrics`` (e.g. the agreement with the file's EPITOME levels) are logged with them. The
    enclosing Kedro run is tagged with the system name too.
    """
    if mlflow.active_run() is None:
        return None
    system = str(table.index[0])
    mlflow.set_tag("system", system)
    (run_id,) = log_variant_runs(table, {**tags, "system": system})
    if extra_metrics:
        now_ms = int(time.time() * 1000)
        mlflow.MlflowClient().log_batch(
            run_id,
            metrics=[mlflow.entities.Metric(key, float(value), now_ms, 0) for key, value in extra_metrics.items()],
        )
    return run_id
