"""Multi-process runs (``accelerate launch`` / ``torchrun``): every process runs the whole Kedro session and the
trainers split each batch between them, but only the main process writes shared outputs and talks to MLflow.

- ``settings.py`` disables kedro-mlflow's hooks on the other processes (:func:`plugins_disabled_on_this_process`),
  so exactly one MLflow run is opened.
- :class:`MainProcessWrites` makes every persisted output of the pipeline save on the main process only; every
  process then waits for that save, so a later node on any process loads a complete file.
- Without the launcher's environment (``WORLD_SIZE`` unset or 1) all of this does nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, MemoryDataset

logger = logging.getLogger(__name__)

# torchrun/accelerate set RANK and WORLD_SIZE; the others are MPI launchers' (accelerate's mpirun path).
RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")
WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
# Plugins whose hooks track the run or write files (kedro-viz: .viz/stats.json): only the main process keeps them.
# Kedro matches the distribution's name as installed (kedro_mlflow's metadata spells it with an underscore).
MAIN_PROCESS_ONLY_PLUGINS = ("kedro_mlflow", "kedro-mlflow", "kedro-viz", "kedro_viz")


def _first_int(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            return int(value)
    return default


def process_rank() -> int:
    """This process's global rank (0 when not launched as several processes)."""
    return _first_int(RANK_VARIABLES, 0)


def world_size() -> int:
    """How many processes the launcher started (1 when not launched as several processes)."""
    return _first_int(WORLD_SIZE_VARIABLES, 1)


def is_main_process() -> bool:
    return process_rank() == 0


def plugins_disabled_on_this_process() -> tuple[str, ...]:
    """For ``DISABLE_HOOKS_FOR_PLUGINS``: tracking plugins run on the main process only."""
    return () if is_main_process() else MAIN_PROCESS_ONLY_PLUGINS


def wait_for_everyone() -> None:
    """Block until every process reaches this point (no-op for a single process).

    Joins (or creates) accelerate's process group the way the trainers do: gloo on CPUs, NCCL on GPUs.
    """
    if world_size() <= 1:
        return
    import torch
    from accelerate import PartialState

    PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()


def save_on_main_process_only(dataset: AbstractDataset) -> None:
    """Make ``dataset.save`` write on the main process only; every process then waits for that write.

    The instance's ``save`` is replaced (not the catalog entry), so loads, ``exists`` and the catalog's
    configuration stay exactly as they were.
    """
    if getattr(dataset.save, "_main_process_only", False):
        return
    write = dataset.save

    def save(data: Any) -> None:
        if is_main_process():
            write(data)
        wait_for_everyone()

    save._main_process_only = True  # type: ignore[attr-defined]
    dataset.save = save  # type: ignore[method-assign]


class MainProcessWrites:
    """Kedro hook: under a multi-process launch, only the main process writes the pipeline's persisted outputs."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        size = world_size()
        if size <= 1:
            return
        persisted = [
            name
            for name in sorted(pipeline.all_outputs())
            if name in catalog and not isinstance(catalog.get(name), MemoryDataset)
        ]
        for name in persisted:
            save_on_main_process_only(catalog.get(name))
        logger.info(
            "Process %d of %d: %s",
            process_rank(),
            size,
            "writes the outputs and tracks the run"
            if is_main_process()
            else f"trains its share; leaves its {len(persisted)} outputs and MLflow to process 0",
        )
