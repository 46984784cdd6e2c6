"""A training run resumed from checkpoints in a new MLflow run: link it to the run that wrote the checkpoints.

The run that was killed or lost its tracking server cannot finish itself. The rerun tags its run
``empo.resumed_from_run`` (and the checkpoint it resumed from), marks the earlier run FAILED if it was left RUNNING,
and tags it ``empo.resumed_in_run``: the two are one training, found from either side.
"""

from __future__ import annotations

import logging

import mlflow
from mlflow.entities import RunStatus

logger = logging.getLogger(__name__)

RESUMED_FROM_RUN = "empo.resumed_from_run"
RESUMED_FROM_CHECKPOINT = "empo.resumed_from_checkpoint"
RESUMED_IN_RUN = "empo.resumed_in_run"


def active_run_id() -> str | None:
    run = mlflow.active_run()
    return run.info.run_id if run else None


def link_resumed_run(previous_run_id: str, checkpoint_name: str) -> None:
    """Tag the active run and the earlier one with each other's id; close the earlier one as FAILED if RUNNING."""
    current = active_run_id()
    if current is None or current == previous_run_id:
        return
    mlflow.set_tags({RESUMED_FROM_RUN: previous_run_id, RESUMED_FROM_CHECKPOINT: checkpoint_name})
    client = mlflow.MlflowClient()
    try:
        previous = client.get_run(previous_run_id)
    except mlflow.exceptions.MlflowException:
        logger.warning("The run %s that wrote the checkpoints is not in this tracking store", previous_run_id)
        return
    client.set_tag(previous_run_id, RESUMED_IN_RUN, current)
    if previous.info.status == RunStatus.to_string(RunStatus.RUNNING):
        client.set_terminated(previous_run_id, status=RunStatus.to_string(RunStatus.FAILED))
    logger.info("MLflow run %s continues run %s from %s", current, previous_run_id, checkpoint_name)
