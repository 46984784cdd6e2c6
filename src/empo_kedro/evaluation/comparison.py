"""Base vs SFT vs DPO: the comparison table, bootstrap CIs of the differences, and plots."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from empo_kedro.errors import UserFacingError  # noqa: E402
from empo_kedro.evaluation.bootstrap import paired_bootstrap_ci  # noqa: E402
from empo_kedro.evaluation.text_metrics import distinct_n  # noqa: E402

# Per-prompt columns averaged into the table; lower is better for diff_*, higher for the rest.
PER_PROMPT_METRICS = (
    "diff_ER",
    "diff_IP",
    "diff_EX",
    "diff_mean",
    "level_ER",
    "level_IP",
    "level_EX",
    "bertscore_precision",
    "bertscore_recall",
    "bertscore_f1",
    "length_words",
)
# Per-reply metrics present only when an emotion classifier scored the replies (emotion_p_opposite is NaN where the
# map gives the conversation's emotion no opposite: averaged and bootstrapped over the prompts that have one).
OPTIONAL_METRICS = ("emotion_p_true", "emotion_top3", "emotion_p_opposite")
CONTRASTS = (("sft", "base"), ("dpo", "sft"))


def comparison_table(
    scores: pd.DataFrame, retention: Mapping[str, Mapping[str, float]], distinct_orders: Sequence[int]
) -> pd.DataFrame:
    """One row per variant: means of the per-prompt metrics, distinct-n, MMLU accuracy and KL to the base."""
    rows = []
    for variant, group in scores.groupby("variant", sort=False):
        row = {"variant": variant, "n_prompts": len(group)}
        row.update(
            {
                metric: float(group[metric].mean())
                for metric in (*PER_PROMPT_METRICS, *OPTIONAL_METRICS)
                if metric in group.columns
            }
        )
        for order in distinct_orders:
            row[f"distinct_{order}"] = distinct_n(group["response"].tolist(), order)
        row.update(retention.get(variant, {}))
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


class PairingError(UserFacingError, ValueError):
    """Two variants were measured on different items, so they cannot be compared item by item."""


def check_same_items(reference_ids: Sequence, tuned_ids: Sequence, what: str, reference: str, tuned: str) -> None:
    """Stop unless both variants hold each item exactly once (a paired bootstrap needs the same items)."""
    reference_ids, tuned_ids = list(reference_ids), list(tuned_ids)
    only_reference = sorted(set(reference_ids) - set(tuned_ids), key=str)
    only_tuned = sorted(set(tuned_ids) - set(reference_ids), key=str)
    repeated = sorted({str(i) for ids in (reference_ids, tuned_ids) for i in ids if ids.count(i) > 1})
    if only_reference or only_tuned or repeated:
        raise PairingError(
            f"{what}: {reference} and {tuned} were not measured on the same items (only {reference}: "
            f"{only_reference[:5]}, only {tuned}: {only_tuned[:5]}, repeated: {repeated[:5]}; "
            f"{len(only_reference)}, {len(only_tuned)} and {len(repeated)} in all): re-run the evaluation of both"
        )


def paired_items(
    per_variant: Mapping[str, Mapping[str, float]], reference: str, tuned: str, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """The two variants' values of the same items (by item id), in the reference's order."""
    reference_values, tuned_values = per_variant[reference], per_variant[tuned]
    check_same_items(reference_values, tuned_values, metric, reference, tuned)
    ids = list(reference_values)
    return (
        np.array([reference_values[i] for i in ids], dtype=float),
        np.array([tuned_values[i] for i in ids], dtype=float),
    )


def paired_replies(scores: pd.DataFrame, reference: str, tuned: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-reply rows of two variants, both sorted by ``conv_id``, once both are known to hold the same prompts."""
    reference_rows = scores.loc[scores["variant"] == reference].sort_values("conv_id")
    tuned_rows = scores.loc[scores["variant"] == tuned].sort_values("conv_id")
    check_same_items(reference_rows["conv_id"], tuned_rows["conv_id"], "per-reply scores (conv_id)", reference, tuned)
    return reference_rows, tuned_rows


def _bootstrap_statistic(
    a: Sequence, b: Sequence, statistic: Callable[[list], float], n_resamples: int, confidence: float, seed: int
) -> dict[str, float]:
    """Percentile CI of statistic(b) - statistic(a) over prompt resamples, for corpus-level metrics."""
    rng = np.random.default_rng(seed)
    n = len(a)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = statistic([b[j] for j in idx]) - statistic([a[j] for j in idx])
    alpha = (1 - confidence) / 2
    return {
        "diff": statistic(list(b)) - statistic(list(a)),
        "low": float(np.quantile(diffs, alpha)),
        "high": float(np.quantile(diffs, 1 - alpha)),
    }


def bootstrap_differences(
    scores: pd.DataFrame,
    per_item_retention: Mapping[str, Mapping[str, Mapping[str, float]]],
    distinct_orders: Sequence[int],
    n_resamples: int,
    confidence: float,
    seed: int,
    contrasts: Sequence[tuple[str, str]] = CONTRASTS,
) -> pd.DataFrame:
    """CIs of (tuned - reference) for every metric and contrast (prompts, MMLU questions or KL texts resampled).

    The default contrasts are SFT-minus-base and DPO-minus-SFT. Replies are paired by ``conv_id`` and per-item
    retention values (``{metric: {variant: {item id: value}}}``) by item id; different items stop with
    :class:`PairingError`.
    """
    variants = set(scores["variant"])
    rows = []
    for tuned, reference in contrasts:
        if not {tuned, reference} <= variants:
            continue
        contrast = f"{tuned}-{reference}"
        replies = dict(zip((reference, tuned), paired_replies(scores, reference, tuned), strict=True))
        for metric in [m for m in (*PER_PROMPT_METRICS, *OPTIONAL_METRICS) if m in scores.columns]:
            a = replies[reference][metric].to_numpy(dtype=float)
            b = replies[tuned][metric].to_numpy(dtype=float)
            defined = np.isfinite(a) & np.isfinite(b)
            if not defined.any():
                continue
            ci = paired_bootstrap_ci(a[defined], b[defined], n_resamples=n_resamples, confidence=confidence, seed=seed)
            rows.append({"metric": metric, "contrast": contrast, **{k: ci[k] for k in ("diff", "low", "high")}})
        texts = {v: replies[v]["response"].tolist() for v in (tuned, reference)}
        for order in distinct_orders:
            ci = _bootstrap_statistic(
                texts[reference],
                texts[tuned],
                lambda t, o=order: distinct_n(t, o),
                min(n_resamples, 1000),
                confidence,
                seed,
            )
            rows.append({"metric": f"distinct_{order}", "contrast": contrast, **ci})
        for metric, per_variant in per_item_retention.items():
            if tuned in per_variant and reference in per_variant:
                ci = paired_bootstrap_ci(
                    *paired_items(per_variant, reference, tuned, metric),
                    n_resamples=n_resamples,
                    confidence=confidence,
                    seed=seed,
                )
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
