"""Where MLflow runs go: a team server named by ``MLFLOW_TRACKING_URI``, else SQLite inside ``mlruns/``."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_tracking_uri(default_sqlite_path: str) -> str:
    """Return ``$MLFLOW_TRACKING_URI`` when set, else an absolute ``sqlite:///`` URI for the given path.

    MLflow 3.17 refuses the plain ``./mlruns`` file store, so the local default is a SQLite file; it is made
    absolute against the working directory (Kedro runs from the project root) so that a notebook or a test
    started elsewhere still writes to the project's store.
    """
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    if from_env:
        return from_env
    db_path = Path(default_sqlite_path)
    if not db_path.is_absolute():
        db_path = Path.cwd() / db_path
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db_path}"
