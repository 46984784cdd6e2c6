"""Train the EPITOME scorer: fine-tune a shared encoder with three level heads (and the rationale tagger) on EPITOME
pairs, keep the best epoch on validation, then tune per-mechanism logit offsets.

The steps, in the order they run (the order fixes what the seed draws): check the input, split off validation, build
the model, encode the training set, optimizer parameter groups, the learning-rate schedule, epochs with early stopping
(:func:`train_one_epoch`), logit-bias tuning (:func:`tune_logit_biases`).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from torch import nn
from tqdm.auto import tqdm

from empo_kedro.evaluation.encoders import default_encoder_path
from empo_kedro.evaluation.epitome.encoding import bucketed_batches, collate, encode_pairs
from empo_kedro.evaluation.epitome.model import EpitomeModel
from empo_kedro.evaluation.epitome.params import LEVELS, NUM_LEVELS, EpitomeScorerParams, resolve_device
from empo_kedro.evaluation.epitome.scorer import EpitomeScorer
from empo_kedro.training.precision import resolve_bf16_flag

logger = logging.getLogger(__name__)

# Parameter-name endings excluded from weight decay (biases and normalisation weights).
NO_DECAY_SUFFIXES = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
# Smallest probability before the log when tuning logit offsets.
MIN_PROBABILITY = 1e-12


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _class_weights(labels: np.ndarray, power: float) -> torch.Tensor:
    counts = np.bincount(labels, minlength=NUM_LEVELS).astype(np.float64)
    weights = (len(labels) / (NUM_LEVELS * np.maximum(counts, 1.0))) ** power
    return torch.tensor(weights, dtype=torch.float32)


def _tune_logit_bias(
    log_proba: np.ndarray, y_true: np.ndarray, grid: Sequence[float], min_gain: float
) -> tuple[list[float], float, float]:
    """Offsets ``[0, b1, b2]`` maximising macro-F1 of ``argmax(log_proba + offsets)``."""

    def _f1(offsets: np.ndarray) -> float:
        pred = (log_proba + offsets).argmax(axis=1)
        return float(f1_score(y_true, pred, labels=list(LEVELS), average="macro", zero_division=0))

    base = _f1(np.zeros(NUM_LEVELS))
    best, best_f1 = [0.0, 0.0, 0.0], base
    pairs = ((float(b1), float(b2)) for b1 in grid for b2 in grid)
    candidates = sorted(pairs, key=lambda b: (abs(b[0]) + abs(b[1]), b))
    for b1, b2 in candidates:
        f1 = _f1(np.array([0.0, b1, b2]))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = [0.0, b1, b2], f1
    if best_f1 < base + float(min_gain):
        return [0.0, 0.0, 0.0], base, base
    return best, base, best_f1


def _check_pairs(df: pd.DataFrame, mechanisms: Sequence[str], name: str) -> None:
    needed = ["seeker_post", "response_post", *[f"level_{m}" for m in mechanisms]]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing} (has {list(df.columns)})")
    if len(df) == 0:
        raise ValueError(f"{name} is empty")
    for m in mechanisms:
        bad = ~df[f"level_{m}"].isin(LEVELS)
        if bad.any():
            raise ValueError(f"{name}: level_{m} has values outside {list(LEVELS)} in {int(bad.sum())} rows")


# --------------------------------------------------------------------------- steps


def check_training_pairs(pairs_df: pd.DataFrame, p: EpitomeScorerParams) -> None:
    """Stop early, naming the column, when the pairs cannot train the configured heads."""
    _check_pairs(pairs_df, p.mechanisms, "pairs_df")
    if p.uses_rationales:
        missing = [f"rationales_{m}" for m in p.mechanisms if f"rationales_{m}" not in pairs_df.columns]
        if missing:
            raise ValueError(f"pairs_df lacks {missing}; provide them or set params['rationale_loss_weight'] = 0")


def split_validation(
    pairs_df: pd.DataFrame, val_df: pd.DataFrame | None, p: EpitomeScorerParams, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation): the given validation frame, else ``val_fraction`` of the pairs grouped by seeker post."""
    if val_df is not None:
        _check_pairs(val_df, p.mechanisms, "val_df")
        return pairs_df, val_df
    from empo_kedro.data.epitome import split_pairs

    group = p.group_column if p.group_column in pairs_df.columns else None
    train_df, val_df, _ = split_pairs(
        pairs_df, val_fraction=float(p.val_fraction), test_fraction=0.0, seed=seed, group_column=group
    )
    return train_df, val_df


def build_scorer(encoder_src: str, p: EpitomeScorerParams, seed: int) -> EpitomeScorer:
    """The pretrained encoder (safetensors only) with fresh heads, embeddings frozen if asked, on its device."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(encoder_src)
    encoder = AutoModel.from_pretrained(encoder_src, use_safetensors=True).float()  # never pickled weights
    cfg = {
        "mechanisms": list(p.mechanisms),
        "max_length": int(p.max_length),
        "max_seeker_tokens": int(p.max_seeker_tokens),
        "pooling": p.pooling,
        "dropout": float(p.dropout),
        "rationale_head": p.uses_rationales,
        "bf16": resolve_bf16_flag(p.bf16, resolve_device(p.device)),
        "eval_batch_size": int(p.eval_batch_size),
        "encoder_source": encoder_src,
        "seed": int(seed),
    }
    if p.layout != "cross":  # absent means cross (scorers saved before the layout existed keep their config)
        cfg["layout"] = p.layout
    model = EpitomeModel(encoder, cfg["mechanisms"], cfg["pooling"], cfg["dropout"], p.uses_rationales, p.layout)
    if p.freeze_embeddings:
        for param in model.encoder.get_input_embeddings().parameters():
            param.requires_grad_(False)
    model.to(resolve_device(p.device))
    return EpitomeScorer(model, tokenizer, cfg)


def encode_training_set(
    scorer: EpitomeScorer, train_df: pd.DataFrame, p: EpitomeScorerParams
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Encoded training pairs (with rationale labels when that head trains) and their levels per mechanism."""
    levels = {m: train_df[f"level_{m}"].to_numpy(dtype=np.int64) for m in p.mechanisms}
    rationales = None
    if p.uses_rationales:
        rationales = {m: train_df[f"rationales_{m}"].fillna("").tolist() for m in p.mechanisms}
    items = encode_pairs(
        scorer.tokenizer,
        train_df["seeker_post"].tolist(),
        train_df["response_post"].tolist(),
        scorer.config["max_length"],
        scorer.config["max_seeker_tokens"],
        rationales=rationales,
        levels=levels,
    )
    return items, levels


def parameter_groups(model: nn.Module, p: EpitomeScorerParams) -> list[dict[str, Any]]:
    """AdamW groups: the encoder at ``learning_rate`` (no weight decay on biases and norms), the fresh heads at
    ``head_learning_rate``; frozen parameters and empty groups left out."""
    head_params = [q for n_, q in model.named_parameters() if not n_.startswith("encoder.") and q.requires_grad]
    enc_named = [(n_, q) for n_, q in model.named_parameters() if n_.startswith("encoder.") and q.requires_grad]
    groups = [
        {
            "params": [q for n_, q in enc_named if not n_.endswith(NO_DECAY_SUFFIXES)],
            "lr": float(p.learning_rate),
            "weight_decay": float(p.weight_decay),
        },
        {
            "params": [q for n_, q in enc_named if n_.endswith(NO_DECAY_SUFFIXES)],
            "lr": float(p.learning_rate),
            "weight_decay": 0.0,
        },
        {"params": head_params, "lr": float(p.head_learning_rate), "weight_decay": float(p.weight_decay)},
    ]
    return [g for g in groups if g["params"]]


def linear_warmup_then_decay(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the full rate, then linear decay to 0 at ``total_steps``.

    Not ``transformers.get_linear_schedule_with_warmup``: that one starts at a rate of 0 (``step / warmup``) where
    this one starts at ``1 / warmup``, so every trained scorer would change; both agree once warm-up is over and
    when ``warmup_steps`` is 0.
    """

    def lr_lambda(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


@dataclass
class TrainingRun:
    """What every epoch uses: the model being trained, its encoded data, losses, optimizer and schedule."""

    scorer: EpitomeScorer
    items: list[dict[str, Any]]
    levels: dict[str, np.ndarray]
    level_losses: dict[str, nn.Module]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    params: EpitomeScorerParams

    @property
    def device(self) -> torch.device:
        return self.scorer.device


def train_one_epoch(run: TrainingRun, epoch: int, rng: np.random.Generator) -> float:
    """One pass over the training set in length-bucketed batches; returns the mean training loss."""
    p, model, device = run.params, run.scorer.model, run.device
    model.train()
    batches = bucketed_batches(
        [len(it["input_ids"]) for it in run.items], int(p.batch_size), int(p.length_bucket_factor), rng
    )
    iterator: Any = tqdm(batches, desc=f"epoch {epoch}", leave=False) if p.progress_bar else batches
    pad_id = run.scorer.tokenizer.pad_token_id or 0
    rationale_loss = nn.BCEWithLogitsLoss(reduction="sum")
    loss_sum, n_batches = 0.0, 0
    for idx in iterator:
        batch = collate([run.items[i] for i in idx], pad_id)
        rat_labels = batch.pop("rationale_labels", None)
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=run.scorer.config["bf16"]):
            logits, token_logits = model(**batch)
        loss = sum(
            run.level_losses[m](logits[m], torch.as_tensor(run.levels[m][idx], device=device)) for m in p.mechanisms
        )
        if token_logits is not None and rat_labels is not None:
            rat_labels = rat_labels.to(device)
            valid = rat_labels != -100
            n_valid = valid.sum().clamp(min=1)
            rat_loss = rationale_loss(token_logits[valid], rat_labels[valid].float()) / n_valid
            loss = loss + float(p.rationale_loss_weight) * rat_loss
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if p.max_grad_norm:
            nn.utils.clip_grad_norm_(model.parameters(), float(p.max_grad_norm))
        run.optimizer.step()
        run.scheduler.step()
        loss_sum += float(loss.detach())
        n_batches += 1
    return loss_sum / max(1, n_batches)


def train_epochs(
    run: TrainingRun, val_df: pd.DataFrame, seed: int
) -> tuple[list[dict[str, Any]], int, float, dict[str, Any] | None, float]:
    """Epochs until ``epochs``, early stopping or the time budget; the best epoch's weights are loaded at the end.

    Returns (history, best epoch, best mean validation macro-F1, its validation metrics, training seconds).
    """
    p, model, mechanisms = run.params, run.scorer.model, run.params.mechanisms
    rng = np.random.default_rng(seed)
    history: list[dict[str, Any]] = []
    best_score, best_state, best_epoch, best_val = -1.0, None, 0, None
    bad_epochs = 0
    t0 = time.perf_counter()
    for epoch in range(1, int(p.epochs) + 1):
        train_loss = train_one_epoch(run, epoch, rng)
        val_metrics = run.scorer.evaluate_frame(val_df)
        score = float(np.mean([val_metrics[m]["macro_f1"] for m in mechanisms]))
        elapsed = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_macro_f1_mean": score,
                **{f"val_macro_f1_{m}": val_metrics[m]["macro_f1"] for m in mechanisms},
                **{f"val_accuracy_{m}": val_metrics[m]["accuracy"] for m in mechanisms},
                "elapsed_seconds": elapsed,
            }
        )
        logger.info(
            "epoch %d: train loss %.4f, val macro-F1 %s (mean %.3f), %.0fs",
            epoch,
            train_loss,
            " ".join(f"{m}={val_metrics[m]['macro_f1']:.3f}" for m in mechanisms),
            score,
            elapsed,
        )
        if score > best_score:
            best_score, best_epoch, best_val = score, epoch, val_metrics
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= int(p.early_stopping_patience):
                logger.info("Early stopping after epoch %d (best epoch %d)", epoch, best_epoch)
                break
        if p.max_train_seconds and elapsed > float(p.max_train_seconds):
            logger.info("Training time budget of %ss reached after epoch %d", p.max_train_seconds, epoch)
            break
    train_seconds = time.perf_counter() - t0
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history, best_epoch, best_score, best_val, train_seconds


def tune_logit_biases(scorer: EpitomeScorer, val_df: pd.DataFrame, p: EpitomeScorerParams) -> dict[str, Any]:
    """Set per-mechanism level-1/level-2 logit offsets in ``scorer.config`` from the validation split; returns the
    offsets and the validation macro-F1 before and after, per mechanism."""
    proba = scorer.predict_proba(
        val_df["seeker_post"].tolist(), val_df["response_post"].tolist(), apply_logit_bias=False
    )
    report: dict[str, Any] = {}
    for m in p.mechanisms:
        offsets, before, after = _tune_logit_bias(
            np.log(np.clip(proba[m], MIN_PROBABILITY, None)),
            val_df[f"level_{m}"].to_numpy(dtype=np.int64),
            p.logit_bias_grid,
            float(p.logit_bias_min_gain),
        )
        scorer.config["logit_bias"][m] = offsets
        report[m] = {"offsets": offsets, "val_macro_f1_before": before, "val_macro_f1_after": after}
    logger.info("Tuned logit offsets on validation: %s", report)
    return report


# --------------------------------------------------------------------------- entry point


def train_epitome_scorer(
    pairs_df: pd.DataFrame,
    encoder_name_or_path: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 42,
    val_df: pd.DataFrame | None = None,
) -> tuple[EpitomeScorer, dict[str, Any]]:
    """Fine-tune a shared encoder with three level heads on EPITOME pairs.

    Args:
        pairs_df: training pairs (``seeker_post``, ``response_post``, ``level_<m>``, and
            ``rationales_<m>`` when the rationale head is on), e.g. the train split of
            :func:`empo_kedro.data.epitome.split_pairs`.
        encoder_name_or_path: HF encoder id or directory; ``None`` = :func:`default_encoder_path`.
        params: tunables, see :class:`EpitomeScorerParams` (unknown keys are an error).
        seed: seeds the head init, dropout, batch order and the internal validation split.
        val_df: validation pairs for early stopping / model selection; if ``None``,
            ``params['val_fraction']`` of ``pairs_df`` is held out for it.

    Returns:
        ``(scorer, metrics)``; ``metrics`` has ``val`` (per-mechanism metrics of the
        selected epoch, after logit offsets), ``val_macro_f1_mean``, ``logit_bias``
        (tuned offsets and validation macro-F1 before/after, if tuned), ``best_epoch``,
        ``epochs_run``, ``train_seconds``, ``n_train``, ``n_val``, the per-epoch
        ``history`` and the resolved ``params``.
    """
    p = EpitomeScorerParams.from_mapping(params)
    check_training_pairs(pairs_df, p)
    if p.num_threads:
        torch.set_num_threads(int(p.num_threads))
    _seed_everything(seed)
    train_df, val_df = split_validation(pairs_df, val_df, p, seed)

    encoder_src = str(encoder_name_or_path) if encoder_name_or_path is not None else str(default_encoder_path())
    scorer = build_scorer(encoder_src, p, seed)
    items, levels = encode_training_set(scorer, train_df, p)
    device = scorer.device
    level_losses = {
        m: nn.CrossEntropyLoss(weight=_class_weights(levels[m], float(p.class_weight_power)).to(device))
        for m in p.mechanisms
    }
    optimizer = torch.optim.AdamW(parameter_groups(scorer.model, p))
    steps_per_epoch = math.ceil(len(items) / int(p.batch_size))
    total_steps = max(1, steps_per_epoch * int(p.epochs))
    scheduler = linear_warmup_then_decay(optimizer, int(float(p.warmup_ratio) * total_steps), total_steps)
    run = TrainingRun(scorer, items, levels, level_losses, optimizer, scheduler, p)

    logger.info(
        "Training EPITOME scorer on %d pairs (val %d), encoder %s, %d epochs max, %d steps/epoch, device %s",
        len(train_df),
        len(val_df),
        encoder_src,
        p.epochs,
        steps_per_epoch,
        device,
    )
    history, best_epoch, best_score, best_val, train_seconds = train_epochs(run, val_df, seed)
    bias_report: dict[str, Any] = {}
    if p.tune_logit_bias:
        bias_report = tune_logit_biases(scorer, val_df, p)
        best_val = scorer.evaluate_frame(val_df)
    metrics = {
        "val": best_val,
        "val_macro_f1_mean": float(np.mean([best_val[m]["macro_f1"] for m in p.mechanisms]))
        if best_val
        else best_score,
        "logit_bias": bias_report,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "train_seconds": train_seconds,
        "n_train": len(train_df),
        "n_val": len(val_df),
        "history": history,
        "params": p.as_dict(),
    }
    return scorer, metrics
