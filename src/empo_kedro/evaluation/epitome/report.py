"""The scorer's held-out report: per mechanism accuracy, macro-F1, per-level recall and the confusion matrix, beside
the figures published for the original EPITOME classifiers.

One report for the pipeline (``data/08_reporting/epitome_scorer.json`` and MLflow) and for
``benchmarks/epitome_scorer.py``, so both compare with the same published figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def scorer_heldout_report(
    metrics: Mapping[str, Mapping[str, Any]],
    published: Mapping[str, Mapping[str, float]] = PUBLISHED_EPITOME,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[list[int]]]]:
    """(figures, confusion matrices) per mechanism from :func:`~empo_kedro.evaluation.epitome.scorer.level_metrics`.

    The figures are flat numbers (MLflow metrics): ``accuracy``, ``macro_f1``, ``recall_level_<l>``, ``n`` and,
    where a published figure exists, ``macro_f1_gap`` / ``accuracy_gap`` (ours minus published, as fractions).
    """
    figures: dict[str, dict[str, Any]] = {}
    confusions: dict[str, list[list[int]]] = {}
    for m, values in metrics.items():
        row = {
            "accuracy": float(values["accuracy"]),
            "macro_f1": float(values["macro_f1"]),
            **per_level_recall(values["confusion"]),
            "n": int(values["n"]),
        }
        for key in ("accuracy", "macro_f1"):
            if m in published:
                row[f"{key}_gap"] = row[key] - float(published[m][key])
        figures[m] = row
        confusions[m] = [list(map(int, r)) for r in values["confusion"]]
    return figures, confusions
