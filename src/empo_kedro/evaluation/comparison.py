"""Base vs SFT vs DPO: the comparison table, bootstrap CIs of the differences, and plots."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from empo_kedro.evaluation.bootstrap import paired_bootstrap_ci  # noqa: E402
from empo_kedro.evaluation.text_metrics import distinct_n  # noqa: E402

# Per-prompt columns averaged into the table; lower is better for diff_*, higher for the rest.
PER_PROMPT_METRICS = ("diff_ER", "diff_IP", "diff_EX", "diff_mean", "level_ER", "level_IP", "level_EX",
                      "bertscore_precision", "bertscore_recall", "bertscore_f1", "length_words")
CONTRASTS = (("sft", "base"), ("dpo", "sft"))


def comparison_table(scores: pd.DataFrame, retention: Mapping[str, Mapping[str, float]],
                     distinct_orders: Sequence[int]) -> pd.DataFrame:
    """One row per variant: means of the per-prompt metrics, distinct-n, MMLU accuracy and KL to the base."""
    rows = []
    for variant, group in scores.groupby("variant", sort=False):
        row = {"variant": variant, "n_prompts": len(group)}
        row.update({metric: float(group[metric].mean()) for metric in PER_PROMPT_METRICS})
        for order in distinct_orders:
            row[f"distinct_{order}"] = distinct_n(group["response"].tolist(), order)
        row.update(retention.get(variant, {}))
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def _paired(scores: pd.DataFrame, variant: str, column: str) -> np.ndarray:
    return scores.loc[scores["variant"] == variant].sort_values("conv_id")[column].to_numpy(dtype=float)


def _bootstrap_statistic(a: Sequence, b: Sequence, statistic: Callable[[list], float], n_resamples: int,
                         confidence: float, seed: int) -> dict[str, float]:
    """Percentile CI of statistic(b) - statistic(a) over prompt resamples, for corpus-level metrics."""
    rng = np.random.default_rng(seed)
    n = len(a)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = statistic([b[j] for j in idx]) - statistic([a[j] for j in idx])
    alpha = (1 - confidence) / 2
    return {"diff": statistic(list(b)) - statistic(list(a)), "low": float(np.quantile(diffs, alpha)),
            "high": float(np.quantile(diffs, 1 - alpha))}


def bootstrap_differences(scores: pd.DataFrame, per_item_retention: Mapping[str, Mapping[str, np.ndarray]],
                          distinct_orders: Sequence[int], n_resamples: int, confidence: float,
                          seed: int, contrasts: Sequence[tuple[str, str]] = CONTRASTS) -> pd.DataFrame:
    """CIs of (tuned - reference) for every metric and contrast (prompts, MMLU questions or KL texts resampled).

    The default contrasts are SFT-minus-base and DPO-minus-SFT.
    """
    variants = set(scores["variant"])
    rows = []
    for tuned, reference in contrasts:
        if not {tuned, reference} <= variants:
            continue
        contrast = f"{tuned}-{reference}"
        for metric in PER_PROMPT_METRICS:
            ci = paired_bootstrap_ci(_paired(scores, reference, metric), _paired(scores, tuned, metric),
                                     n_resamples=n_resamples, confidence=confidence, seed=seed)
            rows.append({"metric": metric, "contrast": contrast, **{k: ci[k] for k in ("diff", "low", "high")}})
        texts = {v: scores.loc[scores["variant"] == v].sort_values("conv_id")["response"].tolist()
                 for v in (tuned, reference)}
        for order in distinct_orders:
            ci = _bootstrap_statistic(texts[reference], texts[tuned], lambda t, o=order: distinct_n(t, o),
                                      min(n_resamples, 1000), confidence, seed)
            rows.append({"metric": f"distinct_{order}", "contrast": contrast, **ci})
        for metric, per_variant in per_item_retention.items():
            if tuned in per_variant and reference in per_variant:
                ci = paired_bootstrap_ci(per_variant[reference], per_variant[tuned], n_resamples=n_resamples,
                                         confidence=confidence, seed=seed)
                rows.append({"metric": metric, "contrast": contrast, **{k: ci[k] for k in ("diff", "low", "high")}})
    table = pd.DataFrame(rows)
    table["excludes_zero"] = (table["low"] > 0) | (table["high"] < 0)
    return table


def plot_metrics(table: pd.DataFrame, columns: Sequence[str], title: str) -> plt.Figure:
    """Grouped bars: one group per metric, one bar per variant."""
    present = [c for c in columns if c in table.columns]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(present)), 4))
    width = 0.8 / max(1, len(table))
    x = np.arange(len(present))
    for i, (variant, row) in enumerate(table.iterrows()):
        ax.bar(x + i * width, [row[c] for c in present], width, label=variant)
    ax.set_xticks(x + width * (len(table) - 1) / 2, present, rotation=30, ha="right")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_training_curves(log_history: Sequence[Mapping[str, float]], keys: Sequence[str], title: str) -> plt.Figure:
    """Per-step training metrics (e.g. DPO loss and reward margins) from a trainer's log history."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        points = [(e["step"], e[key]) for e in log_history if key in e and "step" in e]
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, marker=".")
        ax.set_title(key)
        ax.set_xlabel("step")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
