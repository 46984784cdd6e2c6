"""Stop a run at once, with the pipeline to run first, when an input that another pipeline makes is missing."""

from __future__ import annotations

import importlib
import pkgutil

from kedro.framework.hooks import hook_impl

import empo_kedro.pipelines


class MissingUpstreamError(RuntimeError):
    """A pipeline was started before the pipeline that produces its inputs."""


def producers_of(dataset_name: str) -> list[str]:
    """Names of the project's pipelines that output a dataset."""
    # Kedro's registry holds only the pipelines requested on the command line, so build each one here.
    makers = []
    for module in pkgutil.iter_modules(empo_kedro.pipelines.__path__):
        pipeline = importlib.import_module(f"empo_kedro.pipelines.{module.name}").create_pipeline()
        if dataset_name in pipeline.all_outputs():
            makers.append(module.name)
    return sorted(makers)


class MissingInputsCheck:
    """Before anything runs (and before an MLflow run opens), check the pipeline's persisted free inputs."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        missing = []
        for name in sorted(pipeline.inputs()):
            if name.startswith("params:") or name == "parameters" or name not in catalog:
                continue
            if not catalog.exists(name):
                makers = producers_of(name)
                hint = f"run `kedro run --pipeline={makers[0]}` first" if makers else "it is an input: check its path"
                missing.append(f"'{name}' ({catalog.get(name)._describe()}): {hint}")
        if missing:
            raise MissingUpstreamError("Missing inputs, nothing was run:\n  " + "\n  ".join(missing))
