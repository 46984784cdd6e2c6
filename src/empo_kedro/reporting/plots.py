"""The sweep plot: the selection metric of every trial against the settings it varied (beta, learning rate...)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

LOG_SCALE_MIN_RATIO = 9.0  # an axis spanning more than this factor is drawn on a log scale
MAX_LABELLED_TICKS = 8  # up to this many distinct values: one tick per value
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _numeric(values: pd.Series) -> pd.Series | None:
    converted = pd.to_numeric(values, errors="coerce")
    return converted if converted.notna().all() else None


def categorical_setting(trials: pd.DataFrame, keys: Sequence[str]) -> str | None:
    """The first varied, non-numeric setting besides the strategy (e.g. the loss type), shown by marker shape."""
    for key in keys:
        if (
            key != "strategy"
            and key in trials.columns
            and _numeric(trials[key]) is None
            and trials[key].astype(str).nunique() > 1
        ):
            return key
    return None


def plot_sweep(
    trials: pd.DataFrame,
    x_keys: Sequence[str],
    metric: str,
    reference_value: float | None,
    best_trial: str | None,
    title: str,
    style_key: str | None = None,
) -> plt.Figure:
    """One panel per numeric setting in ``x_keys`` that the trials hold (trial number when none does).

    ``trials`` has a ``trial_id`` and a ``strategy`` column, one column per setting and one for ``metric``.
    Points are coloured by strategy (and shaped by ``style_key``), the best trial is circled, SFT's value on the
    same split is a dashed line.
    """
    panels = [(key, x) for key in x_keys if key in trials.columns and (x := _numeric(trials[key])) is not None]
    if not panels:
        panels = [("trial", pd.Series(np.arange(len(trials)), index=trials.index))]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    strategies = sorted(trials["strategy"].astype(str).unique()) if len(trials) else []
    colours = {s: f"C{i}" for i, s in enumerate(strategies)}
    y = pd.to_numeric(trials[metric], errors="coerce") if metric in trials.columns else pd.Series(dtype=float)
    styles = sorted(trials[style_key].astype(str).unique()) if style_key else [None]
    markers = dict(zip(styles, MARKERS, strict=False))  # more styles than markers: the rest get none
    for ax, (key, x) in zip(axes[0], panels, strict=True):
        for strategy in strategies:
            for style in styles:
                rows = trials["strategy"].astype(str) == strategy
                if style is not None:
                    rows &= trials[style_key].astype(str) == style
                if rows.any():
                    label = strategy if style is None else f"{strategy}, {style}"
                    ax.scatter(
                        x[rows], y[rows], color=colours[strategy], marker=markers[style], label=label, alpha=0.8
                    )
        if best_trial is not None and (trials["trial_id"] == best_trial).any():
            best = trials["trial_id"] == best_trial
            ax.scatter(x[best], y[best], s=160, facecolors="none", edgecolors="black", label="best")
        if reference_value is not None:
            ax.axhline(reference_value, color="grey", linestyle="--", label="SFT")
        positive = x[x > 0]
        if len(positive) == len(x) and len(x) and positive.max() / positive.min() > LOG_SCALE_MIN_RATIO:
            ax.set_xscale("log")
        values = sorted(set(x.tolist()))
        if 0 < len(values) <= MAX_LABELLED_TICKS:  # label the values tried, not matplotlib's log decades
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
    axes[0][-1].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
