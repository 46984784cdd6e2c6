"""diff-EPITOME: how far generated replies are from the reference in EPITOME levels.

EmPO (Sotolar et al. 2024) scores each reply with EPITOME levels 0/1/2 for the three
empathy mechanisms (ER, IP, EX; see :mod:`empo_kedro.evaluation.epitome`) and
reports, per mechanism, the mean over prompts of the squared level gap::

    diff_<m> = mean_i (level_<m>(generated_i) - level_<m>(reference_i)) ** 2

plus ``diff_mean`` (the mean of the per-mechanism diffs) and the mean levels of both
sides. :func:`per_prompt_squared_gaps` gives the per-prompt values for bootstrapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from empo_kedro.evaluation.epitome_schema import LEVELS


def _as_levels(values: Any, side: str, mechanism: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{side} levels for {mechanism!r} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{side} levels for {mechanism!r} must be numeric, got dtype {arr.dtype}")
    if arr.size:
        arr_f = arr.astype(np.float64)
        bad = ~np.isin(arr_f, LEVELS)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{side} levels for {mechanism!r} must be in {list(LEVELS)}; "
                f"{int(bad.sum())} invalid values, first at index {i}: {arr[i].item()!r}"
            )
    return arr.astype(np.int64)


def _validated(
    generated_levels: Mapping[str, Sequence[int]],
    reference_levels: Mapping[str, Sequence[int]],
) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    gen_keys, ref_keys = list(generated_levels), list(reference_levels)
    if set(gen_keys) != set(ref_keys):
        raise ValueError(
            f"generated and reference levels cover different mechanisms: {sorted(gen_keys)} vs {sorted(ref_keys)}"
        )
    if not gen_keys:
        raise ValueError("no mechanisms given")
    gen = {m: _as_levels(generated_levels[m], "generated", m) for m in gen_keys}
    ref = {m: _as_levels(reference_levels[m], "reference", m) for m in gen_keys}
    lengths = {f"generated[{m}]": len(gen[m]) for m in gen_keys} | {f"reference[{m}]": len(ref[m]) for m in gen_keys}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"all level arrays must have the same length (one per prompt), got {lengths}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("level arrays are empty: diff-EPITOME needs at least one prompt")
    return gen_keys, gen, ref


def per_prompt_squared_gaps(
    generated_levels: Mapping[str, Sequence[int]],
    reference_levels: Mapping[str, Sequence[int]],
) -> pd.DataFrame:
    """Per-prompt squared level gaps, one row per prompt (for bootstrapping).

    Columns: ``sq_gap_<m>`` per mechanism, ``sq_gap_mean`` (mean over mechanisms),
    ``level_<m>_generated`` and ``level_<m>_reference``. The column means of
    ``sq_gap_*`` equal the ``diff_*`` values of :func:`diff_epitome`.
    """
    mechanisms, gen, ref = _validated(generated_levels, reference_levels)
    data: dict[str, np.ndarray] = {}
    for m in mechanisms:
        data[f"sq_gap_{m}"] = ((gen[m] - ref[m]) ** 2).astype(np.float64)
    data["sq_gap_mean"] = np.mean([data[f"sq_gap_{m}"] for m in mechanisms], axis=0)
    for m in mechanisms:
        data[f"level_{m}_generated"] = gen[m]
        data[f"level_{m}_reference"] = ref[m]
    return pd.DataFrame(data)


def diff_epitome(
    generated_levels: Mapping[str, Sequence[int]],
    reference_levels: Mapping[str, Sequence[int]],
) -> dict[str, float]:
    """diff-EPITOME of generated vs reference replies.

    Args:
        generated_levels: mechanism (e.g. ``"ER"``, ``"IP"``, ``"EX"``) -> level per prompt.
        reference_levels: same mechanisms -> level of the ground-truth reply per prompt.

    Returns:
        ``diff_<m>`` per mechanism, ``diff_mean``, ``level_<m>_generated`` and
        ``level_<m>_reference`` (mean levels), and ``n_prompts``; all floats but the count.

    Raises:
        ValueError: different mechanisms, unequal lengths, empty arrays or levels
            outside {0, 1, 2}.
    """
    gaps = per_prompt_squared_gaps(generated_levels, reference_levels)
    mechanisms = [c[len("sq_gap_") :] for c in gaps.columns if c.startswith("sq_gap_") and c != "sq_gap_mean"]
    out: dict[str, float] = {}
    for m in mechanisms:
        out[f"diff_{m}"] = float(gaps[f"sq_gap_{m}"].mean())
    out["diff_mean"] = float(np.mean([out[f"diff_{m}"] for m in mechanisms]))
    for m in mechanisms:
        out[f"level_{m}_generated"] = float(gaps[f"level_{m}_generated"].mean())
    for m in mechanisms:
        out[f"level_{m}_reference"] = float(gaps[f"level_{m}_reference"].mean())
    out["n_prompts"] = int(len(gaps))
    return out
