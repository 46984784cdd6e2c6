"""Running sweep trials: train a DPO adapter on the SFT model, score it on the selection split, keep the result.

A trial is identified by :func:`empo_kedro.sweep.space.trial_id`. Its adapter and result live in the sweep folder
(:class:`~empo_kedro.io.sweep_store.TrialStore`); a rerun reuses every finished trial ("already done, reusing"),
re-evaluates a trained adapter whose evaluation settings changed, and resumes an interrupted training from its
checkpoints. The SFT model's replies and metrics on the selection split are computed once and cached: every trial
is compared with them (guards, ``changed_vs_sft``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.variant_evaluation import as_eval_metrics, evaluate_variants, scorer_fingerprint
from empo_kedro.evaluation.variants import SFT, VariantModel
from empo_kedro.evaluation.vllm_generation import replies_fingerprint_settings
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.io.sweep_store import TrialStore
from empo_kedro.sweep.space import STRATEGY_KEY, fingerprint, trial_id
from empo_kedro.tracking import sweep_runs, sweep_schema
from empo_kedro.tracking.machine import resident_memory_gib
from empo_kedro.training.dpo import sft_lineage, train_dpo_on_sft
from empo_kedro.training.modeling import load_tokenizer
from empo_kedro.training.precision import resolved_eval_autocast

logger = logging.getLogger(__name__)

TRIAL = "trial"  # the variant name of the adapter under evaluation


@dataclass
class SweepContext:
    """What every trial of a sweep shares: models, scorer, selection prompts, settings and the sweep folder."""

    base_model: LocalModel
    sft_adapter: AdapterHandle
    model_params: Mapping[str, Any]
    eval_params: Mapping[str, Any]
    scorer: EpitomeScorer
    prompts: pd.DataFrame
    kl_texts: list[str]
    store: TrialStore
    seed: int
    split: str
    sweep_id: str = ""

    def __post_init__(self) -> None:
        _, self.lineage = sft_lineage(self.base_model, self.sft_adapter)
        self.eval_key = fingerprint(
            {
                "prompts": self.prompts[["conv_id", "prompt", "reference"]].to_dict("records"),
                "generation": replies_fingerprint_settings(self.eval_params["generation"]),
                "batch_size": self.eval_params["batch_size"],
                "bertscore": self.eval_params["bertscore"],
                "distinct": self.eval_params["distinct_orders"],
                "kl": self.eval_params["retention"]["kl"],
                "kl_texts": self.kl_texts,
                "scorer": scorer_fingerprint(self.scorer),
                "autocast": resolved_eval_autocast(self.model_params),
                "seed": self.seed,
            }
        )

    def variants(self, adapters: Mapping[str, Path] | None = None) -> VariantModel:
        return VariantModel(
            self.base_model.path,
            self.sft_adapter.path,
            None,
            self.model_params,
            autocast_dtype=self.model_params.get("eval_autocast"),
            extra_adapters=adapters,
        )

    def tokenizer(self):
        return load_tokenizer(self.sft_adapter.path, self.model_params.get("trust_remote_code", False))


def pairs_fingerprint(pairs: pd.DataFrame, epochs: int) -> str:
    """What a trial's training data is: the draws it reads (draw k does not depend on how many draws were made)."""
    used = pairs.loc[pairs["epoch"] < epochs].sort_values(["split", "epoch", "conv_id", "turn_index"])
    return fingerprint(used.to_dict("records"), length=16)


def sft_reference(ctx: SweepContext) -> dict[str, Any]:
    """SFT's replies and ``eval/*`` metrics on the selection split (cached in the sweep folder)."""
    key = fingerprint({"eval": ctx.eval_key, "lineage": ctx.lineage})
    cached = ctx.store.cached("reference", key)
    if cached is not None:
        logger.info("Sweep: SFT reference on '%s' already scored, reusing", ctx.split)
        return cached
    started = time.perf_counter()
    models = ctx.variants()
    scores, table, _ = evaluate_variants(
        models,
        [SFT],
        ctx.prompts,
        ctx.tokenizer(),
        ctx.scorer,
        ctx.eval_params,
        ctx.kl_texts,
        with_mmlu=False,
        seed=ctx.seed,
    )
    del models
    gc.collect()
    reference = {
        "metrics": as_eval_metrics(table.loc[SFT]),
        "replies": dict(zip(scores["conv_id"].astype(str), scores["response"], strict=False)),
        "split": ctx.split,
        "wall_s": time.perf_counter() - started,
    }
    ctx.store.save_cached("reference", key, reference)
    logger.info("Sweep: SFT on '%s': %s", ctx.split, {k: round(v, 4) for k, v in reference["metrics"].items()})
    return reference


def evaluate_trial(
    ctx: SweepContext, adapter: AdapterHandle, reference: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, str]]:
    """``eval/*`` metrics of one trial on the selection split, with its distance from SFT's replies."""
    models = ctx.variants({TRIAL: adapter.path})
    scores, table, _ = evaluate_variants(
        models,
        [TRIAL],
        ctx.prompts,
        ctx.tokenizer(),
        ctx.scorer,
        ctx.eval_params,
        ctx.kl_texts,
        with_mmlu=False,
        seed=ctx.seed,
    )
    del models
    gc.collect()
    metrics = as_eval_metrics(table.loc[TRIAL])
    replies = dict(zip(scores["conv_id"].astype(str), scores["response"], strict=False))
    sft_replies = reference["replies"]
    metrics["eval/changed_vs_sft"] = sum(replies[c] != sft_replies.get(c) for c in replies) / max(1, len(replies))
    for name in ("diff_mean", "bertscore_f1", "kl_to_base"):
        metrics[f"eval/{name}_minus_sft"] = metrics[f"eval/{name}"] - reference["metrics"][f"eval/{name}"]
    return metrics, replies


def train_trial(
    ctx: SweepContext, dpo_params: Mapping[str, Any], pairs: pd.DataFrame, identifier: str
) -> tuple[AdapterHandle, dict[str, float]]:
    """Train one DPO adapter as the dpo pipeline does (:func:`train_dpo_on_sft`) and store it in the sweep folder."""
    adapter, metrics = train_dpo_on_sft(
        ctx.base_model,
        ctx.sft_adapter,
        pairs,
        ctx.model_params,
        dpo_params,
        ctx.seed,
        ctx.store.checkpoint_dir(identifier),
    )
    handle = ctx.store.save_adapter(identifier, adapter)
    ctx.store.clear_checkpoints(identifier)
    del adapter
    gc.collect()
    return handle, {f"train/{k}".replace("@", "_at_"): v for k, v in metrics.items()}


def run_trial(
    ctx: SweepContext,
    spec: Mapping[str, Any],
    pairs: pd.DataFrame,
    reference: Mapping[str, Any],
    role: str = sweep_schema.ROLE_TRIAL,
) -> dict[str, Any]:
    """Train and evaluate one trial, or reuse it when the sweep folder already holds it; returns its record.

    ``spec``: ``index``, ``settings`` (the varied keys), ``fixed``, ``strategy`` and ``dpo_params``.
    """
    dpo_params = spec["dpo_params"]
    strategy = spec["strategy"]
    identifier = trial_id(
        dpo_params, strategy, ctx.seed, ctx.lineage, pairs_fingerprint(pairs, int(dpo_params["epochs"]))
    )
    settings = {**spec["fixed"], **spec["settings"], STRATEGY_KEY: strategy}
    name = f"{role}-{spec['index']}-{identifier[:8]}"
    tags = {
        sweep_schema.SWEEP_ID: ctx.sweep_id,
        sweep_schema.ROLE: role,
        sweep_schema.TRIAL_ID: identifier,
        sweep_schema.SPLIT: ctx.split,
        sweep_schema.STRATEGY: strategy,
    }
    record = {
        "trial_id": identifier,
        "index": spec["index"],
        "role": role,
        "settings": spec["settings"],
        "strategy": strategy,
    }
    saved = ctx.store.result(identifier)
    adapter = ctx.store.adapter(identifier)
    if saved is not None and adapter is not None and saved.get("eval_key") == ctx.eval_key:
        run_id = saved.get("mlflow_run_id")
        if sweep_runs.parent_run_id() is not None and not sweep_runs.run_exists(run_id):
            run_id = sweep_runs.relog_trial(name, tags, settings, saved["metrics"])
            saved = {**saved, "mlflow_run_id": run_id}
            ctx.store.save_result(identifier, saved)
        logger.info("Sweep: %s %s already done, reusing it (MLflow run %s)", role, identifier, run_id)
        return {**record, "metrics": saved["metrics"], "mlflow_run_id": run_id, "reused": True}

    with sweep_runs.trial_run(name, tags, settings) as run_id:
        if adapter is None:
            logger.info("Sweep: training %s %s: %s", role, identifier, settings)
            started = time.perf_counter()
            adapter, train_metrics = train_trial(ctx, dpo_params, pairs, identifier)
            train_wall = time.perf_counter() - started
        else:  # trained before, evaluated with other settings: score it again, do not retrain
            logger.info("Sweep: %s %s is trained; evaluating it with the current settings", role, identifier)
            previous = saved or {}
            train_metrics = previous.get("train_metrics") or {
                f"train/{k}": v for k, v in adapter.metadata.get("metrics", {}).items() if isinstance(v, (int, float))
            }
            train_wall = float(previous.get("metrics", {}).get("trial/train_wall_s", 0.0))
        eval_started = time.perf_counter()
        eval_metrics, replies = evaluate_trial(ctx, adapter, reference)
        metrics = {
            **eval_metrics,
            **train_metrics,
            "trial/train_wall_s": train_wall,
            "trial/eval_wall_s": time.perf_counter() - eval_started,
        }
        sweep_runs.log_trial_metrics(metrics)
    result = {
        **record,
        "eval_key": ctx.eval_key,
        "dpo_params": dpo_params,
        "fixed": spec["fixed"],
        "metrics": metrics,
        "train_metrics": train_metrics,
        "replies": replies,
        "mlflow_run_id": run_id,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    ctx.store.save_result(identifier, result)
    logger.info(
        "Sweep: %s %s done in %.0f s (process memory %s GiB): %s",
        role,
        identifier,
        metrics["trial/train_wall_s"] + metrics["trial/eval_wall_s"],
        resident_memory_gib(),
        {
            k: round(v, 4)
            for k, v in eval_metrics.items()
            if k in ("eval/diff_mean", "eval/bertscore_f1", "eval/kl_to_base", "eval/changed_vs_sft")
        },
    )
    return {**record, "metrics": metrics, "mlflow_run_id": run_id, "reused": False}
