"""LoRA supervised fine-tuning on ED conversations, with the loss on listener (assistant) turns only."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from datasets import Dataset
from peft import get_peft_model
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback
from trl import SFTConfig, SFTTrainer

from empo_kedro.data.dialogues import as_turns
from empo_kedro.training.callbacks import MlflowStepMetrics
from empo_kedro.training.checkpoints import resume_key, train_resumably
from empo_kedro.training.config import (
    TrainingConfigError,
    make_trainer_config,
    resolve_device,
    validate_lora,
)
from empo_kedro.training.modeling import count_parameters, lora_config
from empo_kedro.training.precision import resolve_training_block
from empo_kedro.training.speed import (
    cast_frozen_weights,
    frozen_dtype_of,
    speed_context,
)

logger = logging.getLogger(__name__)


def conversations_dataset(conversations: pd.DataFrame, split: str, limit: int | None, seed: int) -> Dataset:
    """The ``messages`` of one split as a TRL conversational dataset (optionally a seeded subsample)."""
    rows = conversations.loc[conversations["split"] == split]
    if limit is not None and len(rows) > limit:
        rows = rows.sample(n=limit, random_state=seed)
    return Dataset.from_list([{"messages": as_turns(messages)} for messages in rows["messages"]])


def build_sft_trainer(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: pd.DataFrame,
    params: Mapping[str, Any],
    seed: int,
    output_dir: Path,
) -> SFTTrainer:
    """An SFT trainer over a fresh LoRA adapter, with the loss masked to assistant turns."""
    validate_lora(params["lora"], "sft")
    train = conversations_dataset(conversations, params["train_split"], params.get("max_train_conversations"), seed)
    evaluation = conversations_dataset(conversations, params["eval_split"], params.get("max_eval_conversations"), seed)
    if len(train) == 0:
        raise ValueError(f"No SFT conversations in split '{params['train_split']}'")
    device = resolve_device(params.get("device", "auto"))
    config = make_trainer_config(
        SFTConfig,
        resolve_training_block(params["training"], device),
        "sft",
        output_dir=str(output_dir),
        seed=seed,
        report_to=[],
        use_cpu=device == "cpu",
        assistant_only_loss=True,
    )
    peft_model = get_peft_model(cast_frozen_weights(model, frozen_dtype_of(params)), lora_config(params["lora"]))
    counts = count_parameters(peft_model)
    logger.info(
        "SFT: %d train / %d eval conversations, %d trainable of %d parameters",
        len(train),
        len(evaluation),
        counts["trainable"],
        counts["total"],
    )
    trainer = SFTTrainer(
        model=peft_model,
        args=config,
        train_dataset=train,
        eval_dataset=evaluation if len(evaluation) else None,
        processing_class=tokenizer,
        callbacks=[MlflowStepMetrics("sft")],
    )
    check_truncation_kept_conversations(trainer, {"train": len(train), "eval": len(evaluation)}, config.max_length)
    return trainer


def check_truncation_kept_conversations(
    trainer: SFTTrainer, counts: Mapping[str, int], max_length: int | None
) -> None:
    """TRL drops the conversations whose assistant tokens all lie beyond ``max_length``: log how many, and refuse a
    split left empty (else torch fails later with ``num_samples=0``). A base model whose tokenizer needs more tokens
    per word than SmolLM2's meets this first."""
    for split, before in counts.items():
        dataset = trainer.train_dataset if split == "train" else trainer.eval_dataset
        if dataset is None or not before:
            continue
        if len(dataset) < before:
            logger.warning(
                "SFT: %d of %d %s conversations dropped: no assistant token within sft.training.max_length=%s",
                before - len(dataset),
                before,
                split,
                max_length,
            )
        if len(dataset) == 0:
            raise TrainingConfigError(
                f"sft.training.max_length={max_length} cuts every one of the {before} {split} conversations before "
                "its first assistant reply: raise it (this base model's tokenizer needs more tokens per turn)"
            )


def train_sft(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: pd.DataFrame,
    params: Mapping[str, Any],
    seed: int,
    output_dir: Path,
    callbacks: Sequence[TrainerCallback] = (),
) -> tuple[Any, dict[str, float], list[dict]]:
    """Attach a fresh LoRA adapter and train it; returns the PEFT model and final metrics."""
    trainer = build_sft_trainer(model, tokenizer, conversations, params, seed, output_dir)
    for callback in callbacks:
        trainer.add_callback(callback)
    with speed_context(params):
        result = train_resumably(trainer, resume_key(params, seed, trainer.train_dataset), "SFT")
        metrics = {
            "train_loss": float(result.training_loss),
            "trainable_parameters": count_parameters(trainer.model)["trainable"],
        }
        if trainer.eval_dataset is not None:
            metrics.update({k: float(v) for k, v in trainer.evaluate().items() if isinstance(v, (int, float))})
    return trainer.model, metrics, trainer.state.log_history
