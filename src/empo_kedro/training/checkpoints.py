"""Resumable training: trainer checkpoints in ``output_dir``, reused only by the configuration that wrote them.

The trainers save ``checkpoint-N`` folders every ``training.save_steps`` steps. A run that is killed leaves them
behind; the next run with the same parameters, training data and parent models resumes from the newest complete
one instead of starting over. ``empo_resume_key.json`` in ``output_dir`` records which configuration the
checkpoints belong to: checkpoints of any other configuration (or of an unknown one) are removed first, so a
resumed run never mixes two configurations. Once training has finished the checkpoints are removed: the adapter
dataset holds the result, and running again trains again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import Dataset
from transformers import Trainer
from transformers.trainer_utils import TrainOutput

from empo_kedro.distributed import is_main_process, wait_for_everyone, world_size
from empo_kedro.io.atomic import file_sha256
from empo_kedro.io.disk_space import DiskFullError, free_space, is_disk_full
from empo_kedro.tracking.resumed_runs import active_run_id, link_resumed_run
from empo_kedro.training.config import TrainingConfigError

logger = logging.getLogger(__name__)

RESUME_KEY_FILE = "empo_resume_key.json"
TRAINER_STATE_FILE = "trainer_state.json"
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
# Training keys that do not change the weights a run produces: changing them keeps the checkpoints usable.
KEYS_NOT_IN_RESUME_KEY = frozenset(
    {
        "save_strategy",
        "save_steps",
        "save_total_limit",
        "logging_steps",
        "logging_first_step",
        "dataloader_num_workers",
        "per_device_eval_batch_size",
        "eval_strategy",
        "eval_steps",
    }
)


def model_lineage(base_fingerprint: str | None, adapter_weights: Iterable[Path | str]) -> dict[str, Any]:
    """What a training run starts from: the base model's fingerprint and the digests of merged parent adapters."""
    return {"base_model": base_fingerprint, "parent_adapters": [file_sha256(path) for path in adapter_weights]}


def dataset_digest(dataset: Dataset) -> str:
    """sha256 of a (tokenized) training set's Arrow table: rows, order and features."""
    if dataset._indices is not None:  # a select/shuffle view: hash the rows it shows, in its order
        dataset = dataset.flatten_indices()
    sink = io.BytesIO()
    table = dataset.data.table.combine_chunks()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def resume_key(params: Mapping[str, Any], seed: int, train_dataset: Dataset) -> str:
    """Identifies a training configuration: parameters (incl. lineage), seed, number of processes and the data."""
    training = {k: v for k, v in dict(params.get("training", {})).items() if k not in KEYS_NOT_IN_RESUME_KEY}
    relevant = {k: v for k, v in params.items() if k not in ("training", "output_dir", "device", "sample_replies")}
    payload = json.dumps(
        {
            "params": relevant,
            "training": training,
            "seed": seed,
            "world_size": world_size(),
            "train_data": dataset_digest(train_dataset),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def checkpoint_step(path: Path) -> int | None:
    match = CHECKPOINT_NAME.match(path.name)
    return int(match.group(1)) if match and path.is_dir() else None


def is_complete_checkpoint(path: Path) -> bool:
    """The trainer writes ``trainer_state.json`` last: a checkpoint is complete when it parses, names the folder's
    step, and weights are present."""
    try:
        state = json.loads((path / TRAINER_STATE_FILE).read_text())
    except (OSError, ValueError):
        return False
    has_weights = any(path.glob("*.safetensors")) or (path / "latest").is_file()  # latest: DeepSpeed's tag file
    return state.get("global_step") == checkpoint_step(path) and has_weights


def checkpoints_in(output_dir: Path) -> list[Path]:
    """``checkpoint-N`` folders, oldest first."""
    if not output_dir.is_dir():
        return []
    found = [(step, path) for path in output_dir.iterdir() if (step := checkpoint_step(path)) is not None]
    return [path for _, path in sorted(found)]


def _recorded(output_dir: Path) -> dict:
    """What ``empo_resume_key.json`` records: the configuration's key and the MLflow run that trained."""
    try:
        recorded = json.loads((output_dir / RESUME_KEY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def prepare_resume(output_dir: Path, key: str, label: str) -> Path | None:
    """Clear checkpoints that belong to another configuration or are incomplete; return the newest usable one."""
    if is_main_process():
        checkpoints = checkpoints_in(output_dir)
        recorded = _recorded(output_dir).get("resume_key")
        if checkpoints and recorded != key:
            logger.warning(
                "%s: removing %d checkpoint(s) in %s: they were written by %s",
                label,
                len(checkpoints),
                output_dir,
                "a different configuration" if recorded else "an unknown configuration",
            )
            _remove(checkpoints)
        incomplete = [path for path in checkpoints_in(output_dir) if not is_complete_checkpoint(path)]
        if incomplete:
            logger.warning(
                "%s: removing incomplete checkpoint(s) %s (interrupted while saving)",
                label,
                [path.name for path in incomplete],
            )
            _remove(incomplete)
        output_dir.mkdir(parents=True, exist_ok=True)
        temporary = output_dir / f".{RESUME_KEY_FILE}.tmp"
        temporary.write_text(json.dumps({"resume_key": key, "mlflow_run_id": active_run_id()}))
        temporary.replace(output_dir / RESUME_KEY_FILE)
    wait_for_everyone()
    usable = checkpoints_in(output_dir)
    return usable[-1] if usable else None


def clear_checkpoints(output_dir: Path) -> None:
    """After a finished run: the adapter is the result, the checkpoints only cost disk."""
    if is_main_process():
        _remove(checkpoints_in(output_dir))
        (output_dir / RESUME_KEY_FILE).unlink(missing_ok=True)
    wait_for_everyone()


def check_weights_are_whole(trainer: Trainer, label: str) -> None:
    """Process 0 writes the adapter from its own copy of the model: refuse set-ups that shard the weights."""
    deepspeed = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    if getattr(trainer, "is_fsdp_enabled", False) or (deepspeed is not None and deepspeed.zero_stage == 3):
        raise TrainingConfigError(
            f"{label}: FSDP and DeepSpeed ZeRO-3 shard the weights, and the adapter is written by process 0 from its "
            "own copy; use conf/accelerate/multi_gpu_ddp.yaml or deepspeed_zero2.yaml"
        )


def train_resumably(trainer: Trainer, key: str, label: str) -> TrainOutput:
    """``trainer.train()``, resumed from the newest checkpoint of the same configuration when one exists."""
    check_weights_are_whole(trainer, label)
    output_dir = Path(trainer.args.output_dir)
    trained_by = _recorded(output_dir).get("mlflow_run_id")
    checkpoint = prepare_resume(output_dir, key, label)
    if checkpoint is not None and is_main_process():
        _continue_tracked_run(trainer, checkpoint, trained_by)
    every = f"every {trainer.args.save_steps} steps" if trainer.args.save_strategy == "steps" else "none"
    start = f"resuming from {checkpoint.name}" if checkpoint is not None else "starting from step 0"
    logger.info(
        "%s: %s on %d process(es); checkpoints (%s) in %s", label, start, trainer.args.world_size, every, output_dir
    )
    try:
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException as error:
        if not is_disk_full(error):
            raise
        raise _disk_full_while_checkpointing(output_dir, label) from error
    stop = next((cb.stop_error for cb in trainer.callback_handler.callbacks if getattr(cb, "stop_error", None)), None)
    if stop is not None:  # stopped on purpose (the tracking server went away) after saving a checkpoint: keep it
        raise stop
    clear_checkpoints(output_dir)
    return result


def _continue_tracked_run(trainer: Trainer, checkpoint: Path, trained_by: str | None) -> None:
    """Resuming in a new MLflow run: link it to the run that wrote the checkpoints and log the checkpoint's metric
    history into it, so that the new run holds the whole training curve."""
    if trained_by is None or active_run_id() in (None, trained_by):
        return
    link_resumed_run(trained_by, checkpoint.name)
    history = json.loads((checkpoint / TRAINER_STATE_FILE).read_text()).get("log_history", [])
    for callback in trainer.callback_handler.callbacks:
        if hasattr(callback, "replay"):
            callback.replay(history)


def _disk_full_while_checkpointing(output_dir: Path, label: str) -> DiskFullError:
    """Remove the checkpoint the full disk cut short (the complete ones stay to resume from) and say where."""
    checkpoints = checkpoints_in(output_dir)
    incomplete = [path for path in checkpoints if not is_complete_checkpoint(path)] if is_main_process() else []
    _remove(incomplete)
    complete = [path.name for path in checkpoints if path not in incomplete]
    where = incomplete[-1] if incomplete else output_dir
    resume = f"it resumes from {complete[-1]}" if complete else "it starts again from step 0"
    return DiskFullError(
        f"{label}: no space left on the device while writing {where} ({free_space(output_dir)} there); the "
        f"unfinished checkpoint was removed{f' (kept: {complete})' if complete else ''}. Free some space and run the "
        f"same command again: {resume}."
    )
