"""One nested MLflow run per model variant, with the same metric names, so the MLflow UI compares them."""

from __future__ import annotations

import math

import mlflow
import pandas as pd

from empo_kedro.tracking.reply_tables import log_reply_table, reply_table


def log_variant_runs(
    table: pd.DataFrame, tags: dict[str, str], replies: pd.DataFrame | None = None, prompts: pd.DataFrame | None = None
) -> list[str]:
    """Log each row of the comparison table as a nested run named after its variant; returns the run ids.

    With ``replies`` (per-reply scores with a ``variant`` column) each run also holds that variant's replies as an
    MLflow table (``replies.json``); ``prompts`` adds the conversation each reply answers.
    """
    if mlflow.active_run() is None:
        return []
    run_ids = []
    for variant, row in table.iterrows():
        with mlflow.start_run(run_name=f"eval-{variant}", nested=True) as run:
            mlflow.set_tags({**tags, "variant": str(variant)})
            mlflow.log_metrics(
                {
                    f"eval/{k}": float(v)
                    for k, v in row.items()
                    if isinstance(v, (int, float)) and not math.isnan(float(v))
                }
            )
            if replies is not None and (replies["variant"] == variant).any():  # the reference row has no replies
                log_reply_table(reply_table(replies.loc[replies["variant"] == variant], prompts))
            run_ids.append(run.info.run_id)
    return run_ids
