"""How far our EPITOME scorer agrees with the levels the original EPITOME checkpoints gave the same replies.

The EmPO authors' prediction files carry the levels of the original RoBERTa EPITOME classifiers for the generated
(``pred_<m>_scores``) and the ground-truth reply (``gt_<m>_scores``). Our scorer is a re-implementation trained on
the same data, so its diff-EPITOME is only comparable with the published one as far as the two scorers agree on
the levels: accuracy (share of identical levels), Cohen's kappa (agreement beyond chance), the quadratic-weighted
kappa (levels are ordinal: a 0 read as 2 is worse than a 0 read as 1) and the mean-level bias (our mean level minus
theirs: diff-EPITOME averages squared level gaps, so a scorer that is right on average but shifted moves it) say how
far.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from empo_kedro.evaluation.epitome_schema import LEVELS, MECHANISMS

# Our column of a side -> the column holding the original checkpoints' level for it.
SIDES = {
    "generated": ("level_{m}", "published_level_{m}"),
    "reference": ("level_{m}_reference", "published_level_{m}_reference"),
}


# What level_agreement reports besides the counts and the confusion matrix (all None when no pair has both levels).
AGREEMENT_FIGURES = (
    "accuracy",
    "cohen_kappa",
    "quadratic_kappa",
    "mean_level_ours",
    "mean_level_theirs",
    "mean_level_bias",
)


def _kappa(theirs: np.ndarray, ours: np.ndarray, weights: str | None) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an undefined kappa is reported as None
        kappa = cohen_kappa_score(theirs, ours, labels=list(LEVELS), weights=weights, replace_undefined_by=np.nan)
    kappa = float(kappa)
    return None if np.isnan(kappa) else kappa


def level_agreement(ours: Sequence[int], theirs: Sequence[Any]) -> dict[str, Any]:
    """Accuracy, Cohen's kappa, quadratic-weighted kappa, mean levels and their bias (ours minus theirs), and the
    confusion matrix (rows: theirs, columns: ours), over the pairs both have.

    ``theirs`` may hold missing values (``None``/``pd.NA``); those pairs are left out and counted in
    ``n_missing``. A kappa is ``None`` when it is undefined (both sides use one and the same level only).
    """
    ours_arr = np.asarray(ours, dtype=np.float64)
    theirs_arr = pd.array(theirs, dtype="Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if ours_arr.shape != theirs_arr.shape:
        raise ValueError(f"{len(ours_arr)} levels of ours but {len(theirs_arr)} of theirs")
    present = ~np.isnan(theirs_arr)
    a, b = ours_arr[present].astype(np.int64), theirs_arr[present].astype(np.int64)
    out: dict[str, Any] = {"n": int(present.sum()), "n_missing": int((~present).sum())}
    if not len(a):
        return {**out, **dict.fromkeys(AGREEMENT_FIGURES), "confusion": None}
    return {
        **out,
        "accuracy": float(np.mean(a == b)),
        "cohen_kappa": _kappa(b, a, None),
        "quadratic_kappa": _kappa(b, a, "quadratic"),
        "mean_level_ours": float(a.mean()),
        "mean_level_theirs": float(b.mean()),
        "mean_level_bias": float(a.mean() - b.mean()),
        "confusion": confusion_matrix(b, a, labels=list(LEVELS)).tolist(),
    }


def published_level_agreement(
    scores: pd.DataFrame, mechanisms: Sequence[str] = MECHANISMS
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{side: {mechanism: level_agreement}}`` for each side (generated, reference) whose column is present."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for side, (ours, theirs) in SIDES.items():
        for m in mechanisms:
            if theirs.format(m=m) in scores.columns:
                out.setdefault(side, {})[m] = level_agreement(scores[ours.format(m=m)], scores[theirs.format(m=m)])
    return out


def published_diff_epitome(scores: pd.DataFrame, mechanisms: Sequence[str] = MECHANISMS) -> dict[str, Any] | None:
    """diff-EPITOME from the original checkpoints' levels in the file, per mechanism over the rows with both levels.

    ``None`` unless the file has both level columns of every mechanism. Put beside ours, it shows how much of a
    difference to the published figures comes from the scorer rather than the replies.
    """
    columns = {m: (f"published_level_{m}", f"published_level_{m}_reference") for m in mechanisms}
    if not all(c in scores.columns for pair in columns.values() for c in pair):
        return None
    out: dict[str, Any] = {}
    for m, (generated, reference) in columns.items():
        both = scores[[generated, reference]].dropna()
        if both.empty:
            return None
        out[f"diff_{m}"] = float(((both[generated] - both[reference]).astype(float) ** 2).mean())
        out[f"n_{m}"] = len(both)
    out["diff_mean"] = float(np.mean([out[f"diff_{m}"] for m in mechanisms]))
    return out
