"""Where MLflow runs go: a team server named by ``MLFLOW_TRACKING_URI``, else SQLite inside ``mlruns/``."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

# Tracking stores on this machine: their artifacts belong in a folder beside them.
LOCAL_STORE_SCHEMES = ("", "file", "sqlite")
# MLflow's reserved tracking URIs without a scheme.
REMOTE_STORE_NAMES = ("databricks", "databricks-uc")


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


def resolve_artifact_location(tracking_uri: str, local_artifact_dir: str) -> str | None:
    """The artifact location of a newly created experiment: a project folder for a local store, else None.

    With a tracking server, None lets the server choose (its ``--artifacts-destination``, uploaded through the
    server, or its ``--default-artifact-root``); a local path here would leave every artifact on the client's disk,
    out of the team's reach.
    """
    if tracking_uri not in REMOTE_STORE_NAMES and urlparse(tracking_uri).scheme in LOCAL_STORE_SCHEMES:
        return local_artifact_dir
    return None
