"""Stop a run at once, before anything is read or written: an input that another pipeline makes is missing (say
which pipeline to run first), or a parameter the pipeline reads is out of range."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.validation.exceptions import ParameterValidationError

import empo_kedro.pipelines
from empo_kedro.errors import UserFacingError, find_user_facing
from empo_kedro.params import ParameterError, ParamsBlock, build_blocks, typed_input

#: The evaluation node that generates replies with ``evaluation.generation.backend``.
GENERATE_NODE = "generate_replies"


class MissingUpstreamError(UserFacingError, RuntimeError):
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


def _node_alone_hint(pipeline_name: str, dataset_name: str, catalog) -> str:
    """A hint to run only the node that writes a dataset, when all its inputs are there now; else ``""``.

    Why: a small output of a long pipeline (the EPITOME scorer of `evaluation`) should not need the whole pipeline.
    """
    pipeline = importlib.import_module(f"empo_kedro.pipelines.{pipeline_name}").create_pipeline()
    node = next((n for n in pipeline.nodes if dataset_name in n.outputs), None)
    if node is None or not all(
        name.startswith("params:") or name == "parameters" or (name in catalog and catalog.exists(name))
        for name in node.inputs
    ):
        return ""
    return f" (or just the node that writes it: `kedro run --pipeline={pipeline_name} --nodes={node.name}`)"


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
                hint = (
                    f"run `kedro run --pipeline={makers[0]}` first{_node_alone_hint(makers[0], name, catalog)}"
                    if makers
                    else "it is an input: check its path"
                )
                missing.append(f"'{name}' ({catalog.get(name)._describe()}): {hint}")
        if missing:
            raise MissingUpstreamError("Missing inputs, nothing was run:\n  " + "\n  ".join(missing))


def check_parameters(read: set[str], params: Mapping[str, Any]) -> dict[str, ParamsBlock]:
    """Build the typed blocks a pipeline reads (``read`` holds names like ``dpo`` or
    ``data_engineering.preferences``) and check their ranges; each error names the parameter and its value."""
    from empo_kedro.emotions.opposites import load_emotion_map
    from empo_kedro.evaluation.epitome.params import EpitomeScorerParams
    from empo_kedro.training.config import torch_dtype, validate_dpo, validate_lora
    from empo_kedro.training.precision import validate_precision_switches

    read_blocks = {name.split(".")[0] for name in read}
    # the sweep plans its trials from the dpo and data_engineering blocks
    blocks = build_blocks(params, read_blocks | ({"dpo", "data_engineering"} if "sweep" in read_blocks else set()))
    validate_precision_switches({**params, **blocks}, read_blocks)
    if "base_model" in blocks:
        torch_dtype(blocks["base_model"].dtype)
        from empo_kedro.pipelines.sft.nodes import provision_base_model
        from empo_kedro.training.config import TrainingConfigError

        try:  # where the model comes from (source, name_or_path, pypi_package, ...): a bad spec names the key
            provision_base_model(blocks["base_model"])
        except ValueError as error:
            raise TrainingConfigError(str(error)) from error
    if "sft" in blocks:
        validate_lora(blocks["sft"].lora, "sft")
    if "dpo" in blocks:
        validate_dpo(blocks["dpo"])
    if "evaluation" in blocks:
        try:
            EpitomeScorerParams.from_mapping(blocks["evaluation"].epitome.scorer)
        except ValueError as error:
            raise ParameterError(f"evaluation.epitome.scorer: {error}") from error
    if "data_engineering" in read_blocks:
        load_emotion_map(
            blocks["data_engineering"].preferences.strategy, params["emotion_maps"], params["ed_emotion_labels"]
        )
    if "evaluation.generation" in read:  # the generation backend can run here (vllm: installed, a GPU)
        from empo_kedro.evaluation.vllm_generation import check_generation_backend

        evaluation = blocks["evaluation"]
        check_generation_backend(
            evaluation.generation, evaluation.vllm, blocks.get("base_model", params["base_model"])
        )
    if "sweep" in blocks:  # the space, the splits, and every trial's dpo block
        from empo_kedro.sweep.space import plan_trials

        for trial in plan_trials(
            blocks["sweep"], blocks["dpo"], blocks["data_engineering"].preferences.strategy, params["seed"]
        ):
            validate_dpo(trial["dpo_params"])
    return blocks


class ParameterCheck:
    """Before anything runs (nothing read, nothing written, no MLflow run): build the typed parameter blocks the
    pipeline reads, check them, and put them in the catalog in place of the YAML dicts, so every node receives them.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        read = {name.removeprefix("params:") for name in pipeline.inputs() if name.startswith("params:")}
        inputs = set(read)
        if any(node.name == GENERATE_NODE for node in pipeline.nodes):
            read.add("evaluation.generation")
        if not read:
            return
        blocks = check_parameters(read, catalog.load("parameters"))
        for name in sorted(inputs):
            if name.split(".")[0] in blocks:
                catalog.save(f"params:{name}", typed_input(blocks, name))  # its MemoryDataset deep-copies each load


def install_concise_excepthook() -> None:
    """Show a user-facing error (bad file, bad parameter, missing upstream) as its message, not a traceback.

    Set ``EMPO_TRACEBACK=1`` to see the full traceback. Other errors keep Kedro's rich traceback.
    """
    previous = sys.excepthook
    if getattr(previous, "_empo_concise", False):
        return

    def concise(exc_type, exc, tb):
        error = find_user_facing(exc)
        if error is None and isinstance(exc, ParameterValidationError):  # Kedro building a type-hinted block
            error = exc
        if error is None or os.environ.get("EMPO_TRACEBACK"):
            return previous(exc_type, exc, tb)
        sys.stderr.write(f"\nError: {error}\n(set EMPO_TRACEBACK=1 for the full traceback)\n")

    concise._empo_concise = True  # type: ignore[attr-defined]
    sys.excepthook = concise


class ConciseErrors:
    """Installs :func:`install_concise_excepthook` once Kedro has set up its own (rich) traceback handler."""

    @hook_impl
    def after_context_created(self, context) -> None:
        install_concise_excepthook()
