"""Trainer callbacks: per-step metrics into the active MLflow run, under a pipeline prefix."""

from __future__ import annotations

import numbers

import mlflow
from transformers import TrainerCallback


class MlflowStepMetrics(TrainerCallback):
    """Logs every number a trainer reports (loss, learning rate, DPO rewards...) as ``<prefix>/<name>`` histories.

    We log into kedro-mlflow's run instead of using transformers' MLflowCallback, which would start its own run and
    log TrainingArguments as params that clash between the SFT and DPO steps of one ``kedro run``.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero or mlflow.active_run() is None:
            return
        metrics = {
            f"{self.prefix}/{name}".replace("@", "_at_"): float(value)
            for name, value in logs.items()
            if isinstance(value, numbers.Number) and not isinstance(value, bool)
        }
        if metrics:
            mlflow.log_metrics(metrics, step=state.global_step)


class MlflowSampleReplies(TrainerCallback):
    """At every evaluation, greedy replies of the policy to a few held-out prompts as an MLflow table per step.

    What TRL's ``LogCompletionsCallback`` does for W&B and Comet only: the replies show how DPO moves the model
    step by step (``<prefix>_samples/step_<N>.json`` in the run's artifacts).
    """

    def __init__(self, tokenizer, prompts: list[list[dict]], references: list[str], generation: dict,
                 prefix: str = "dpo") -> None:
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
        try:
            replies = generate_replies(model, self.tokenizer, self.prompts, self.generation, len(self.prompts),
                                       args.seed, desc=f"{self.prefix} samples")
        finally:
            self.tokenizer.padding_side = padding_side
            model.train(was_training)
        table = sample_reply_table(self.prompts, replies, self.references, state.global_step)
        log_reply_table(table, f"{self.prefix}_samples/step_{state.global_step:05d}.json")
