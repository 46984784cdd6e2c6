"""Final training metrics in the shape kedro-mlflow's metrics datasets log."""

from __future__ import annotations

import numbers


def as_mlflow_metrics(metrics: dict, step: int = 0) -> dict[str, dict[str, float]]:
    """``{name: value}`` -> ``{name: {"value": value, "step": step}}`` for numeric values only."""
    return {
        name.replace("@", "_at_"): {"value": float(value), "step": step}
        for name, value in metrics.items()
        if isinstance(value, numbers.Number) and not isinstance(value, bool)
    }
