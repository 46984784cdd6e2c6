"""The MLflow experiment as the UI should open it: a model-training experiment whose runs table is one link away."""

from __future__ import annotations

import argparse

import mlflow

from empo_kedro.tracking.uri import resolve_tracking_uri

# MLflow 3 keeps an experiment's kind in this tag; the UI (mlflow/server/js, enum ExperimentKind) opens
# "custom_model_development" ("Machine learning") on the runs table and "genai_development" on the GenAI overview.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"


def mark_model_training(experiment_id: str) -> None:
    """Tag the experiment as model training unless someone chose another kind in the UI."""
    client = mlflow.MlflowClient()
    if EXPERIMENT_KIND_TAG not in client.get_experiment(experiment_id).tags:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND)


def runs_url(host: str, port: str | int, experiment_id: str | None) -> str:
    """The UI page listing the experiment's runs (the experiments list before the first run)."""
    base = f"http://{host}:{port}/#/experiments"
    return f"{base}/{experiment_id}/runs" if experiment_id else base


def main(argv: list[str] | None = None) -> None:
    """Print where `make ui` shows the runs: ``python -m empo_kedro.tracking.experiment --name empo_kedro``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--name", default="empo_kedro", help="experiment name (conf/base/mlflow.yml)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    parser.add_argument("--store", default="mlruns/mlflow.db", help="SQLite store without $MLFLOW_TRACKING_URI")
    args = parser.parse_args(argv)
    mlflow.set_tracking_uri(resolve_tracking_uri(args.store))
    experiment = mlflow.MlflowClient().get_experiment_by_name(args.name)
    if experiment is not None:
        mark_model_training(experiment.experiment_id)
    print(
        f"MLflow runs of '{args.name}': {runs_url(args.host, args.port, experiment and experiment.experiment_id)}"
        "  (nested eval-* runs: expand the parent run's row)",
        flush=True,
    )


if __name__ == "__main__":
    main()
