"""Evaluation of model variants (base, SFT, DPO, sweep trials): generation, EPITOME/BERTScore scoring, and the
retention measures (KL to the base on general texts, MMLU), on any split and any set of adapters stacked on SFT
(one copy of the base weights). The evaluation pipeline and the sweep both evaluate through this module."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from empo_kedro.evaluation.comparison import PairingError, bootstrap_differences, comparison_table
from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.generation import variant_replies
from empo_kedro.evaluation.mmlu import parse_shipped_mmlu, run_mmlu
from empo_kedro.evaluation.mmlu_source import mmlu_run_settings
from empo_kedro.evaluation.retention import mean_token_kl_in_context
from empo_kedro.evaluation.scoring import score_reply_frame
from empo_kedro.evaluation.variants import BASE, VariantModel

logger = logging.getLogger(__name__)

# Columns of a per-reply sample shown in reports.
SAMPLE_COLUMNS = ("conv_id", "emotion", "context", "reference")


def scorer_fingerprint(scorer: EpitomeScorer) -> str:
    """sha256 of the scorer's weights and config: cached validation scores are reused only with the same scorer."""
    digest = hashlib.sha256(json.dumps(scorer.config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(scorer.model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def kl_texts(n_texts: int, seed: int) -> list[str]:
    """General, non-ED texts for KL to the base: ``n_texts`` MMLU question texts with their choices, drawn with
    ``seed``."""
    questions, malformed = parse_shipped_mmlu()
    logger.info(
        "MMLU: %d shipped questions parsed, %d malformed (counted, not scored): %s",
        len(questions),
        len(malformed),
        malformed,
    )
    rng = np.random.default_rng(seed)
    items = [questions[i] for i in rng.permutation(len(questions))[:n_texts]]
    return [q["question"] + "\n" + "\n".join(q["choices"]) for q in items]


def generate_and_score(
    models: VariantModel,
    variants: Sequence[str],
    prompts: pd.DataFrame,
    tokenizer: Any,
    scorer: EpitomeScorer,
    eval_params: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Replies of each variant to the same prompts (same decoding), scored per reply like the evaluation does."""
    replies = variant_replies(
        models, variants, prompts, tokenizer, eval_params["generation"], eval_params["batch_size"], seed
    )
    return score_reply_frame(replies, scorer, eval_params)


def kl_results(
    models: VariantModel, variants: Sequence[str], tokenizer: Any, texts: Sequence[str], kl_params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Mean token KL(variant || base) on ``texts`` per variant (see ``mean_token_kl``); zero for the base itself."""
    results = {}
    for variant in variants:
        if variant == BASE:
            results[variant] = {"kl_mean": 0.0, "kl_per_text": np.zeros(len(texts))}
            continue
        with models.use(variant) as model:
            results[variant] = mean_token_kl_in_context(
                model, models.model.disable_adapter, tokenizer, texts, kl_params["batch_size"], kl_params["max_length"]
            )
    return results


def mmlu_results(
    models: VariantModel, variants: Sequence[str], tokenizer: Any, mmlu_params: Mapping[str, Any], seed: int
) -> dict[str, dict[str, Any]]:
    """lm-eval's MMLU result (accuracy, per-question rows) per variant, on the offline questions by default."""
    results, settings = {}, mmlu_run_settings(mmlu_params)  # the hub task, or its offline fallback
    for variant in variants:
        with models.use(variant) as model:
            results[variant] = run_mmlu(model=model, tokenizer=tokenizer, **settings, seed=seed)
        logger.info(
            "MMLU of %s: %.4f on %d questions", variant, results[variant]["accuracy"], results[variant]["n_questions"]
        )
    return results


def finite_items(metric: str, variant: str, values: Mapping[str, float], n_rows: int) -> dict[str, float]:
    """``values`` when every item has one finite value; a missing value stops the evaluation (never a 0)."""
    missing = [item for item, value in values.items() if not np.isfinite(value)]
    if missing or len(values) != n_rows:
        raise PairingError(
            f"{metric} of {variant} has no value for item(s) {missing[:5]} ({len(missing)} in all) or repeats an item "
            f"({n_rows} rows, {len(values)} items): nothing to compare them with"
        )
    return dict(values)


def retention_items(
    kl: Mapping[str, Mapping[str, Any]], mmlu: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Per-item values to bootstrap, by item id: per-text KL to the base (id: the text's index in the KL texts)
    and, with MMLU, per-question correctness 0/1 (id: ``<task>/<doc_id>``, not lm-eval's sample order)."""
    items = {
        "kl_to_base": {
            variant: finite_items(
                "kl_to_base",
                variant,
                {str(i): float(value) for i, value in enumerate(result["kl_per_text"])},
                len(result["kl_per_text"]),
            )
            for variant, result in kl.items()
        }
    }
    if mmlu is not None:
        items["mmlu_correct"] = {
            variant: finite_items(
                "mmlu_correct",
                variant,
                {f"{row['task']}/{row['doc_id']}": float(row["correct"]) for row in result["per_question"]},
                len(result["per_question"]),
            )
            for variant, result in mmlu.items()
        }
    return items


def measure_retention(
    models: VariantModel,
    variants: Sequence[str],
    tokenizer: Any,
    texts: Sequence[str],
    retention_params: Mapping[str, Any],
    seed: int,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Mapping[str, float]]]]:
    """MMLU accuracy and mean per-token KL to the base per variant (the summary), and the per-item values."""
    kl = kl_results(models, variants, tokenizer, texts, retention_params["kl"])
    mmlu = mmlu_results(models, variants, tokenizer, retention_params["mmlu"], seed)
    _, malformed = parse_shipped_mmlu()  # the shipped questions' glitches, counted whichever task ran
    summary = {
        variant: {
            "mmlu_accuracy": float(mmlu[variant]["accuracy"]),
            "mmlu_questions": int(mmlu[variant]["n_questions"]),
            "mmlu_malformed": len(malformed),
            "kl_to_base": float(kl[variant]["kl_mean"]),
        }
        for variant in variants
    }
    for variant in variants:
        logger.info("Retention of %s: %s", variant, summary[variant])
    items = retention_items(kl, mmlu)
    return summary, {"mmlu_correct": items["mmlu_correct"], "kl_to_base": items["kl_to_base"]}  # CI rows: MMLU first


def as_eval_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """A comparison-table row as ``eval/<name>`` metrics (numbers only), the names the evaluation runs use."""
    return {
        f"eval/{k}": float(v)
        for k, v in row.items()
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(float(v))
    }


def variant_table(
    scores: pd.DataFrame, per_item: Mapping[str, Mapping[str, Mapping[str, float]]], distinct_orders: Sequence[int]
) -> pd.DataFrame:
    """The comparison table, with KL to the base and MMLU accuracy as the means of their per-item values."""
    names = {"kl_to_base": "kl_to_base", "mmlu_correct": "mmlu_accuracy"}
    retention: dict[str, dict[str, float]] = {}
    for item, per_variant in per_item.items():
        for variant, values in per_variant.items():
            mean = float(np.mean(list(values.values()))) if len(values) else float("nan")  # no item: no value
            retention.setdefault(variant, {})[names.get(item, item)] = mean
    return comparison_table(scores, retention, distinct_orders)


def sample_replies(
    scores: pd.DataFrame, variants: Sequence[str], n_samples: int, compare: tuple[str, str]
) -> list[dict[str, Any]]:
    """``n_samples`` prompts with every variant's reply, prompts where ``compare`` differ first (by conv_id)."""
    wide = scores.pivot_table(index="conv_id", columns="variant", values="response", aggfunc="first")
    first, second = compare
    differs = (wide[first] != wide[second]) if {first, second} <= set(wide.columns) else pd.Series(False, wide.index)
    order = sorted(wide.index, key=lambda conv_id: (not bool(differs[conv_id]), conv_id))[:n_samples]
    info = scores.drop_duplicates("conv_id").set_index("conv_id")
    samples = []
    for conv_id in order:
        sample = {column: str(info.loc[conv_id, column]) for column in SAMPLE_COLUMNS if column != "conv_id"}
        sample["conv_id"] = str(conv_id)
        sample["replies"] = {variant: str(wide.loc[conv_id, variant]) for variant in variants}
        per_variant = scores.loc[scores["conv_id"] == conv_id].set_index("variant")
        sample["diff_mean"] = {variant: float(per_variant.loc[variant, "diff_mean"]) for variant in variants}
        samples.append(sample)
    return samples


def evaluate_variants(
    models: VariantModel,
    variants: Sequence[str],
    prompts: pd.DataFrame,
    tokenizer: Any,
    scorer: EpitomeScorer,
    eval_params: Mapping[str, Any],
    texts: Sequence[str],
    with_mmlu: bool,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, Mapping[str, float]]]]:
    """Per-reply scores, the per-variant table, and per-item KL (and MMLU) values for bootstrapping."""
    scores = generate_and_score(models, variants, prompts, tokenizer, scorer, eval_params, seed)
    retention = eval_params["retention"]
    kl = kl_results(models, variants, tokenizer, texts, retention["kl"])
    mmlu = mmlu_results(models, variants, tokenizer, retention["mmlu"], seed) if with_mmlu else None
    per_item = retention_items(kl, mmlu)
    table = variant_table(scores, per_item, eval_params["distinct_orders"])
    return scores, table, per_item


def confidence_intervals(
    scores: pd.DataFrame,
    per_item: Mapping[str, Mapping[str, Mapping[str, float]]],
    eval_params: Mapping[str, Any],
    contrasts: Sequence[tuple[str, str]],
    seed: int,
) -> pd.DataFrame:
    """Paired bootstrap CIs of (tuned - reference) per metric and contrast (the evaluation's settings)."""
    bootstrap = eval_params["bootstrap"]
    return bootstrap_differences(
        scores,
        per_item,
        eval_params["distinct_orders"],
        bootstrap["n_resamples"],
        bootstrap["confidence"],
        seed,
        contrasts=contrasts,
    )
