"""Trainer callbacks: per-step metrics into the active MLflow run, under a pipeline prefix."""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import mlflow
import torch
from transformers import TrainerCallback

from empo_kedro.tracking.server import TrackingServerLost

logger = logging.getLogger(__name__)


class MlflowStepMetrics(TrainerCallback):
    """Logs every number a trainer reports (loss, learning rate, DPO rewards...) as ``<prefix>/<name>`` histories.

    We log into kedro-mlflow's run instead of using transformers' MLflowCallback, which would start its own run and
    log TrainingArguments as params that clash between the SFT and DPO steps of one ``kedro run``.

    When the tracking store stops answering (MLflow has already retried), training is not lost: the trainer saves a
    checkpoint at this step and stops, and :attr:`stop_error` says so (``train_resumably`` raises it); the rerun
    resumes from that checkpoint.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.stop_error: TrackingServerLost | None = None

    def _as_metrics(self, logs: Mapping[str, Any]) -> dict[str, float]:
        return {
            f"{self.prefix}/{name}".replace("@", "_at_"): float(value)
            for name, value in logs.items()
            if isinstance(value, numbers.Number) and not isinstance(value, bool) and name != "step"
        }

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero or mlflow.active_run() is None or self.stop_error:
            return
        metrics = self._as_metrics(logs)
        if not metrics:
            return
        try:
            mlflow.log_metrics(metrics, step=state.global_step)
        except Exception as error:  # noqa: BLE001 (MlflowException, requests' errors: the store is gone)
            self.stop_error = TrackingServerLost(
                f"MLflow tracking at {mlflow.get_tracking_uri()} stopped answering at {self.prefix.upper()} step "
                f"{state.global_step} ({type(error).__name__}: {str(error)[:300]}). Training stopped after saving "
                f"checkpoint-{state.global_step} in {args.output_dir}, so nothing trained is lost: bring the server "
                f"back and run the same command again. It resumes from that checkpoint in a new MLflow run tagged "
                f"empo.resumed_from_run={mlflow.active_run().info.run_id}."
            )
            logger.error("%s", self.stop_error)
            control.should_save = True
            control.should_training_stop = True

    def replay(self, log_history: Iterable[Mapping[str, Any]]) -> None:
        """Log a resumed checkpoint's earlier history into the active run, so that its curves start at step 1."""
        for entry in log_history:
            metrics = self._as_metrics(entry)
            if metrics and "step" in entry:
                mlflow.log_metrics(metrics, step=int(entry["step"]))


class MlflowSampleReplies(TrainerCallback):
    """At every evaluation, greedy replies of the policy to a few held-out prompts as an MLflow table per step.

    What TRL's ``LogCompletionsCallback`` does for W&B and Comet only: the replies show how DPO moves the model
    step by step (``<prefix>_samples/step_<N>.json`` in the run's artifacts).
    """

    def __init__(
        self, tokenizer, prompts: list[list[dict]], references: list[str], generation: dict, prefix: str = "dpo"
    ) -> None:
        self.tokenizer, self.prompts, self.references = tokenizer, prompts, references
        self.generation, self.prefix = dict(generation), prefix

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if not self.prompts or model is None or not state.is_world_process_zero or mlflow.active_run() is None:
            return
        from empo_kedro.evaluation.generation import generate_replies
        from empo_kedro.tracking.reply_tables import log_reply_table, sample_reply_table

        was_training = model.training
        model.eval()
        padding_side = self.tokenizer.padding_side
        # The trainer computes under autocast when bf16/fp16 is on (frozen weights may be bf16, adapters fp32):
        # generation outside the training step needs the same, or the matmuls see mixed dtypes.
        half = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None
        device_type = next(model.parameters()).device.type
        try:
            with torch.autocast(device_type, dtype=half) if half is not None else contextlib.nullcontext():
                replies = generate_replies(
                    model,
                    self.tokenizer,
                    self.prompts,
                    self.generation,
                    len(self.prompts),
                    args.seed,
                    desc=f"{self.prefix} samples",
                )
        finally:
            self.tokenizer.padding_side = padding_side
            model.train(was_training)
        table = sample_reply_table(self.prompts, replies, self.references, state.global_step)
        try:
            log_reply_table(table, f"{self.prefix}_samples/step_{state.global_step:05d}.json")
        except Exception as error:  # noqa: BLE001 (the store is gone: MlflowStepMetrics checkpoints and stops)
            logger.warning(
                "Sample replies of %s step %d not logged: %s: %s",
                self.prefix.upper(),
                state.global_step,
                type(error).__name__,
                str(error)[:300],
            )
