"""The checks that make a DPO-vs-SFT answer trustworthy, on a per-reply scores frame: length-adjusted contrasts, a
length-controlled win rate, and contrasts pooled over training seeds.

Seeds: a variant trained with several seeds is evaluated as several variants (``dpo``, ``dpo_s1``, ``dpo_s2``, ...);
a *group* names them (``{"dpo": ["dpo", "dpo_s1", "dpo_s2"]}``). Pooled contrasts average the seeds per prompt and
resample prompts and seeds (:func:`~empo_kedro.evaluation.length_control.seeded_bootstrap_ci`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from empo_kedro.evaluation.length_control import lc_win_rate_ci, length_adjusted_difference, seeded_bootstrap_ci

logger = logging.getLogger(__name__)

LENGTH_COLUMN = "length_words"
SEED_SUFFIX = "_s"
# Kinds of CI rows (the ``kind`` column; MLflow names ``final_<kind>/<contrast>/<metric>/<bound>`` in the sweep).
ADJUSTED, SEEDS, LC_WIN_RATE = "length_adjusted", "seeds", "lc_win_rate"


def seed_variant(variant: str, index: int) -> str:
    """The variant name of training seed ``index`` (0 keeps the plain name)."""
    return variant if index == 0 else f"{variant}{SEED_SUFFIX}{index}"


def groups_of(variants: Sequence[str], seeded: Sequence[str]) -> dict[str, list[str]]:
    """Every variant as its own group, except the seed copies of ``seeded`` variants, which join their variant."""
    groups: dict[str, list[str]] = {}
    for variant in variants:
        owner = next(
            (
                s
                for s in seeded
                if variant == s
                or (variant.startswith(f"{s}{SEED_SUFFIX}") and variant[len(s) + len(SEED_SUFFIX) :].isdigit())
            ),
            variant,
        )
        groups.setdefault(owner, []).append(variant)
    return groups


def per_prompt(scores: pd.DataFrame, variants: Sequence[str], column: str) -> pd.DataFrame:
    """(prompts x variants) values of ``column``, rows sorted by ``conv_id``."""
    frame = scores.loc[scores["variant"].isin(variants)]
    wide = frame.pivot_table(index="conv_id", columns="variant", values=column, aggfunc="first", dropna=False)
    missing = [v for v in variants if v not in wide.columns]
    if missing:
        raise ValueError(f"No '{column}' scores for variant(s) {missing}")
    return wide[list(variants)].sort_index()


def _arms(
    scores: pd.DataFrame, groups: Mapping[str, Sequence[str]], tuned: str, reference: str, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(seeds, prompts) metric and length arrays of both arms on the prompts where all are finite."""
    values = per_prompt(scores, [*groups[reference], *groups[tuned]], metric)
    lengths = per_prompt(scores, [*groups[reference], *groups[tuned]], LENGTH_COLUMN)
    keep = np.isfinite(values.to_numpy(dtype=float)).all(axis=1) & np.isfinite(lengths.to_numpy(dtype=float)).all(1)
    n_ref = len(groups[reference])
    metric_array, length_array = values.to_numpy(dtype=float)[keep].T, lengths.to_numpy(dtype=float)[keep].T
    return metric_array[:n_ref], metric_array[n_ref:], length_array[:n_ref], length_array[n_ref:], int((~keep).sum())


def robustness_cis(
    scores: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    contrasts: Sequence[tuple[str, str]],
    metrics: Sequence[str],
    params: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Rows ``kind, contrast, metric, diff, low, high`` (+ ``raw_diff`` / ``win_rate``) for each contrast of groups.

    ``params``: ``n_resamples``, ``confidence``, ``lc_n_resamples``, ``lc_metric`` (the metric a win is decided
    on; lower wins). Prompts where a metric is undefined (NaN: an emotion with no opposite in the map) are left out
    of that metric's contrasts, and counted in ``n_left_out``.
    """
    n_resamples, confidence = int(params["n_resamples"]), float(params["confidence"])
    rows = []
    for tuned, reference in contrasts:
        if tuned not in groups or reference not in groups:
            continue
        contrast = f"{tuned}-{reference}"
        for metric in metrics:
            if metric not in scores.columns:
                continue
            ref, tun, ref_len, tun_len, left_out = _arms(scores, groups, tuned, reference, metric)
            if ref.shape[1] == 0:
                logger.warning("No prompt has '%s' for %s: no CI", metric, contrast)
                continue
            pooled = seeded_bootstrap_ci(ref, tun, n_resamples, confidence, seed)
            rows.append(
                {
                    "kind": SEEDS,
                    "contrast": contrast,
                    "metric": metric,
                    "n_left_out": left_out,
                    **{k: pooled[k] for k in ("diff", "low", "high", "n")},
                }
            )
            if metric != LENGTH_COLUMN:
                adjusted = length_adjusted_difference(ref, tun, ref_len, tun_len, n_resamples, confidence, seed)
                rows.append(
                    {
                        "kind": ADJUSTED,
                        "contrast": contrast,
                        "metric": metric,
                        "n_left_out": left_out,
                        **{k: adjusted[k] for k in ("diff", "low", "high", "raw_diff", "n")},
                    }
                )
        lc_metric = params.get("lc_metric", "diff_mean")
        if lc_metric in scores.columns:
            ref, tun, ref_len, tun_len, left_out = _arms(scores, groups, tuned, reference, lc_metric)
            lc = lc_win_rate_ci(
                ref,
                tun,
                ref_len,
                tun_len,
                lower_is_better=True,
                n_resamples=int(params["lc_n_resamples"]),
                confidence=confidence,
                seed=seed,
            )
            rows.append(
                {
                    "kind": LC_WIN_RATE,
                    "contrast": contrast,
                    "metric": lc_metric,
                    "n_left_out": left_out,
                    "diff": lc["lc_win_rate"],
                    "low": lc["low"],
                    "high": lc["high"],
                    "win_rate": lc["win_rate"],
                    "n": lc["n"],
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        null = np.where(table["kind"] == LC_WIN_RATE, 0.5, 0.0)  # a win rate's "no difference" is 1/2
        table["excludes_null"] = (table["low"] > null) | (table["high"] < null)
    return table


def seed_summary(table: pd.DataFrame, groups: Mapping[str, Sequence[str]], metrics: Sequence[str]) -> pd.DataFrame:
    """Per group with several seeds: ``n_seeds`` and the mean and sample sd across seeds of each metric."""
    rows = []
    for group, variants in groups.items():
        present = [v for v in variants if v in table.index]
        row: dict[str, Any] = {"group": group, "n_seeds": len(present)}
        for metric in metrics:
            if metric in table.columns:
                values = table.loc[present, metric].astype(float)
                row[f"{metric}_mean"] = float(values.mean())
                row[f"{metric}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
