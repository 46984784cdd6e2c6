"""Nodes of the sweep pipeline: plan trials, build their preference pairs, run (or reuse) trials, select the best
on the validation split, train the random-rejected ablation, and compare base / SFT / DPO / ablation on test."""

from __future__ import annotations

import logging

import pandas as pd

from empo_kedro.data.preferences import build_preference_pairs
from empo_kedro.emotions.opposites import RANDOM_STRATEGY, check_coverage, load_emotion_map, opposites_for
from empo_kedro.evaluation.emotion_classifier import EmotionClassifier
from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.generation import select_eval_prompts
from empo_kedro.evaluation.variants import DPO
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.io.sweep_store import TrialStore
from empo_kedro.params import BaseModelParams, DpoParams, EvaluationParams, PreferencesParams, SweepParams
from empo_kedro.reporting.plots import categorical_setting, plot_sweep
from empo_kedro.serving.registry import register_chat_models
from empo_kedro.sweep.final import cached_compare_final, json_records
from empo_kedro.sweep.space import SweepConfigError, plan_trials, select_best
from empo_kedro.sweep.stages import SweepInputs, run_ablation, run_trials, train_finals
from empo_kedro.tracking import sweep_runs, sweep_schema

logger = logging.getLogger(__name__)


def plan_sweep(sweep: SweepParams, dpo: DpoParams, preferences: PreferencesParams, seed: int) -> list[dict]:
    """The trials to run: each one's varied settings, rejected-turn strategy and full ``dpo`` parameter block."""
    plan = plan_trials(sweep, dpo, preferences.strategy, seed)
    logger.info("Sweep: %s search, %d trials over %s", sweep["method"], len(plan), list(plan[0]["settings"]))
    return plan


def build_sweep_pairs(
    dialogues: pd.DataFrame,
    plan: list[dict],
    sweep: SweepParams,
    preferences: PreferencesParams,
    emotion_maps: dict,
    emotion_labels: list[str],
    system_prompt: str,
    seed: int,
) -> pd.DataFrame:
    """Preference pairs for every strategy a trial or the ablation may use, from the same dialogues, with a
    ``strategy`` column. Draw k of a strategy is the same whatever the number of draws."""
    final = sweep["final"]
    strategies = sorted(
        {spec["strategy"] for spec in plan} | {final["ablation_strategy"], final["ablation_counterpart"]}
    )
    n_epochs = max([int(spec["dpo_params"]["epochs"]) for spec in plan] + [int(final.get("epochs") or 0)])
    frames = []
    for strategy in strategies:
        emotion_map = load_emotion_map(strategy, emotion_maps, emotion_labels)
        if emotion_map is not None:
            check_coverage(emotion_map, dialogues["emotion"].unique())
        pairs, missing = build_preference_pairs(
            dialogues, emotion_map, system_prompt, preferences["prompt_turns"], n_epochs, seed
        )
        if pairs.empty:
            raise SweepConfigError(f"No preference pairs with strategy '{strategy}': {missing}")
        logger.info(
            "Sweep pairs: %s: %d pairs (%d draws); prompts without a pair: %s",
            strategy,
            len(pairs),
            n_epochs,
            missing or "none",
        )
        frames.append(pairs.assign(strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def run_sweep_trials(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    pairs: pd.DataFrame,
    dialogues: pd.DataFrame,
    scorer: EpitomeScorer,
    store: TrialStore,
    plan: list[dict],
    model_params: BaseModelParams,
    eval_params: EvaluationParams,
    sweep: SweepParams,
    system_prompt: str,
    seed: int,
) -> dict:
    """Every trial of the plan, trained and scored on the selection split or reused from the sweep folder."""
    inputs = SweepInputs(
        base_model, sft_adapter, dialogues, scorer, store, plan, model_params, eval_params, sweep, system_prompt, seed
    )
    return run_trials(inputs, pairs)


def select_sweep_trial(sweep_trials: dict, sweep: SweepParams) -> dict:
    """The best trial on the selection split, within the guards; named on the parent run."""
    selection = select_best(sweep_trials["trials"], sweep_trials["reference"], sweep["selection"])
    best = next(t for t in sweep_trials["trials"] if t["trial_id"] == selection["best_trial"])
    selection.update(split=sweep_trials["split"], sweep_id=sweep_trials["sweep_id"], best=best)
    if not selection["guards_passed"]:
        logger.warning(
            "Sweep: no trial passes the guards %s; the best of all is reported: %s",
            selection["guards"],
            selection["guard_failures"],
        )
    sweep_runs.log_selection(selection, best)
    logger.info(
        "Sweep: best trial %s (%s = %.4f; SFT %s) with %s",
        best["trial_id"],
        selection["metric"],
        selection["value"],
        selection["reference_value"],
        {**best["settings"], "strategy": best["strategy"]},
    )
    return selection


def run_sweep_ablation(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    pairs: pd.DataFrame,
    dialogues: pd.DataFrame,
    scorer: EpitomeScorer,
    store: TrialStore,
    plan: list[dict],
    selection: dict,
    model_params: BaseModelParams,
    eval_params: EvaluationParams,
    sweep: SweepParams,
    system_prompt: str,
    seed: int,
) -> dict:
    """The best settings with random rejected turns (reused when the grid held it), scored on the same split."""
    inputs = SweepInputs(
        base_model, sft_adapter, dialogues, scorer, store, plan, model_params, eval_params, sweep, system_prompt, seed
    )
    return run_ablation(inputs, pairs, selection)


def train_sweep_final_models(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    pairs: pd.DataFrame,
    dialogues: pd.DataFrame,
    scorer: EpitomeScorer,
    store: TrialStore,
    plan: list[dict],
    selection: dict,
    ablation: dict,
    model_params: BaseModelParams,
    eval_params: EvaluationParams,
    sweep: SweepParams,
    system_prompt: str,
    seed: int,
) -> dict:
    """The chosen settings and the ablation, each with ``sweep.final.n_seeds`` training seeds (and the final size):
    arm -> the records of its seeds (seed 0 at the trials' size is the selected trial / the ablation itself)."""
    inputs = SweepInputs(
        base_model, sft_adapter, dialogues, scorer, store, plan, model_params, eval_params, sweep, system_prompt, seed
    )
    return train_finals(inputs, pairs, selection, ablation)


def evaluate_sweep_final(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    store: TrialStore,
    selection: dict,
    final_models: dict,
    dialogues: pd.DataFrame,
    scorer: EpitomeScorer,
    emotion_classifier: EmotionClassifier,
    scorer_report: dict,
    classifier_report: dict,
    emotion_maps: dict,
    emotion_labels: list[str],
    model_params: BaseModelParams,
    eval_params: EvaluationParams,
    sweep: SweepParams,
    system_prompt: str,
    seed: int,
) -> dict:
    """Base / SFT / DPO(best) / DPO(ablation) (every seed) / sft_len on the final split with CIs, length and seed
    checks and the emotion fit; one nested MLflow run per variant, the checks and the scorers' figures on the
    sweep's run."""
    final = sweep["final"]
    ablation_name, models = final_models["ablation"], final_models["models"]
    dpo_strategy = models[DPO][0]["strategy"]
    opposites = opposites_for(
        dpo_strategy if dpo_strategy != RANDOM_STRATEGY else final["ablation_counterpart"],
        emotion_maps,
        emotion_labels,
        eval_params["emotion"]["fallback_map"],
    )
    prompts = select_eval_prompts(dialogues, final["split"], final.get("n_prompts"), system_prompt, seed)
    result = cached_compare_final(
        store,
        models,
        ablation_name,
        base_model,
        sft_adapter,
        prompts,
        scorer,
        emotion_classifier,
        opposites,
        model_params,
        eval_params,
        final,
        seed,
    )
    table, cis, samples = result["table"], result["cis"], result["samples"]
    if result["reused"]:
        logger.info("Sweep: the final comparison of these trials on '%s' is already done, reusing it", final["split"])
    records = {r["variant"]: r for arm in models.values() for r in arm}
    variants = {
        v: {
            "trial_id": records[v]["trial_id"] if v in records else "",
            "strategy": records[v]["strategy"] if v in records else "",
            "train_seed": str(records[v]["train_seed"]) if v in records else "",
            "mlflow_trial_run_id": (records[v].get("mlflow_run_id") or "") if v in records else "",
        }
        for v in table.index
    }
    run_ids = sweep_runs.log_final_runs(
        table,
        cis,
        {
            v: {sweep_schema.TRIAL_ID: i["trial_id"], "strategy": i["strategy"], "train_seed": i["train_seed"]}
            for v, i in variants.items()
            if i["trial_id"]
        },
        {sweep_schema.SWEEP_ID: selection["sweep_id"], "split": final["split"]},
        replies=result.get("replies"),
    )
    sweep_runs.log_final_checks(result["robust"], result["seeds"], scorer_report, classifier_report)
    sweep_runs.tag_parent(
        {
            sweep_schema.FINAL_DONE: "true",
            sweep_schema.FINAL_SPLIT: final["split"],
            sweep_schema.FINAL_MMLU: str(bool(final.get("mmlu", True))).lower(),
            "sweep.final_ablation": ablation_name,
            "sweep.final_opposite_map": dpo_strategy,
        },
        {sweep_schema.FINAL_WALL_S: result["wall_s"]},
    )
    key_metrics = cis["metric"].isin(["diff_mean", "bertscore_f1", "kl_to_base", "mmlu_correct"])
    logger.info(
        "Sweep, final on '%s':\n%s\n%s\n%s",
        final["split"],
        table.round(4).to_string(),
        cis.loc[key_metrics].round(4).to_string(index=False),
        result["robust"].round(4).to_string(index=False),
    )
    return {
        "split": final["split"],
        "n_prompts": len(prompts),
        "variants": variants,
        "table": json_records(table.reset_index(names="variant")),
        "cis": json_records(cis),
        "robust": json_records(result["robust"]),
        "seeds": json_records(result["seeds"]),
        "samples": samples,
        "mlflow_run_ids": run_ids,
        "wall_s": result["wall_s"],
        "reused": result["reused"],
    }


def plot_sweep_trials(sweep_trials: dict, selection: dict, sweep: SweepParams):
    """The selection metric of every trial against the varied settings (``sweep.plot.x``)."""
    rows = [
        {"trial_id": t["trial_id"], "strategy": t["strategy"], **t["settings"], **t["metrics"]}
        for t in sweep_trials["trials"]
    ]
    metric, frame = selection["metric"], pd.DataFrame(rows)
    varied = list(sweep_trials["trials"][0]["settings"]) if sweep_trials["trials"] else []
    return plot_sweep(
        frame,
        sweep["plot"]["x"],
        metric,
        sweep_trials["reference"].get(metric),
        selection["best_trial"],
        f"Sweep on the '{sweep_trials['split']}' split",
        style_key=categorical_setting(frame, varied),
    )


def register_sweep_champion(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    store: TrialStore,
    selection: dict,
    model_params: dict,
    registry: dict,
    system_prompt: str,
) -> dict:
    """The chosen trial as a registered chat model with the ``registry.sweep_alias`` alias (``champion``)."""
    best = store.adapter(selection["best"]["trial_id"])
    if best is None:
        raise SweepConfigError(f"The chosen trial {selection['best']['trial_id']} has no adapter in {store.root}")
    registered = register_chat_models(
        base_model, sft_adapter, best, model_params, registry, system_prompt, aliases=[registry["sweep_alias"]]
    )
    return {**registered, "trial_id": selection["best"]["trial_id"]}
