"""MLflow side of a sweep: one nested run per trial, tags naming the best trial on the parent (kedro-mlflow's run),
and one nested run per variant of the final test-split comparison, with CIs as parent metrics.

Names that the results document reads back (``empo_kedro.tracking.sweep_results``), defined in
:mod:`empo_kedro.tracking.sweep_schema`:

- parent tags ``sweep.id``, ``sweep.best_trial``, ``sweep.best_run_id``, ``sweep.best.<setting>``,
  ``sweep.selection_metric``, ``sweep.final_done``, ``machine.*``; parent metrics ``sweep/*`` and
  ``final/<tuned>-<reference>/<metric>/{diff,low,high,p_value}`` (the latter computed from the CIs table);
- trial runs: tag ``sweep.role`` = ``trial`` | ``ablation``, ``sweep.trial_id``, ``split``; params = the trial's
  settings; metrics ``eval/*`` on the selection split, ``train/*``, ``trial/*``, and the trainer's ``dpo/*`` curves;
- final runs: tag ``sweep.role`` = ``final``, ``variant``, ``split``; metrics ``eval/*`` on the test split.

Without an active run (tracking disabled) every function does nothing and returns None.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from empo_kedro.tracking import sweep_schema
from empo_kedro.tracking.reply_tables import log_reply_table
from empo_kedro.tracking.sweep_schema import ROLE_FINAL, ci_metric_name

logger = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }


def _params(settings: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v)[:MAX_PARAM_LENGTH] for k, v in settings.items()}


def parent_run_id() -> str | None:
    run = mlflow.active_run()
    return run.info.run_id if run else None


def run_exists(run_id: str | None) -> bool:
    """Whether a run id is known to the current tracking store (a trial may have been logged elsewhere)."""
    if not run_id:
        return False
    try:
        mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        return False
    return True


@contextlib.contextmanager
def trial_run(name: str, tags: Mapping[str, str], settings: Mapping[str, Any]) -> Iterator[str | None]:
    """A nested run for one trial, active while the trial trains (so the trainer's curves land in it)."""
    if mlflow.active_run() is None:
        yield None
        return
    with mlflow.start_run(run_name=name, nested=True) as run:
        mlflow.set_tags(dict(tags))
        mlflow.log_params(_params(settings))
        yield run.info.run_id


def log_trial_metrics(metrics: Mapping[str, Any]) -> None:
    if mlflow.active_run() is not None:
        mlflow.log_metrics(_finite(metrics))


def relog_trial(
    name: str, tags: Mapping[str, str], settings: Mapping[str, Any], metrics: Mapping[str, Any]
) -> str | None:
    """Log a finished trial whose run this tracking store does not hold (its result came from the sweep folder)."""
    with trial_run(name, {**tags, sweep_schema.RELOGGED: "true"}, settings) as run_id:
        log_trial_metrics(metrics)
    return run_id


def tag_parent(tags: Mapping[str, Any], metrics: Mapping[str, Any] | None = None) -> None:
    """Tags (and metrics) on the sweep's own run, kedro-mlflow's run of this session."""
    if mlflow.active_run() is None:
        return
    mlflow.set_tags({k: str(v)[:MAX_PARAM_LENGTH] for k, v in tags.items()})
    if metrics:
        mlflow.log_metrics(_finite(metrics))


def log_selection(selection: Mapping[str, Any], best: Mapping[str, Any]) -> None:
    """Name the best trial, its run and settings, and the selection rule on the parent run."""
    tags = {
        sweep_schema.BEST_TRIAL: selection["best_trial"],
        sweep_schema.BEST_RUN_ID: best.get("mlflow_run_id") or "",
        sweep_schema.SELECTION_METRIC: selection["metric"],
        sweep_schema.SELECTION_GOAL: selection["goal"],
        sweep_schema.SELECTION_SPLIT: selection.get("split", ""),
        sweep_schema.GUARDS_PASSED: str(selection["guards_passed"]).lower(),
        sweep_schema.BEST_SETTING_PREFIX + sweep_schema.STRATEGY: best["strategy"],
        **{sweep_schema.BEST_SETTING_PREFIX + key: value for key, value in best["settings"].items()},
    }
    metrics = {
        sweep_schema.BEST_METRIC_PREFIX + name.removeprefix("eval/"): value
        for name, value in best["metrics"].items()
        if name.startswith("eval/")
    }
    tag_parent(tags, {**metrics, sweep_schema.N_PASSING_GUARDS: selection["n_passing"]})


def log_final_runs(
    table: pd.DataFrame,
    cis: pd.DataFrame,
    variant_tags: Mapping[str, Mapping[str, str]],
    common_tags: Mapping[str, str],
    replies: pd.DataFrame | None = None,
) -> dict[str, str]:
    """One nested run per test-split variant (``eval/*``, its replies as an MLflow table when given), and the CIs
    as parent metrics; returns run ids."""
    if mlflow.active_run() is None:
        return {}
    run_ids = {}
    for variant, row in table.iterrows():
        with mlflow.start_run(run_name=f"final-{variant}", nested=True) as run:
            mlflow.set_tags(
                {
                    **common_tags,
                    **variant_tags.get(str(variant), {}),
                    sweep_schema.VARIANT: str(variant),
                    sweep_schema.ROLE: ROLE_FINAL,
                }
            )
            mlflow.log_metrics(_finite({f"eval/{k}": v for k, v in row.items()}))
            if replies is not None and (replies["variant"] == variant).any():  # the reference row has no replies
                log_reply_table(replies.loc[replies["variant"] == variant].drop(columns="variant"))
            run_ids[str(variant)] = run.info.run_id
    ci_metrics = {}
    for row in cis.itertuples(index=False):
        for bound in ("diff", "low", "high"):
            ci_metrics[ci_metric_name(row.contrast, row.metric, bound)] = getattr(row, bound)
    mlflow.log_metrics(_finite(ci_metrics))
    mlflow.set_tags({sweep_schema.FINAL_RUN_PREFIX + variant: run_id for variant, run_id in run_ids.items()})
    return run_ids


def check_metric_name(kind: str, contrast: str, metric: str, bound: str) -> str:
    """``final_<kind>/<tuned>-<reference>/<metric>/<bound>``: a length or seed check's bound on the parent run."""
    return f"final_{kind}/{contrast}/{metric}/{bound}"


def log_final_checks(
    robust: pd.DataFrame, seeds: pd.DataFrame, scorer_report: Mapping[str, Any], classifier_report: Mapping[str, Any]
) -> None:
    """On the parent run: the length and seed checks (``final_<kind>/...``, with ``raw_diff`` / ``win_rate`` where
    they apply), the mean and sd across seeds (``seeds/<variant>/<metric>/{mean,sd}``, ``seeds/<variant>/n``), the
    EPITOME scorer's held-out figures (``scorer/<mechanism>/<accuracy|macro_f1>`` and ``.../published_...``) and the
    emotion classifier's (``emotion_classifier/<name>``)."""
    if mlflow.active_run() is None:
        return
    metrics: dict[str, Any] = {}
    for row in robust.to_dict("records"):
        for bound in ("diff", "low", "high", "raw_diff", "win_rate", "n", "n_left_out"):
            if bound in row:
                metrics[check_metric_name(row["kind"], row["contrast"], row["metric"], bound)] = row[bound]
    for row in seeds.to_dict("records"):
        metrics[f"seeds/{row['group']}/n"] = row["n_seeds"]
        for name, value in row.items():
            for stat in ("mean", "sd"):
                if name.endswith(f"_{stat}"):
                    metrics[f"seeds/{row['group']}/{name.removesuffix(f'_{stat}')}/{stat}"] = value
    for mechanism, values in (scorer_report or {}).get("heldout_test", {}).items():
        for name, value in values.items():
            metrics[f"scorer/{mechanism}/{name}"] = value
    for mechanism, values in (scorer_report or {}).get("published", {}).items():
        for name, value in values.items():
            metrics[f"scorer/{mechanism}/published_{name}"] = value
    for name, value in (classifier_report or {}).items():
        if isinstance(value, (int, float)):
            metrics[f"emotion_classifier/{name}"] = value
    mlflow.log_metrics(_finite(metrics))
