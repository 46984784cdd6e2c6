"""The sweep's training stages: the trials, the random-rejected ablation and the final models, each on one
:class:`~empo_kedro.sweep.trials.SweepContext` built from the same :class:`SweepInputs`, with its bookkeeping on
the sweep's parent MLflow run.

Here so that each sweep node is one call: it bundles its catalog inputs and hands them to a stage."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd

from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.generation import select_eval_prompts
from empo_kedro.evaluation.variant_evaluation import kl_texts
from empo_kedro.evaluation.variants import DPO
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.io.sweep_store import TrialStore
from empo_kedro.params import BaseModelParams, EvaluationParams, SweepParams
from empo_kedro.sweep.final import ablation_variant
from empo_kedro.sweep.seeds import train_final_models
from empo_kedro.sweep.space import ablation_spec, fingerprint
from empo_kedro.sweep.trials import SweepContext, run_trial, sft_reference
from empo_kedro.tracking import sweep_runs, sweep_schema
from empo_kedro.tracking.machine import machine_tags

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepInputs:
    """The catalog inputs every training stage of the sweep shares (the same ones in each node)."""

    base_model: LocalModel
    sft_adapter: AdapterHandle
    dialogues: pd.DataFrame
    scorer: EpitomeScorer
    store: TrialStore
    plan: list[dict]
    model_params: BaseModelParams
    eval_params: EvaluationParams
    sweep: SweepParams
    system_prompt: str
    seed: int

    def context(self) -> SweepContext:
        """The selection prompts, KL texts and sweep id (from the plan, the evaluation and the SFT lineage)."""
        selection = self.sweep["selection"]
        prompts = select_eval_prompts(
            self.dialogues, selection["split"], selection.get("n_prompts"), self.system_prompt, self.seed
        )
        n_kl_texts = selection.get("kl_n_texts") or self.eval_params["retention"]["kl"]["n_texts"]
        ctx = SweepContext(
            self.base_model,
            self.sft_adapter,
            self.model_params,
            self.eval_params,
            self.scorer,
            prompts,
            kl_texts(n_kl_texts, self.seed),
            self.store,
            self.seed,
            selection["split"],
        )
        ctx.sweep_id = fingerprint(
            {
                "plan": [[s["dpo_params"], s["strategy"]] for s in self.plan],
                "eval": ctx.eval_key,
                "lineage": ctx.lineage,
                "seed": self.seed,
            }
        )
        return ctx


def _strategy_pairs(pairs: pd.DataFrame, strategy: str) -> pd.DataFrame:
    return pairs.loc[pairs["strategy"] == strategy].drop(columns="strategy").reset_index(drop=True)


def _wall(record: dict) -> float:
    return record["metrics"].get("trial/train_wall_s", 0.0) + record["metrics"].get("trial/eval_wall_s", 0.0)


def run_trials(inputs: SweepInputs, pairs: pd.DataFrame) -> dict:
    """Every trial of the plan, trained and scored on the selection split or reused from the sweep folder."""
    started = time.perf_counter()
    ctx = inputs.context()
    splits = inputs.dialogues["split"].value_counts().sort_index()
    sweep_runs.tag_parent(
        {
            sweep_schema.SWEEP_ID: ctx.sweep_id,
            sweep_schema.STORE: ctx.store.root,
            sweep_schema.SELECTION_PROMPTS: len(ctx.prompts),
            sweep_schema.DATA_DIALOGUES: ", ".join(f"{k}={v}" for k, v in splits.items()),
            **machine_tags(),
        }
    )
    reference = sft_reference(ctx)
    sweep_runs.tag_parent(
        {}, {sweep_schema.SFT_METRIC_PREFIX + k.removeprefix("eval/"): v for k, v in reference["metrics"].items()}
    )
    trials = [run_trial(ctx, spec, _strategy_pairs(pairs, spec["strategy"]), reference) for spec in inputs.plan]
    reused = sum(t["reused"] for t in trials)
    logger.info("Sweep: %d trials, %d of them reused from %s", len(trials), reused, ctx.store.root)
    sweep_runs.tag_parent(
        {},
        {
            sweep_schema.N_TRIALS: len(trials),
            sweep_schema.N_REUSED: reused,
            sweep_schema.TRIALS_WALL_S: sum(map(_wall, trials)) + reference.get("wall_s", 0.0),
            sweep_schema.SESSION_TRIALS_WALL_S: time.perf_counter() - started,
        },
    )
    return {"sweep_id": ctx.sweep_id, "split": ctx.split, "reference": reference["metrics"], "trials": trials}


def run_ablation(inputs: SweepInputs, pairs: pd.DataFrame, selection: dict) -> dict:
    """The best settings with random rejected turns (reused when the grid held it), scored on the same split."""
    started = time.perf_counter()
    ctx = inputs.context()
    spec = ablation_spec(inputs.plan, selection["best"], inputs.sweep["final"])
    record = run_trial(
        ctx, spec, _strategy_pairs(pairs, spec["strategy"]), sft_reference(ctx), role=sweep_schema.ROLE_ABLATION
    )
    sweep_runs.tag_parent(
        {
            sweep_schema.ABLATION_TRIAL: record["trial_id"],
            sweep_schema.ABLATION_STRATEGY: record["strategy"],
            sweep_schema.ABLATION_RUN_ID: record["mlflow_run_id"] or "",
        },
        {
            sweep_schema.ABLATION_WALL_S: _wall(record),
            sweep_schema.SESSION_ABLATION_WALL_S: time.perf_counter() - started,
        },
    )
    return record


def train_finals(inputs: SweepInputs, pairs: pd.DataFrame, selection: dict, ablation: dict) -> dict:
    """The chosen settings and the ablation, each with ``sweep.final.n_seeds`` training seeds (and the final size):
    arm -> the records of its seeds (seed 0 at the trials' size is the selected trial / the ablation itself)."""
    started = time.perf_counter()
    final, plan = inputs.sweep["final"], inputs.plan
    ctx = inputs.context()
    ablation_name = ablation_variant(ablation["strategy"])
    specs = {DPO: plan[int(selection["best"]["index"])], ablation_name: ablation_spec(plan, selection["best"], final)}
    models = train_final_models(
        ctx,
        specs,
        {DPO: selection["best"], ablation_name: ablation},
        lambda strategy: _strategy_pairs(pairs, strategy),
        final,
        sft_reference(ctx),
    )
    trained = sum(not r.get("reused", True) for records in models.values() for r in records)
    sweep_runs.tag_parent(
        {"sweep.final_n_seeds": final.get("n_seeds", 1), "sweep.final_train_size": models[DPO][0]["size"]},
        {
            "sweep/final_models_wall_s": sum(
                _wall(r) for records in models.values() for r in records[1:] if "metrics" in r
            ),
            "sweep/session_final_models_wall_s": time.perf_counter() - started,
        },
    )
    logger.info(
        "Sweep: final models %s (%d trained this session)",
        {arm: [r["trial_id"] for r in records] for arm, records in models.items()},
        trained,
    )
    return {"ablation": ablation_name, "models": models}
