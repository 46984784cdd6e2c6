"""Nodes of the evaluation pipeline: generate with base/SFT/DPO, score, measure retention, compare."""

from __future__ import annotations

import logging
import time

import pandas as pd

from empo_kedro.data.epitome import split_pairs
from empo_kedro.emotions.opposites import opposites_for
from empo_kedro.evaluation import variant_evaluation
from empo_kedro.evaluation.comparison import (
    bootstrap_differences,
    comparison_table,
    plot_metrics,
    plot_training_curves,
)
from empo_kedro.evaluation.emotion_classifier import (
    EmotionClassifier,
    EmotionDataError,
    add_emotion_fit,
    heldout_report,
    listener_turns,
    reference_emotion_fit,
    train_emotion_classifier,
)
from empo_kedro.evaluation.epitome import EpitomeScorer, train_epitome_scorer
from empo_kedro.evaluation.epitome.report import PUBLISHED_EPITOME, PUBLISHED_SOURCE, scorer_heldout_report
from empo_kedro.evaluation.generation import select_eval_prompts, variant_replies
from empo_kedro.evaluation.length_control import LENGTH_ADJUSTED_FORM
from empo_kedro.evaluation.length_matched import SFT_LEN, length_matched_replies, reply_token_counts
from empo_kedro.evaluation.robustness import groups_of, robustness_cis
from empo_kedro.evaluation.scoring import score_reply_frame
from empo_kedro.evaluation.variants import DPO, SFT, VariantModel
from empo_kedro.evaluation.vllm_generation import VLLM, generation_backend, vllm_variant_replies
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel, check_trained_on
from empo_kedro.io.result_cache import ResultCache
from empo_kedro.params import BaseModelParams, EmotionParams, EpitomeParams, EvaluationParams, RetentionParams
from empo_kedro.tracking.variant_runs import log_variant_runs
from empo_kedro.training.modeling import load_tokenizer

logger = logging.getLogger(__name__)

STALE_DPO_HINT = (
    "Re-run `kedro run --pipeline=dpo` (DPO must be trained on the current SFT adapter), then the evaluation."
)
# Contrasts of the length and seed checks in the evaluation pipeline (the sweep adds the ablation).
ROBUSTNESS_CONTRASTS = ((DPO, SFT), (DPO, SFT_LEN), (SFT_LEN, SFT))


def make_eval_prompts(
    dialogues: pd.DataFrame, params: EvaluationParams, system_prompt: str, seed: int
) -> pd.DataFrame:
    return select_eval_prompts(dialogues, params.split, params.n_prompts, system_prompt, seed)


def check_dpo_lineage(sft_adapter: AdapterHandle, dpo_adapter: AdapterHandle) -> None:
    """Stop before stacking a DPO adapter that was trained on another SFT adapter than this one."""
    check_trained_on(dpo_adapter, [*sft_adapter.merged_parents, sft_adapter.path], "SFT adapter", STALE_DPO_HINT)


def _variants(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle,
    model_params: BaseModelParams,
    reply_cache: ResultCache | None = None,
) -> VariantModel:
    """Base, SFT and DPO on one copy of the base weights, once DPO is known to be trained on this SFT adapter."""
    check_dpo_lineage(sft_adapter, dpo_adapter)
    return VariantModel(
        base_model.path,
        sft_adapter.path,
        dpo_adapter.path,
        model_params,
        autocast_dtype=model_params.get("eval_autocast"),
        reply_cache=reply_cache,
    )


def generate_variant_replies(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle,
    eval_prompts: pd.DataFrame,
    generation_cache: ResultCache,
    model_params: BaseModelParams,
    params: EvaluationParams,
    seed: int,
) -> pd.DataFrame:
    """The same prompts and decoding settings for base, SFT and DPO (``evaluation.generation.backend``); with the
    transformers backend each variant's replies are cached as soon as they are made, so a rerun after a kill
    generates only the missing ones."""
    tokenizer = load_tokenizer(sft_adapter.path)
    if generation_backend(params["generation"]) == VLLM:
        check_dpo_lineage(sft_adapter, dpo_adapter)
        if params.get("length_matched", {}).get("enabled", False):
            logger.warning("sft_len (length-matched SFT) needs the transformers backend: left out with vLLM")
        return vllm_variant_replies(
            base_model.path,
            sft_adapter.path,
            dpo_adapter.path,
            eval_prompts,
            tokenizer,
            params["generation"],
            params.get("vllm") or {},
            model_params,
            seed,
        )
    models = _variants(base_model, sft_adapter, dpo_adapter, model_params, generation_cache)
    replies = variant_replies(
        models, models.variants, eval_prompts, tokenizer, params["generation"], params["batch_size"], seed
    )
    if not params.get("length_matched", {}).get("enabled", False):
        return replies
    dpo = replies.loc[replies["variant"] == DPO].set_index("conv_id").loc[eval_prompts["conv_id"], "response"]
    matched = length_matched_replies(
        models,
        SFT,
        SFT_LEN,
        eval_prompts,
        reply_token_counts(tokenizer, dpo.tolist()),
        tokenizer,
        params["generation"],
        params["batch_size"],
        seed,
    )
    return pd.concat([replies, matched.drop(columns=["target_tokens", "reply_tokens"])], ignore_index=True)


def train_epitome(epitome_pairs: pd.DataFrame, params: EpitomeParams, seed: int) -> tuple[EpitomeScorer, dict]:
    """Train the ER/IP/EX scorer and report it on the held-out test split beside the published figures.

    The split is grouped by seeker post: ``train`` fits the weights, ``val`` picks the epoch and the logit offsets,
    ``test`` is only scored here (accuracy, macro-F1 with its bootstrap interval, per-level recall, mean levels,
    confusion matrix).
    """
    train, val, test = split_pairs(
        epitome_pairs, params["val_fraction"], params["test_fraction"], seed, group_column=params.get("group_column")
    )
    scorer, training_metrics = train_epitome_scorer(train, params.get("encoder"), params["scorer"], seed, val_df=val)
    heldout, confusion = (
        scorer_heldout_report(scorer.evaluate_frame(test), interval=params["heldout_interval"], seed=seed)
        if len(test)
        else ({}, {})
    )
    report = {
        "n_pairs": {"train": len(train), "val": len(val), "test": len(test)},
        "split": {
            "seed": seed,
            "val_fraction": params["val_fraction"],
            "test_fraction": params["test_fraction"],
            "group_column": params.get("group_column"),
            "use": "train: weights; val: best epoch and logit offsets; test: this report only",
        },
        "heldout_test": heldout,
        "heldout_confusion": confusion,
        "confusion_layout": "rows: true level 0/1/2, columns: predicted level 0/1/2",
        "published": PUBLISHED_EPITOME,
        "published_source": PUBLISHED_SOURCE,
        "validation_macro_f1": {m: v["macro_f1"] for m, v in (training_metrics.get("val") or {}).items()},
        "training": {k: v for k, v in training_metrics.items() if isinstance(v, (int, float, str))},
    }
    logger.info("EPITOME scorer held-out: %s (published: %s)", heldout, PUBLISHED_EPITOME)
    return scorer, report


def epitome_metrics(report: dict) -> dict:
    """The held-out scorer figures as MLflow metrics (an undefined recall is left out, not logged as 0)."""
    return {
        f"{m}_{k}": {"value": float(v), "step": 0}
        for m, values in report["heldout_test"].items()
        for k, v in values.items()
        if v is not None
    }


def score_replies(
    generations: pd.DataFrame,
    scorer: EpitomeScorer,
    emotion_classifier: EmotionClassifier,
    strategy: str,
    emotion_maps: dict,
    emotion_labels: list[str],
    params: EvaluationParams,
) -> pd.DataFrame:
    """Per prompt and variant: EPITOME levels and squared gaps, BERTScore against the reference, length, and the
    emotion fit (mass on the conversation's emotion, top-3 hit, mass on its opposite in the pairs' map)."""
    scores = score_reply_frame(generations, scorer, params)
    return add_emotion_fit(
        scores,
        emotion_classifier,
        opposites_for(strategy, emotion_maps, emotion_labels, params["emotion"]["fallback_map"]),
    )


def train_emotion(
    dialogues: pd.DataFrame, emotion_labels: list[str], params: EmotionParams, seed: int
) -> tuple[EmotionClassifier, dict]:
    """The emotion classifier on the train split's listener turns; top-1 / top-3 accuracy on held-out turns."""
    started = time.perf_counter()
    train = listener_turns(dialogues, params["train_split"])
    limit = params["classifier"].get("max_train_texts")
    if limit is not None and len(train) > limit:
        logger.info("Emotion classifier: %d of %d listener turns sampled (max_train_texts)", limit, len(train))
        train = train.sample(n=int(limit), random_state=seed)
    heldout = listener_turns(dialogues, params["heldout_split"])
    if train.empty or heldout.empty:
        raise EmotionDataError(
            f"No listener turns in the dialogues' split '{params['train_split']}' or "
            f"'{params['heldout_split']}' (evaluation.emotion.train_split / heldout_split)"
        )
    classifier = train_emotion_classifier(
        train["text"].tolist(),
        train["emotion"].tolist(),
        emotion_labels,
        params["classifier"],
        seed,
        params.get("encoder"),
    )
    report = heldout_report(classifier, heldout, len(train), time.perf_counter() - started)
    logger.info("Emotion classifier held-out (%s): %s", params["heldout_split"], report)
    return classifier, report


def emotion_metrics(report: dict) -> dict:
    """The held-out classifier figures as MLflow metrics."""
    return {k: {"value": float(v), "step": 0} for k, v in report.items() if isinstance(v, (int, float))}


def measure_retention(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle,
    model_params: BaseModelParams,
    params: RetentionParams,
    seed: int,
) -> tuple[dict, dict]:
    """MMLU accuracy (lm-eval) and mean per-token KL to the base on general, non-ED texts, per variant."""
    models = _variants(base_model, sft_adapter, dpo_adapter, model_params)
    tokenizer = load_tokenizer(sft_adapter.path)
    texts = variant_evaluation.kl_texts(params["kl"]["n_texts"], seed)
    return variant_evaluation.measure_retention(models, models.variants, tokenizer, texts, params, seed)


def compare_variants(
    scores: pd.DataFrame,
    retention: dict,
    retention_items: dict,
    dpo_adapter: AdapterHandle,
    params: EvaluationParams,
    seed: int,
    eval_prompts: pd.DataFrame | None = None,
):
    """The comparison table (CSV and Markdown), bootstrap CIs, plots, and one nested MLflow run per variant
    holding its metrics and its replies as an MLflow table."""
    orders = params["distinct_orders"]
    table = comparison_table(scores, retention, orders)
    cis = bootstrap_differences(
        scores,
        retention_items,
        orders,
        params["bootstrap"]["n_resamples"],
        params["bootstrap"]["confidence"],
        seed,
        contrasts=[("sft", "base"), ("dpo", "sft"), (DPO, SFT_LEN)],
    )
    robust = robustness_cis(
        scores,
        groups_of(table.index.tolist(), []),
        ROBUSTNESS_CONTRASTS,
        params["robustness"]["metrics"],
        {**params["robustness"], "confidence": params["bootstrap"]["confidence"]},
        seed,
    )
    ceiling = reference_emotion_fit(scores)
    if ceiling:  # the human replies' emotion fit: the ceiling of the emotion-fit columns
        table.loc["reference", list(ceiling)] = list(ceiling.values())
    backbone = scores["bertscore_backbone"].iloc[0]
    markdown = (
        "# Base vs SFT vs DPO\n\n"
        + table.round(4).to_markdown()
        + f"\n\nBERTScore backbone: {backbone}; not comparable with scores from other backbones.\n"
        "diff_* = mean squared gap between the EPITOME level of the generated and the true reply (lower is better).\n"
        f"{SFT_LEN}: SFT decoding each prompt to the token length of DPO's reply. emotion_*: the emotion classifier's "
        "mass on the conversation's emotion, top-3 hit, mass on its opposite; the `reference` row is the human "
        "replies' (the ceiling).\n"
        "\n## Bootstrap 95% CIs of the differences\n\n" + cis.round(4).to_markdown(index=False) + "\n"
        f"\n## Length control\n\n{LENGTH_ADJUSTED_FORM}. lc_win_rate: the win probability of the tuned variant at "
        "equal length (lower diff_mean wins, ties half; its null is 0.5).\n\n"
        + robust.round(4).to_markdown(index=False)
        + "\n"
    )
    metrics_plot = plot_metrics(
        table.drop(index="reference", errors="ignore"),
        ["diff_ER", "diff_IP", "diff_EX", "diff_mean", "bertscore_f1", "mmlu_accuracy", "kl_to_base"],
        "Base vs SFT vs DPO",
    )
    curves = plot_training_curves(
        dpo_adapter.metadata.get("log_history", []), ["loss", "rewards/margins", "rewards/accuracies"], "DPO training"
    )
    log_variant_runs(_with_robustness(table, robust), {"backbone": backbone}, replies=scores, prompts=eval_prompts)
    return table.reset_index(), markdown, cis, robust, metrics_plot, curves


def _with_robustness(table: pd.DataFrame, robust: pd.DataFrame) -> pd.DataFrame:
    """The table with each contrast's length-adjusted differences and LC win rate on its tuned variant's row
    (``<kind>_vs_<reference>/<metric>``, with ``_low``/``_high``): what the variant's MLflow run logs."""
    table = table.copy()
    for row in robust.itertuples(index=False):
        tuned, reference = row.contrast.split("-", 1)
        if row.kind == "seeds" or tuned not in table.index:
            continue
        name = f"{row.kind}_vs_{reference}/{row.metric}"
        table.loc[tuned, name], table.loc[tuned, f"{name}_low"], table.loc[tuned, f"{name}_high"] = (
            row.diff,
            row.low,
            row.high,
        )
    return table
