"""Evaluation of sweep variants with the evaluation pipeline's code: generation, EPITOME/BERTScore scoring, KL to
the base and MMLU, on any split and any set of adapters stacked on SFT (one copy of the base weights)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from empo_kedro.evaluation.comparison import bootstrap_differences, comparison_table
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
    """General, non-ED texts for KL to the base: MMLU question texts, chosen as the evaluation pipeline does."""
    questions, _ = parse_shipped_mmlu()
    rng = np.random.default_rng(seed)
    items = [questions[i] for i in rng.permutation(len(questions))[:n_texts]]
    return [q["question"] + "\n" + "\n".join(q["choices"]) for q in items]


def generate_and_score(models: VariantModel, variants: Sequence[str], prompts: pd.DataFrame, tokenizer: Any,
                       scorer: EpitomeScorer, eval_params: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Replies of each variant to the same prompts (same decoding), scored per reply like the evaluation does."""
    replies = variant_replies(models, variants, prompts, tokenizer, eval_params["generation"],
                              eval_params["batch_size"], seed)
    return score_reply_frame(replies, scorer, eval_params)


def kl_to_base(models: VariantModel, variants: Sequence[str], tokenizer: Any, texts: Sequence[str],
               kl_params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per-text mean token KL(variant || base) on ``texts``; zeros for the base itself."""
    per_text = {}
    for variant in variants:
        if variant == BASE:
            per_text[variant] = np.zeros(len(texts))
            continue
        with models.use(variant) as model:
            kl = mean_token_kl_in_context(model, models.model.disable_adapter, tokenizer, texts,
                                          kl_params["batch_size"], kl_params["max_length"])
        per_text[variant] = np.nan_to_num(np.asarray(kl["kl_per_text"], dtype=float))
    return per_text


def mmlu_correct(models: VariantModel, variants: Sequence[str], tokenizer: Any, mmlu_params: Mapping[str, Any],
                 seed: int) -> dict[str, np.ndarray]:
    """Per-question correctness (0/1) on the offline MMLU questions, per variant."""
    correct, settings = {}, mmlu_run_settings(mmlu_params)
    for variant in variants:
        with models.use(variant) as model:
            result = run_mmlu(model=model, tokenizer=tokenizer, **settings, seed=seed)
        correct[variant] = np.asarray([float(row["correct"]) for row in result["per_question"]])
        logger.info("MMLU of %s: %.4f on %d questions", variant, result["accuracy"], result["n_questions"])
    return correct


def as_eval_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """A comparison-table row as ``eval/<name>`` metrics (numbers only), the names the evaluation runs use."""
    return {f"eval/{k}": float(v) for k, v in row.items()
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(float(v))}


def variant_table(scores: pd.DataFrame, per_item: Mapping[str, Mapping[str, np.ndarray]],
                  distinct_orders: Sequence[int]) -> pd.DataFrame:
    """The comparison table, with KL to the base and MMLU accuracy as the means of their per-item values."""
    names = {"kl_to_base": "kl_to_base", "mmlu_correct": "mmlu_accuracy"}
    retention: dict[str, dict[str, float]] = {}
    for item, per_variant in per_item.items():
        for variant, values in per_variant.items():
            retention.setdefault(variant, {})[names.get(item, item)] = float(np.mean(values)) if len(values) else 0.0
    return comparison_table(scores, retention, distinct_orders)


def sample_replies(scores: pd.DataFrame, variants: Sequence[str], n_samples: int, compare: tuple[str, str]
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


def evaluate_variants(models: VariantModel, variants: Sequence[str], prompts: pd.DataFrame, tokenizer: Any,
                      scorer: EpitomeScorer, eval_params: Mapping[str, Any], texts: Sequence[str], with_mmlu: bool,
                      seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, np.ndarray]]]:
    """Per-reply scores, the per-variant table, and per-item KL (and MMLU) values for bootstrapping."""
    scores = generate_and_score(models, variants, prompts, tokenizer, scorer, eval_params, seed)
    per_item = {"kl_to_base": kl_to_base(models, variants, tokenizer, texts, eval_params["retention"]["kl"])}
    if with_mmlu:
        per_item["mmlu_correct"] = mmlu_correct(models, variants, tokenizer, eval_params["retention"]["mmlu"], seed)
    table = variant_table(scores, per_item, eval_params["distinct_orders"])
    return scores, table, per_item


def confidence_intervals(scores: pd.DataFrame, per_item: Mapping[str, Mapping[str, np.ndarray]],
                         eval_params: Mapping[str, Any], contrasts: Sequence[tuple[str, str]], seed: int
                         ) -> pd.DataFrame:
    """Paired bootstrap CIs of (tuned - reference) per metric and contrast (the evaluation's settings)."""
    bootstrap = eval_params["bootstrap"]
    return bootstrap_differences(scores, per_item, eval_params["distinct_orders"], bootstrap["n_resamples"],
                                 bootstrap["confidence"], seed, contrasts=contrasts)
