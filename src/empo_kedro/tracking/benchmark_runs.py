"""Benchmark results in MLflow: one run per benchmark invocation in the experiment ``benchmarks``.

The benchmarks (``benchmarks/*.py``) write their result as JSON; this logs the same result to the project's
tracking store, so speed and scorer figures sit next to the training runs in the MLflow UI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BENCHMARK_EXPERIMENT = "benchmarks"
MLFLOW_PARAM_MAX_CHARS = 500


def numeric_leaves(tree: Any, prefix: str = "") -> dict[str, float]:
    """Every int/float in a nested result as ``a.b.c`` (lists and bools left out), for MLflow metrics."""
    if isinstance(tree, Mapping):
        flat: dict[str, float] = {}
        for key, value in tree.items():
            flat.update(numeric_leaves(value, f"{prefix}{key}."))
        return flat
    if isinstance(tree, (int, float)) and not isinstance(tree, bool) and math.isfinite(tree):
        return {prefix.rstrip("."): float(tree)}
    return {}


def log_benchmark_run(
    run_name: str, params: Mapping[str, Any], metrics_tree: Mapping[str, Any], artifact: Path, default_store: Path
) -> None:
    """One MLflow run: ``params`` as strings, every number of ``metrics_tree`` as a metric, the JSON as artifact.
    The store is the project's (``MLFLOW_TRACKING_URI`` wins, as for every run)."""
    import mlflow

    from empo_kedro.tracking.uri import resolve_tracking_uri

    mlflow.set_tracking_uri(resolve_tracking_uri(str(default_store)))
    mlflow.set_experiment(BENCHMARK_EXPERIMENT)
    with mlflow.start_run(run_name=run_name):
        mlflow.log_params({k: str(v)[:MLFLOW_PARAM_MAX_CHARS] for k, v in params.items()})
        mlflow.log_metrics(numeric_leaves(metrics_tree))
        mlflow.log_artifact(str(artifact))
