"""The models of the final comparison: the chosen DPO settings and the ablation, each trained with ``n_seeds``
training seeds and, optionally, on more pairs than a trial (``sweep.final.train_prompts`` / ``epochs``).

Seed ``i`` trains with the project seed + ``i`` (LoRA initialisation, pair order and, below the whole train split,
which prompts are drawn); the preference pairs themselves are the sweep's. Seed 0 at the trials' size *is* the
selected trial (or the ablation), reused. Every other model is a trial of its own (its own id, folder, resume, and
nested MLflow run with role ``seed``), scored on the selection split like a trial.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from empo_kedro.evaluation.robustness import seed_variant
from empo_kedro.sweep.trials import SweepContext, run_trial

logger = logging.getLogger(__name__)

ROLE_SEED = "seed"
ALL_PROMPTS = "all"


def final_size(dpo_params: Mapping[str, Any], final: Mapping[str, Any]) -> dict[str, Any]:
    """The ``dpo`` block of a final model: the trial's, with ``final.train_prompts`` / ``final.epochs`` when set."""
    params = copy.deepcopy(dict(dpo_params))
    prompts = final.get("train_prompts")
    if prompts is not None:
        params["max_train_prompts"] = None if prompts == ALL_PROMPTS else int(prompts)
    if final.get("epochs") is not None:
        params["epochs"] = int(final["epochs"])
    return params


def size_description(dpo_params: Mapping[str, Any], pairs: pd.DataFrame) -> str:
    """How many prompts and pairs a final model trains on (for the report)."""
    train = pairs.loc[
        (pairs["split"] == dpo_params.get("train_split", "train")) & (pairs["epoch"] < int(dpo_params["epochs"]))
    ]
    n_prompts = train["conv_id"].nunique()
    limit = dpo_params.get("max_train_prompts")
    used = n_prompts if limit is None else min(int(limit), n_prompts)
    return f"{used} prompts x {int(dpo_params['epochs'])} draws (of {n_prompts} train prompts with pairs)"


def train_final_models(
    ctx: SweepContext,
    specs: Mapping[str, Mapping[str, Any]],
    selected: Mapping[str, Mapping[str, Any]],
    pairs_of: Callable[[str], pd.DataFrame],
    final: Mapping[str, Any],
    reference: Mapping[str, Any],
) -> dict[str, list[dict[str, Any]]]:
    """Per arm (variant name -> trial spec), the records of its ``n_seeds`` models (variant names ``dpo``,
    ``dpo_s1``, ...); ``selected`` holds the arm's trial record, reused for seed 0 at the trials' size."""
    n_seeds = int(final.get("n_seeds", 1))
    if n_seeds < 1:
        raise ValueError(f"sweep.final.n_seeds must be >= 1, got {n_seeds}")
    models: dict[str, list[dict[str, Any]]] = {}
    for arm, spec in specs.items():
        params = final_size(spec["dpo_params"], final)
        resized = params != spec["dpo_params"]
        pairs = pairs_of(spec["strategy"])
        records = []
        for index in range(n_seeds):
            variant = seed_variant(arm, index)
            if index == 0 and not resized:
                records.append(
                    {
                        **selected[arm],
                        "variant": variant,
                        "train_seed": ctx.seed,
                        "size": size_description(params, pairs),
                    }
                )
                continue
            seeded = dataclasses.replace(ctx, seed=ctx.seed + index)
            record = run_trial(
                seeded,
                {**spec, "dpo_params": params, "index": f"{spec['index']}.{index}"},
                pairs,
                reference,
                role=ROLE_SEED,
            )
            records.append(
                {**record, "variant": variant, "train_seed": seeded.seed, "size": size_description(params, pairs)}
            )
            logger.info("Sweep: final model %s (seed %d) is trial %s", variant, seeded.seed, record["trial_id"])
        models[arm] = records
    return models
