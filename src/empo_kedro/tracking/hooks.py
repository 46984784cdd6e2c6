"""Project hooks beside kedro-mlflow's: fail fast on an unreachable tracking server, name and tag each run,
and store the resolved configuration (and the precision each bf16 switch resolved to) with the run."""

from __future__ import annotations

import logging
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from empo_kedro.tracking.experiment import mark_model_training
from empo_kedro.tracking.server import check_tracking_server
from empo_kedro.training.precision import resolved_precision

logger = logging.getLogger(__name__)

# Parameters that name a run; looked up with dotted paths in the resolved parameters.
RUN_NAME_KEYS = {
    "base_model": "base_model.display_name",
    "strategy": "data_engineering.preferences.strategy",
    "seed": "seed",
}
# Pipelines that score something other than our own model are named after what they score.
RUN_NAME_KEYS_BY_PIPELINE = {"score_predictions": {"system": "system_name"}}
# Tags naming where a run's files went: the Kedro environment and its output root (conf/<env>/globals.yml), so a
# run in MLflow says which outputs it made and `make results` can pick the sweep of its own environment.
ENV_TAG = "env"
DATA_ROOT_TAG = "data_root"


def _lookup(params: dict, dotted: str) -> Any:
    value: Any = params
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


class EmpoTrackingHooks:
    """Hooks that complete kedro-mlflow for this project."""

    def __init__(self) -> None:
        self._catalog_config: dict = {}
        self._run_id: str | None = None
        self._output_tags: dict[str, str] = {}

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        """Check the tracking server before kedro-mlflow (and any training) touches it."""
        mlflow_config = context.config_loader["mlflow"]
        check_tracking_server(mlflow_config["server"]["mlflow_tracking_uri"])
        self._catalog_config = context.config_loader["catalog"]
        loader = context.config_loader
        self._output_tags = {
            ENV_TAG: loader.env or loader.default_run_env,
            DATA_ROOT_TAG: loader["globals"].get("data_root"),
        }

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], catalog) -> None:
        """Name the run after what it is, log the precision each bf16 switch resolved to (the parameters as the
        nodes receive them, --params included) and the resolved configuration as artifacts."""
        run = mlflow.active_run()
        self._run_id = run.info.run_id if run else None
        params = catalog.load("parameters")  # exactly what the nodes receive: environments and --params deep-merged
        precision = resolved_precision(params)
        logger.info(
            "Precision for this run: %s (%s)",
            ", ".join(
                f"{key.removeprefix('resolved.')}={value}"
                for key, value in precision.items()
                if key not in {"resolved.bf16_native", "resolved.bf16_reason"}
            ),
            precision["resolved.bf16_reason"],
        )
        if run is None:  # tracking disabled for this pipeline
            return
        mlflow.log_params(precision)
        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
        pipeline = "+".join(names)
        name_keys = RUN_NAME_KEYS_BY_PIPELINE.get(pipeline, RUN_NAME_KEYS)
        tags = {"pipeline": pipeline, **{key: _lookup(params, path) for key, path in name_keys.items()}}
        tags = {key: str(value) for key, value in tags.items() if value is not None}
        mlflow.set_tags(tags)
        mlflow.set_tags({key: str(value) for key, value in self._output_tags.items() if value})
        mark_model_training(run.info.experiment_id)
        if not run.data.tags.get("kedro_run_name_set_by_user"):
            name_parts = [
                pipeline if pipeline != "__default__" else "all",
                *(f"seed{value}" if key == "seed" else value for key, value in tags.items() if key != "pipeline"),
            ]
            mlflow.set_tag("mlflow.runName", "-".join(part for part in name_parts if part))
        mlflow.log_dict(params, "config/parameters.json")
        mlflow.log_dict(self._catalog_config, "config/catalog.json")

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        self._close_own_run()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        self._close_own_run()

    def _close_own_run(self) -> None:
        """Pop this run off MLflow's active-run stack once kedro-mlflow has finished it.

        kedro-mlflow marks the run finished but can leave it on the stack, so a second ``KedroSession`` in the same
        process (a notebook, a test, a sweep) would log into the old run.
        """
        while (active := mlflow.active_run()) is not None and active.info.run_id == self._run_id:
            status = mlflow.MlflowClient().get_run(self._run_id).info.status
            mlflow.end_run(status=status if status != "RUNNING" else "FINISHED")
        self._run_id = None
