"""The scorer's held-out report: per mechanism accuracy, macro-F1, per-level recall and the confusion matrix, beside
the figures published for the original EPITOME classifiers.

One report for the pipeline (``data/08_reporting/epitome_scorer.json`` and MLflow) and for
``benchmarks/epitome_scorer.py``, so both compare with the same published figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from empo_kedro.evaluation.epitome.params import LEVELS

# Held-out test figures of the original EPITOME classifiers (RoBERTa bi-encoder with seeker attention and rationale
# multi-task), as fractions: macro-F1 ER 74.5, IP 62.6, EX 72.6; accuracy rounded as in ../shared/data/README.md.
PUBLISHED_SOURCE = (
    "Sharma, Miner, Atkins, Althoff (2020). A Computational Approach to Understanding Empathy Expressed in "
    "Text-Based Mental Health Support. EMNLP 2020 (EPITOME), held-out test results of the empathy classifiers."
)
PUBLISHED_EPITOME = {
    "ER": {"accuracy": 0.79, "macro_f1": 0.745},
    "IP": {"accuracy": 0.84, "macro_f1": 0.626},
    "EX": {"accuracy": 0.93, "macro_f1": 0.726},
}


def level_recall_key(level: int) -> str:
    """The report's name of the recall of one level (``recall_level_1``: share of true level-1 pairs found)."""
    return f"recall_level_{level}"


def per_level_recall(confusion: list[list[int]]) -> dict[str, float | None]:
    """Recall of each level from a confusion matrix (rows: true, columns: predicted); ``None`` for a level that has
    no true pair (undefined, not 0)."""
    out: dict[str, float | None] = {}
    for level in LEVELS:
        row_total = sum(confusion[level])
        out[level_recall_key(level)] = confusion[level][level] / row_total if row_total else None
    return out


def macro_f1_of_confusions(confusions: np.ndarray) -> np.ndarray:
    """Macro-F1 over the levels of one or many confusion matrices (``[..., true, predicted]``).

    Per level ``2 tp / (2 tp + fp + fn)``, 0 where a level is neither true nor predicted (scikit-learn's
    ``f1_score(average="macro", zero_division=0)`` with every level listed).
    """
    counts = np.asarray(confusions, dtype=np.float64)
    tp = np.diagonal(counts, axis1=-2, axis2=-1)
    denominator = counts.sum(axis=-1) + counts.sum(axis=-2)  # 2 tp + fn + fp
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return f1.mean(axis=-1)


def bootstrap_macro_f1_interval(
    confusion: list[list[int]], n_resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile interval of macro-F1 over test sets of the same size resampled with replacement.

    Resampling pairs is resampling the cells of the confusion matrix (a multinomial draw with the observed
    shares), so the interval needs only the matrix. With ~20 true pairs of a rare level in a test split, this
    is what says whether a gap of a few points to a published figure is more than the split.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("An empty confusion matrix has no macro-F1 interval")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts.ravel() / n, size=int(n_resamples)).reshape(-1, *counts.shape)
    tail = (1.0 - float(level)) / 2.0
    low, high = np.quantile(macro_f1_of_confusions(draws), [tail, 1.0 - tail])
    return float(low), float(high)


def mean_levels(confusion: list[list[int]]) -> dict[str, float]:
    """Mean true and mean predicted level and their gap (predicted minus true), the calibration check: diff-EPITOME
    averages squared level gaps between generated and human replies, so a scorer shifted differently on the two moves
    it even at the same accuracy."""
    counts = np.asarray(confusion, dtype=np.float64)
    levels = np.asarray(LEVELS, dtype=np.float64)
    n = counts.sum()
    true_mean = float(counts.sum(axis=1) @ levels / n)
    predicted_mean = float(counts.sum(axis=0) @ levels / n)
    return {
        "mean_level_true": true_mean,
        "mean_level_predicted": predicted_mean,
        "mean_level_bias": predicted_mean - true_mean,
    }


def scorer_heldout_report(
    metrics: Mapping[str, Mapping[str, Any]],
    published: Mapping[str, Mapping[str, float]] = PUBLISHED_EPITOME,
    interval: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[list[int]]]]:
    """(figures, confusion matrices) per mechanism, from each mechanism's ``confusion`` (rows: true level) as
    :func:`~empo_kedro.evaluation.epitome.scorer.level_metrics` returns it; nothing else of ``metrics`` is read.

    The figures are flat numbers (MLflow metrics): ``accuracy``, ``macro_f1``, ``recall_level_<l>``, ``n``,
    ``mean_level_true`` / ``mean_level_predicted`` / ``mean_level_bias``; with ``interval`` (``n_resamples``,
    ``level``) ``macro_f1_low`` / ``macro_f1_high`` (bootstrap, seeded with ``seed``); and, where a published
    figure exists, ``macro_f1_gap`` / ``accuracy_gap`` (ours minus published, as fractions).
    """
    figures: dict[str, dict[str, Any]] = {}
    confusions: dict[str, list[list[int]]] = {}
    for m, values in metrics.items():
        confusion = [list(map(int, r)) for r in values["confusion"]]
        counts = np.asarray(confusion)
        n = int(counts.sum())
        row: dict[str, Any] = {
            "accuracy": float(np.trace(counts) / n) if n else 0.0,
            "macro_f1": float(macro_f1_of_confusions(counts)),
            **per_level_recall(confusion),
            "n": n,
        }
        if n:
            row.update(mean_levels(confusion))
            if interval is not None:
                row["macro_f1_low"], row["macro_f1_high"] = bootstrap_macro_f1_interval(
                    confusion, int(interval["n_resamples"]), float(interval["level"]), seed
                )
        for key in ("accuracy", "macro_f1"):
            if m in published:
                row[f"{key}_gap"] = row[key] - float(published[m][key])
        figures[m] = row
        confusions[m] = confusion
    return figures, confusions
