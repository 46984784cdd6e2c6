"""How the results document writes numbers, tables and the sentences computed from a CI.

Kept apart from the section renderers because tests and the sweep pipeline check MLflow's values against the
document through the same functions (``num``, ``describe_difference``, ``describe_win_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# Direction of each metric: -1 lower is better, +1 higher is better, 0 neither (a description, not a verdict).
DIRECTION = {
    "diff_mean": -1,
    "diff_ER": -1,
    "diff_IP": -1,
    "diff_EX": -1,
    "kl_to_base": -1,
    "bertscore_f1": 1,
    "bertscore_precision": 1,
    "bertscore_recall": 1,
    "mmlu_correct": 1,
    "mmlu_accuracy": 1,
    "emotion_p_true": 1,
    "emotion_top3": 1,
    "emotion_p_opposite": -1,
}
LABELS = {
    "diff_mean": "mean diff-EPITOME",
    "diff_ER": "diff-EPITOME ER",
    "diff_IP": "diff-EPITOME IP",
    "diff_EX": "diff-EPITOME EX",
    "bertscore_f1": "BERTScore F1",
    "kl_to_base": "KL to base (nats/token)",
    "mmlu_correct": "MMLU accuracy",
    "mmlu_accuracy": "MMLU accuracy",
    "length_words": "reply length (words)",
    "distinct_2": "distinct-2",
    "emotion_p_true": "mass on the speaker's emotion",
    "emotion_top3": "speaker's emotion in top 3",
    "emotion_p_opposite": "mass on the opposite emotion",
}


def num(value: Any, digits: int = 4) -> str:
    """How every number is written in the document (tests compare with MLflow's values through it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.0000"


def describe_difference(tuned: str, reference: str, metric: str, diff: float, low: float, high: float) -> str:
    """One sentence from a CI: which side is better, or no detectable difference when the CI contains 0."""
    label = LABELS.get(metric, metric)
    figures = f"{tuned} - {reference} {label} = {num(diff)} [{num(low)}, {num(high)}]"
    if low <= 0 <= high:
        return f"{figures}: no detectable difference"
    direction = DIRECTION.get(metric, 0)
    if direction == 0:
        return f"{figures}: {tuned} is {'higher' if low > 0 else 'lower'}"
    better = (low > 0) == (direction > 0)
    return f"{figures}: {tuned} is {'better' if better else 'worse'}"


def describe_win_rate(tuned: str, reference: str, lc: float, low: float, high: float, raw: float | None) -> str:
    """One sentence from a length-controlled win rate and its CI (its null is 0.5)."""
    figures = (
        f"length-controlled win rate of {tuned} over {reference} = {num(lc, 3)} [{num(low, 3)}, {num(high, 3)}]"
        f" (raw {num(raw, 3)})"
    )
    if low <= 0.5 <= high:
        return f"{figures}: no detectable difference at equal length"
    return f"{figures}: {tuned} is {'better' if low > 0.5 else 'worse'} at equal length"


def describe_row(tuned: str, reference: str, metric: str, ci: Mapping[str, float]) -> str:
    return describe_difference(tuned, reference, metric, ci["diff"], ci["low"], ci["high"])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def minutes(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / 60:.1f} min"
