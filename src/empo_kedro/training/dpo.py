"""DPO from the SFT model, on emotion-grounded preference pairs, with the SFT model as the reference.

The SFT adapter is merged into the base weights and a fresh DPO LoRA adapter is trained on top. TRL's reference
for a PEFT model without ``ref_model`` is "the model with adapters disabled", which here is exactly the SFT model,
so no second copy of the weights is ever loaded. Epoch k trains on the k-th draw of rejected turns: the draws are
laid end to end and read in order (``train_sampling_strategy="sequential"``), each draw shuffled with the seed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from peft import get_peft_model
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback
from trl import DPOConfig, DPOTrainer

from empo_kedro.data.dialogues import as_turns
from empo_kedro.io.model_datasets import ADAPTER_WEIGHTS, AdapterHandle, LocalModel, TrainedAdapter, trained_adapter
from empo_kedro.training.callbacks import MlflowSampleReplies, MlflowStepMetrics
from empo_kedro.training.checkpoints import model_lineage, resume_key, train_resumably
from empo_kedro.training.config import (
    TrainingConfigError,
    make_trainer_config,
    resolve_device,
    validate_dpo,
)
from empo_kedro.training.modeling import count_parameters, load_adapted_model, load_tokenizer, lora_config
from empo_kedro.training.precision import resolve_training_block
from empo_kedro.training.prefix_sharing import enable_prompt_sharing
from empo_kedro.training.reference_cache import (
    ReferenceLogProbCache,
    attach_reference_log_probs,
    computation_settings,
    reference_key,
)
from empo_kedro.training.speed import (
    cast_frozen_weights,
    compile_decoder_layers,
    frozen_dtype_of,
    length_bucketed_order,
    speed_context,
)

logger = logging.getLogger(__name__)


def preference_records(pairs: pd.DataFrame) -> list[dict]:
    """Rows in TRL's conversational preference format (prompt messages, one assistant message each side)."""
    return [
        {
            "prompt": as_turns(row.prompt),
            "chosen": [{"role": "assistant", "content": row.chosen}],
            "rejected": [{"role": "assistant", "content": row.rejected}],
        }
        for row in pairs.itertuples(index=False)
    ]


def pair_length(row) -> int:
    """Characters of the prompt plus the longer completion: a cheap proxy for the padded length of a pair."""
    return sum(len(turn["content"]) for turn in as_turns(row.prompt)) + max(len(row.chosen), len(row.rejected))


def epoch_ordered_pairs(
    pairs: pd.DataFrame,
    split: str,
    epochs: int,
    limit: int | None,
    seed: int,
    bucket_batch_size: int | None = None,
    bucket_window_batches: int | None = None,
) -> pd.DataFrame:
    """Draws 0..epochs-1 of a split, one after the other, each shuffled; the same prompts in every epoch.

    With ``bucket_batch_size`` and ``bucket_window_batches`` set, each draw is shuffled in length buckets instead
    (see ``length_bucketed_order``), so batches of that size are padded less.
    """
    rows = pairs.loc[pairs["split"] == split]
    available = sorted(rows["epoch"].unique())
    if len(available) < epochs:
        raise TrainingConfigError(
            f"dpo.epochs is {epochs} but the preference set holds {len(available)} draws of rejected turns; "
            f"rebuild it with data_engineering.preferences.n_epochs >= {epochs} "
            "(kedro run --pipeline=data_engineering)"
        )
    prompts = rows.loc[rows["epoch"] == available[0], "conv_id"].drop_duplicates()
    if limit is not None and len(prompts) > limit:
        prompts = prompts.sample(n=limit, random_state=seed)
    keep = rows["conv_id"].isin(set(prompts))
    blocks = []
    for epoch in available[:epochs]:
        block = rows.loc[keep & (rows["epoch"] == epoch)]
        rng = np.random.default_rng([seed, int(epoch)])
        if bucket_batch_size and bucket_window_batches:
            lengths = [pair_length(row) for row in block.itertuples(index=False)]
            order = length_bucketed_order(lengths, bucket_batch_size, bucket_window_batches, rng)
        else:
            order = rng.permutation(len(block))
        blocks.append(block.iloc[order])
    return pd.concat(blocks, ignore_index=True)


def heldout_pairs(pairs: pd.DataFrame, split: str, limit: int | None, seed: int) -> pd.DataFrame:
    """The first draw of a held-out split, for the implicit reward margin against the SFT reference."""
    rows = pairs.loc[(pairs["split"] == split) & (pairs["epoch"] == pairs["epoch"].min())]
    if limit is not None and len(rows) > limit:
        rows = rows.sample(n=limit, random_state=seed)
    return rows


def build_dpo_trainer(
    sft_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_pairs: pd.DataFrame,
    eval_pairs: pd.DataFrame | None,
    params: Mapping[str, Any],
    seed: int,
    output_dir: Path,
) -> DPOTrainer:
    """A DPO trainer whose policy is SFT + a fresh LoRA adapter and whose reference is SFT (adapter disabled)."""
    validate_dpo(params)
    device = resolve_device(params.get("device", "auto"))
    config = make_trainer_config(
        DPOConfig,
        resolve_training_block(params["training"], device),
        "dpo",
        output_dir=str(output_dir),
        seed=seed,
        report_to=[],
        use_cpu=device == "cpu",
        num_train_epochs=1,
        train_sampling_strategy="sequential",
    )
    policy = get_peft_model(cast_frozen_weights(sft_model, frozen_dtype_of(params)), lora_config(params["lora"]))
    counts = count_parameters(policy)
    logger.info(
        "DPO: %d training pairs (%d epochs of draws), %d trainable of %d parameters",
        len(train_pairs),
        params["epochs"],
        counts["trainable"],
        counts["total"],
    )
    trainer = DPOTrainer(
        model=policy,
        ref_model=None,
        args=config,
        train_dataset=Dataset.from_list(preference_records(train_pairs)),
        eval_dataset=Dataset.from_list(preference_records(eval_pairs))
        if eval_pairs is not None and len(eval_pairs)
        else None,
        processing_class=tokenizer,
        callbacks=[MlflowStepMetrics("dpo")],
    )
    sharing = (params.get("speed") or {}).get("prompt_sharing", "auto")
    wanted = device == "cpu" if sharing == "auto" else bool(sharing)
    trainer.prompt_sharing = wanted and enable_prompt_sharing(policy.get_base_model(), fused_outputs(trainer))
    if (params.get("speed") or {}).get("torch_compile", False):
        compile_decoder_layers(policy.get_base_model())
    return trainer


def fused_outputs(trainer: DPOTrainer) -> tuple[str, ...]:
    """The per-token fields TRL's DPO asks its fused LM head for (see ``DPOTrainer.__init__``)."""
    outputs = ("log_probs", "entropy", "mean_logits", "is_top1")
    return outputs + ("log_sum_sq_probs",) if trainer.use_weighting else outputs


def training_order(pairs: pd.DataFrame, params: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """The training pairs in the order the trainer reads them (draw after draw, length-bucketed when configured)."""
    speed = params.get("speed") or {}
    return epoch_ordered_pairs(
        pairs,
        params["train_split"],
        int(params["epochs"]),
        params.get("max_train_prompts"),
        seed,
        bucket_batch_size=int(params["training"].get("per_device_train_batch_size", 8)),
        bucket_window_batches=speed.get("length_bucket_window_batches"),
    )


def use_reference_cache(trainer: DPOTrainer, params: Mapping[str, Any]) -> dict[str, float]:
    """Reference log-probs from the on-disk cache (``dpo.reference_cache``) when enabled; returns its counts."""
    settings = params.get("reference_cache") or {}
    if not settings.get("enabled", False):
        return {}
    lineage = params.get("lineage")
    if not lineage:
        logger.warning("DPO: reference log-prob cache off for this run: the reference lineage is unknown")
        return {}
    computation = computation_settings(trainer, str(frozen_dtype_of(params)))  # resolved, not "auto"
    cache = ReferenceLogProbCache(settings["folder"], reference_key(lineage, computation))
    return attach_reference_log_probs(trainer, cache)


def sample_replies_callback(
    tokenizer: PreTrainedTokenizerBase, eval_pairs: pd.DataFrame, settings: Mapping[str, Any] | None
) -> MlflowSampleReplies:
    """Replies to the first ``n_prompts`` held-out prompts, logged at each evaluation (none when n_prompts is 0)."""
    settings = settings or {}
    rows = eval_pairs.head(int(settings.get("n_prompts", 0)))
    return MlflowSampleReplies(
        tokenizer,
        [as_turns(p) for p in rows["prompt"]],
        rows["chosen"].tolist(),
        dict(settings.get("generation") or {}),
        prefix="dpo",
    )


def train_dpo(
    sft_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: pd.DataFrame,
    params: Mapping[str, Any],
    seed: int,
    output_dir: Path,
    callbacks: Sequence[TrainerCallback] = (),
) -> tuple[Any, dict[str, float], list[dict]]:
    """Train the DPO adapter; returns the PEFT model and metrics incl. the held-out implicit reward margin."""
    train_pairs = training_order(pairs, params, seed)
    eval_pairs = heldout_pairs(pairs, params["eval_split"], params.get("max_eval_pairs"), seed)
    trainer = build_dpo_trainer(sft_model, tokenizer, train_pairs, eval_pairs, params, seed, output_dir)
    for callback in [*callbacks, sample_replies_callback(tokenizer, eval_pairs, params.get("sample_replies"))]:
        trainer.add_callback(callback)
    key = resume_key(params, seed, trainer.train_dataset)  # before cached reference columns are added
    with speed_context(params):
        cache_stats = use_reference_cache(trainer, params)
        result = train_resumably(trainer, key, "DPO")
        metrics: dict[str, float] = {
            "train_loss": float(result.training_loss),
            "train_pairs": len(train_pairs),
            **cache_stats,
        }
        if len(eval_pairs):
            heldout = trainer.evaluate(metric_key_prefix="heldout")
            metrics.update({k: float(v) for k, v in heldout.items() if isinstance(v, (int, float))})
    return trainer.model, metrics, trainer.state.log_history


def sft_lineage(base_model: LocalModel, sft_adapter: AdapterHandle) -> tuple[list[Path], dict[str, Any]]:
    """The adapters merged into the base before DPO (SFT's own parents, then SFT) and the lineage they make:
    the base model's fingerprint and the parents' weight digests (part of checkpoint and sweep trial keys)."""
    parents = [*sft_adapter.merged_parents, sft_adapter.path]
    lineage = model_lineage(base_model.provenance.get("fingerprint"), [Path(p) / ADAPTER_WEIGHTS for p in parents])
    return parents, lineage


def train_dpo_on_sft(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    pairs: pd.DataFrame,
    base_model_params: Mapping[str, Any],
    dpo_params: Mapping[str, Any],
    seed: int,
    output_dir: Path,
) -> tuple[TrainedAdapter, dict[str, float]]:
    """DPO from the SFT model: SFT merged into one copy of the base weights, a fresh LoRA adapter trained on top.

    The one DPO workflow of the project (the dpo pipeline and every sweep trial); ``output_dir`` holds the trainer's
    checkpoints, keyed by the parameters, the seed, the data and the lineage (base fingerprint, parent digests).
    Returns the adapter to save (with its lineage) and the training metrics.
    """
    torch.manual_seed(seed)
    tokenizer = load_tokenizer(sft_adapter.path, base_model_params.get("trust_remote_code", False))
    parents, lineage = sft_lineage(base_model, sft_adapter)
    sft_model = load_adapted_model(base_model.path, base_model_params, merged_parents=parents)
    params = {**dpo_params, "device": base_model_params.get("device", "auto"), "lineage": lineage}  # keys checkpoints
    peft_model, metrics, log_history = train_dpo(sft_model, tokenizer, pairs, params, seed, Path(output_dir))
    return trained_adapter("dpo", peft_model, tokenizer, base_model, parents, metrics, log_history), metrics
