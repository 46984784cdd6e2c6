"""Read a finished sweep back from MLflow into a plain :class:`SweepRecord` (the writer is
:mod:`empo_kedro.tracking.sweep_runs`; :mod:`empo_kedro.reporting.results` renders the document from the record).

Read back: the sweep's parent run (tags naming the best trial, the machine, CI bounds and wall times as metrics, and
the ``sweep_trials.json`` / ``sweep_final.json`` artifacts listing run ids and sample replies), each trial's nested
run (settings as params, ``eval/*`` metrics on the selection split) and each final variant's nested run (``eval/*`` on
the test split).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from empo_kedro.errors import UserFacingError
from empo_kedro.tracking import sweep_schema
from empo_kedro.tracking.hooks import DATA_ROOT_TAG

logger = logging.getLogger(__name__)

TRIALS_ARTIFACT = "sweep_trials.json"
FINAL_ARTIFACT = "sweep_final.json"
FINAL_DONE_FILTER = f"tags.`{sweep_schema.FINAL_DONE}` = 'true' and attributes.status = 'FINISHED'"


class ResultsError(UserFacingError, RuntimeError):
    """No finished sweep run to report, or one that lacks what the report needs."""


@dataclass
class SweepRecord:
    """Everything the results document shows, as plain values (no MLflow objects): what :func:`load_sweep_record`
    reads, and what a test can write by hand."""

    run_id: str
    experiment: str
    tracking_uri: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    trials: pd.DataFrame
    varied: list[str]
    final: dict[str, dict[str, float]]
    final_tags: dict[str, dict[str, str]]
    cis: pd.DataFrame
    final_artifact: dict
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    missing_trial_runs: list[str] = field(default_factory=list)
    # The length and seed checks: kind (length_adjusted | seeds | lc_win_rate), contrast, metric, diff, low, high,
    # raw_diff, win_rate.
    checks: pd.DataFrame = field(default_factory=lambda: _checks_from_metrics({}))

    @property
    def session_seconds(self) -> float | None:
        """Wall time of the parent run's last session (None while unknown)."""
        if self.end_time_ms and self.start_time_ms:
            return (self.end_time_ms - self.start_time_ms) / 1000
        return None


def find_sweep_run(client: mlflow.MlflowClient, run_id: str | None, data_root: str | None = None) -> Run:
    """The given run, or the newest finished sweep run with a final comparison in any experiment whose outputs went
    to ``data_root`` (its ``data_root`` tag: the environment's output root), so one environment's report never
    shows another's sweep; ``data_root`` None takes any."""
    if run_id:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            raise ResultsError(f"No MLflow run '{run_id}' in {mlflow.get_tracking_uri()}") from None
        if run.data.tags.get(sweep_schema.FINAL_DONE) != "true":
            raise ResultsError(f"MLflow run '{run_id}' is not a finished sweep (no final comparison logged)")
        return run
    experiments = [e.experiment_id for e in client.search_experiments()]
    query = FINAL_DONE_FILTER + (f" and tags.`{DATA_ROOT_TAG}` = '{data_root}'" if data_root else "")
    runs = (
        client.search_runs(experiments, query, order_by=["attributes.start_time DESC"], max_results=1)
        if experiments
        else []
    )
    if not runs:
        others = (
            client.search_runs(experiments, FINAL_DONE_FILTER, order_by=["attributes.start_time DESC"], max_results=5)
            if experiments
            else []
        )
        found = "; ".join(
            f"{run.info.run_id} ({DATA_ROOT_TAG}={run.data.tags.get(DATA_ROOT_TAG, 'not recorded')})" for run in others
        )
        raise ResultsError(
            f"No finished sweep run with outputs under '{data_root}' in {mlflow.get_tracking_uri()}: run `make sweep` "
            "(kedro run --pipeline=sweep) in this environment first, or name one with "
            "--params results.sweep_run_id=<run id>" + (f" (finished sweeps of other roots: {found})" if found else "")
        )
    return runs[0]


def _artifact(client: mlflow.MlflowClient, run_id: str, name: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(run_id, name, folder)
        except (MlflowException, OSError) as error:
            raise ResultsError(f"MLflow run '{run_id}' lacks the artifact {name} ({error})") from None
        with open(path) as handle:
            return json.load(handle)


def _trial_frame(client: mlflow.MlflowClient, trials_artifact: dict) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One row per trial from its MLflow run: params (settings) and metrics; trials without a run are listed."""
    rows, missing, varied = [], [], []
    for trial in trials_artifact["trials"]:
        varied += [k for k in trial["settings"] if k not in varied]
        run_id = trial.get("mlflow_run_id")
        try:
            run = client.get_run(run_id) if run_id else None
        except MlflowException:
            run = None
        if run is None:
            missing.append(trial["trial_id"])
            continue
        rows.append(
            {
                "index": trial["index"],
                "role": trial.get("role", "trial"),
                "trial_id": trial["trial_id"],
                "run_id": run_id,
                "strategy": run.data.params.get("strategy", trial["strategy"]),
                **run.data.params,
                **run.data.metrics,
            }
        )
    return pd.DataFrame(rows), varied, missing


def _cis_from_metrics(metrics: Mapping[str, float]) -> pd.DataFrame:
    """``final/<contrast>/<metric>/<bound>`` parent metrics back into a table."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for name, value in metrics.items():
        parts = name.split("/")
        if parts[0] != "final" or len(parts) != 4:
            continue
        rows.setdefault((parts[1], parts[2]), {})[parts[3]] = value
    return pd.DataFrame(
        [
            {"contrast": c, "metric": m, **bounds}
            for (c, m), bounds in rows.items()
            if {"diff", "low", "high"} <= set(bounds)
        ]
    )


def _checks_from_metrics(metrics: Mapping[str, float]) -> pd.DataFrame:
    """``final_<kind>/<contrast>/<metric>/<bound>`` parent metrics (length and seed checks) back into a table."""
    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    for name, value in metrics.items():
        parts = name.split("/")
        if not parts[0].startswith("final_") or len(parts) != 4:
            continue
        rows.setdefault((parts[0].removeprefix("final_"), parts[1], parts[2]), {})[parts[3]] = value
    frame = pd.DataFrame(
        [
            {"kind": k, "contrast": c, "metric": m, **bounds}
            for (k, c, m), bounds in rows.items()
            if {"diff", "low", "high"} <= set(bounds)
        ]
    )
    for column in ("kind", "contrast", "metric", "diff", "low", "high", "raw_diff", "win_rate"):
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object if column in ("kind", "contrast", "metric") else float)
    return frame


def load_sweep_record(
    run_id: str | None = None, client: mlflow.MlflowClient | None = None, data_root: str | None = None
) -> SweepRecord:
    """Read a finished sweep back from MLflow (the newest one of ``data_root`` when ``run_id`` is None)."""
    client = client or mlflow.MlflowClient()
    parent = find_sweep_run(client, run_id, data_root)
    trials, varied, missing = _trial_frame(client, _artifact(client, parent.info.run_id, TRIALS_ARTIFACT))
    if missing:
        logger.warning(
            "Results: %d trial(s) have no MLflow run in this store and are left out: %s", len(missing), missing
        )
    final_artifact = _artifact(client, parent.info.run_id, FINAL_ARTIFACT)
    final, final_tags = {}, {}
    for key, value in sorted(parent.data.tags.items()):
        if key.startswith(sweep_schema.FINAL_RUN_PREFIX):
            run = client.get_run(value)
            variant = key.removeprefix(sweep_schema.FINAL_RUN_PREFIX)
            final[variant] = {k.removeprefix("eval/"): v for k, v in run.data.metrics.items()}
            final_tags[variant] = run.data.tags
    order = list(final_artifact.get("variants", {}))
    final = {v: final[v] for v in sorted(final, key=lambda v: order.index(v) if v in order else len(order))}
    return SweepRecord(
        run_id=parent.info.run_id,
        experiment=client.get_experiment(parent.info.experiment_id).name,
        tracking_uri=mlflow.get_tracking_uri(),
        tags=dict(parent.data.tags),
        metrics=dict(parent.data.metrics),
        params=dict(parent.data.params),
        trials=trials,
        varied=varied,
        final=final,
        final_tags=final_tags,
        cis=_cis_from_metrics(parent.data.metrics),
        final_artifact=final_artifact,
        start_time_ms=parent.info.start_time,
        end_time_ms=parent.info.end_time,
        missing_trial_runs=missing,
        checks=_checks_from_metrics(parent.data.metrics),
    )
