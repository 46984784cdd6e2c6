"""The search space of a DPO sweep, the trials it expands to, their ids, and the choice of the best trial.

Pure functions on plain Python values (no model, no MLflow), so they are tested in isolation:

- ``expand_space``: grid (every combination, in the order of the YAML) or random search (``n_trials`` draws, the
  same seed giving the same trials, and a larger ``n_trials`` keeping the earlier ones, so a sweep can be extended).
- ``trial_dpo_params``: the ``dpo`` parameter block one trial trains with (shared ``fixed`` settings, then its own).
- ``fingerprint`` / ``trial_id``: stable ids from what changes a trial's result, so a rerun finds finished trials.
- ``select_best``: the best trial on the validation metric among those that pass the guards.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from empo_kedro.emotions.opposites import STRATEGIES
from empo_kedro.errors import UserFacingError
from empo_kedro.params import as_plain
from empo_kedro.training.checkpoints import KEYS_NOT_IN_RESUME_KEY

STRATEGY_KEY = "strategy"
DPO_PREFIX = "dpo."
METHODS = ("grid", "random")
CONTINUOUS = ("uniform", "log_uniform")
GOALS = ("min", "max")
# DPO parameters that never change the trained adapter (besides the trainer's logging/saving keys); the reference
# log-prob cache changes it only by rounding (reference scored in another batch).
DPO_KEYS_NOT_IN_TRIAL_ID = frozenset(
    {"output_dir", "device", "max_eval_pairs", "eval_split", "reference_cache", "sample_replies"}
)
# Speed switches that joined dpo.speed after adapters had been trained; off (their default), they leave a trial's id
# as it was before they existed.
SPEED_KEYS_OFF_BY_DEFAULT = frozenset({"torch_compile"})
SIGNIFICANT_DIGITS = 3


class SweepConfigError(UserFacingError, ValueError):
    """The ``sweep`` parameters are inconsistent (unknown key, empty choice list, test split used for selection...)."""


def _is_range(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in CONTINUOUS


def flatten_settings(settings: Mapping[str, Any] | None, where: str, in_space: bool) -> dict[str, Any]:
    """``{dpo: {training: {beta: ...}}}`` and ``{"dpo.training.beta": ...}`` as the same dotted keys.

    Both spellings arrive: YAML may use either, and ``--params sweep.fixed.dpo.training.max_steps=4`` nests (Kedro
    splits dotted CLI keys, then deep-merges them into the YAML, so the YAML nests too). In the space a leaf is a
    list or a range; in ``fixed`` any non-mapping value. A null leaf is dropped: an environment (or ``--params``)
    removes a key of the base environment by setting it to null.
    """
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and not (in_space and _is_range(value)) and (prefix == "" or value):
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
            return
        if prefix in flat:
            raise SweepConfigError(f"{where}: '{prefix}' is given twice (dotted and nested)")
        if value is not None:  # null unsets a key that a base environment set
            flat[prefix] = value

    walk("", settings or {})
    return flat


def _check_key(key: str, where: str) -> None:
    if key != STRATEGY_KEY and not key.startswith(DPO_PREFIX):
        raise SweepConfigError(f"{where}: '{key}' is neither '{STRATEGY_KEY}' nor a dpo parameter ('dpo.<path>')")


def _check_strategy(value: Any, where: str) -> None:
    if value not in STRATEGIES:
        raise SweepConfigError(f"{where}: strategy '{value}' is not one of {list(STRATEGIES)}")


def _round(value: float) -> float:
    """Sampled values at a few significant digits: readable in MLflow and stable in trial ids."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value))))


def _dimension(key: str, spec: Any, method: str) -> tuple[str, Any]:
    """``('choices', [...])`` or ``('uniform'|'log_uniform', (low, high))``, checked."""
    where = f"sweep.space.{key}"
    _check_key(key, "sweep.space")
    if isinstance(spec, Mapping):
        kinds = [k for k in CONTINUOUS if k in spec]
        if len(kinds) != 1 or len(spec) != 1:
            raise SweepConfigError(
                f"{where}: a range is {{uniform: [low, high]}} or {{log_uniform: [low, high]}}, got {dict(spec)}"
            )
        if method == "grid":
            raise SweepConfigError(
                f"{where}: a grid needs a list of values, not a range ({kinds[0]}); "
                f"use method: random or list the values"
            )
        bounds = spec[kinds[0]]
        if (
            not isinstance(bounds, Sequence)
            or len(bounds) != 2
            or not all(isinstance(b, (int, float)) for b in bounds)
            or not bounds[0] < bounds[1]
        ):
            raise SweepConfigError(f"{where}.{kinds[0]}: expected [low, high] with low < high, got {bounds}")
        if kinds[0] == "log_uniform" and bounds[0] <= 0:
            raise SweepConfigError(f"{where}.log_uniform: bounds must be > 0, got {bounds}")
        return kinds[0], (float(bounds[0]), float(bounds[1]))
    if not isinstance(spec, Sequence) or isinstance(spec, str) or len(spec) == 0:
        raise SweepConfigError(
            f"{where}: expected a non-empty list of values (or a range for random search), got {spec!r}"
        )
    if key == STRATEGY_KEY:
        for value in spec:
            _check_strategy(value, where)
    return "choices", list(spec)


def expand_space(space: Mapping[str, Any], method: str, n_trials: int | None, seed: int) -> list[dict[str, Any]]:
    """The trials of a sweep as ``{key: value}`` settings, in a fixed order.

    ``grid``: every combination, the first key varying slowest. ``random``: ``n_trials`` distinct trials; with only
    lists of values they are the first ``n_trials`` of a seeded shuffle of the grid (all of it when it is smaller),
    with ranges they are seeded draws. Either way the first k trials do not depend on ``n_trials``.
    """
    if method not in METHODS:
        raise SweepConfigError(f"sweep.method must be one of {list(METHODS)}, got '{method}'")
    space = flatten_settings(space, "sweep.space", in_space=True) if isinstance(space, Mapping) else space
    if not isinstance(space, Mapping) or not space:
        raise SweepConfigError("sweep.space is empty: give at least one parameter with a list of values")
    dimensions = {key: _dimension(key, spec, method) for key, spec in space.items()}
    keys = list(dimensions)
    if method == "grid":
        grid = itertools.product(*(dimensions[k][1] for k in keys))
        return [dict(zip(keys, values, strict=True)) for values in grid]
    if n_trials is None or int(n_trials) < 1:
        raise SweepConfigError(f"sweep.n_trials must be >= 1 for random search, got {n_trials}")
    n_trials = int(n_trials)
    rng = np.random.default_rng(seed)
    if all(kind == "choices" for kind, _ in dimensions.values()):
        grid = list(itertools.product(*(dimensions[k][1] for k in keys)))
        order = rng.permutation(len(grid))[:n_trials]
        return [dict(zip(keys, grid[i], strict=False)) for i in order]
    trials: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(20 * n_trials):  # duplicates are possible when most dimensions are short lists
        trial = {}
        for key in keys:
            kind, values = dimensions[key]
            if kind == "choices":
                trial[key] = values[int(rng.integers(len(values)))]
            elif kind == "uniform":
                trial[key] = _round(float(rng.uniform(*values)))
            else:
                trial[key] = _round(float(math.exp(rng.uniform(math.log(values[0]), math.log(values[1])))))
        name = fingerprint(trial)
        if name not in seen:
            seen.add(name)
            trials.append(trial)
        if len(trials) == n_trials:
            break
    return trials


def set_dotted(params: dict, dotted: str, value: Any, where: str) -> None:
    """Set ``a.b.c`` in a nested dict whose path exists; keys under ``training`` may be new (any DPOConfig field)."""
    parts = dotted.split(".")
    node = params
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            raise SweepConfigError(f"{where}: 'dpo.{'.'.join(parts[: depth + 1])}' is not a parameter block")
        node = child
    leaf = parts[-1]
    if leaf not in node and parts[:-1] != ["training"]:
        known = sorted(node)
        raise SweepConfigError(f"{where}: 'dpo.{dotted}' is not a dpo parameter (known under it: {known})")
    node[leaf] = copy.deepcopy(value)


def trial_dpo_params(
    dpo_params: Mapping[str, Any], fixed: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``dpo`` block a trial trains with: the project's, then ``sweep.fixed``, then the trial's settings."""
    params = as_plain(dpo_params)  # a mutable deep copy (the typed block is read-only)
    for where, overrides in (("sweep.fixed", fixed), ("sweep.space", settings)):
        for key, value in overrides.items():
            if key == STRATEGY_KEY:
                continue
            _check_key(key, where)
            set_dotted(params, key[len(DPO_PREFIX) :], value, where)
    return params


def check_fixed(fixed: Mapping[str, Any], space: Mapping[str, Any]) -> None:
    """``sweep.fixed`` holds what every trial shares; a key in both it and the space would be ambiguous."""
    for key in fixed:
        _check_key(key, "sweep.fixed")
    both = sorted(set(fixed) & set(space))
    if both:
        raise SweepConfigError(f"sweep.fixed and sweep.space both set {both}: keep each key in one of them")
    if STRATEGY_KEY in fixed:
        _check_strategy(fixed[STRATEGY_KEY], "sweep.fixed")


def fingerprint(value: Any, length: int = 12) -> str:
    """A short sha256 of a JSON-able value; mapping key order does not matter."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def weight_relevant_dpo_params(dpo_params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a ``dpo`` block that changes the trained adapter (no paths, logging or checkpoint cadence).

    Speed settings added later are left out while they are off (their default), so adapters trained before a
    setting existed keep their identifiers; once on they count (``torch_compile`` is not exact under bf16).
    """
    relevant = {k: v for k, v in dpo_params.items() if k not in DPO_KEYS_NOT_IN_TRIAL_ID and k != "training"}
    if "speed" in relevant:
        relevant["speed"] = {
            k: v for k, v in dict(relevant["speed"]).items() if not (k in SPEED_KEYS_OFF_BY_DEFAULT and not v)
        }
    relevant["training"] = {
        k: v for k, v in dict(dpo_params.get("training", {})).items() if k not in KEYS_NOT_IN_RESUME_KEY
    }
    return relevant


def trial_id(
    dpo_params: Mapping[str, Any], strategy: str, seed: int, lineage: Mapping[str, Any], pairs_fingerprint: str
) -> str:
    """Names a trained adapter: weight-relevant DPO settings, rejected-turn strategy, seed, parent models, data."""
    return fingerprint(
        {
            "dpo": weight_relevant_dpo_params(dpo_params),
            "strategy": strategy,
            "seed": seed,
            "lineage": lineage,
            "pairs": pairs_fingerprint,
        }
    )


def check_sweep_params(sweep: Mapping[str, Any]) -> None:
    """The best trial is chosen on another split than the one it is reported on; ablation strategies are known."""
    selection, final = sweep["selection"], sweep["final"]
    if selection["split"] == final["split"]:
        raise SweepConfigError(
            f"sweep.selection.split and sweep.final.split are both '{final['split']}': the best "
            "trial must be chosen on another split than the one it is reported on"
        )
    for key in ("ablation_strategy", "ablation_counterpart"):
        _check_strategy(final.get(key), f"sweep.final.{key}")


def plan_trials(
    sweep: Mapping[str, Any], dpo_params: Mapping[str, Any], default_strategy: str, seed: int
) -> list[dict[str, Any]]:
    """The trials to run: ``index``, varied ``settings``, shared ``fixed`` settings, ``strategy``, ``dpo_params``."""
    check_sweep_params(sweep)
    fixed = flatten_settings(sweep.get("fixed"), "sweep.fixed", in_space=False)
    check_fixed(fixed, flatten_settings(sweep["space"], "sweep.space", in_space=True))
    default_strategy = fixed.pop(STRATEGY_KEY, default_strategy)
    settings = expand_space(
        sweep["space"],
        sweep["method"],
        sweep.get("n_trials"),
        seed if sweep.get("seed") is None else int(sweep["seed"]),
    )
    return [
        {
            "index": index,
            "settings": trial,
            "fixed": fixed,
            "strategy": trial.get(STRATEGY_KEY, default_strategy),
            "dpo_params": trial_dpo_params(dpo_params, fixed, trial),
        }
        for index, trial in enumerate(settings)
    ]


def ablation_spec(
    plan: Sequence[Mapping[str, Any]], best: Mapping[str, Any], final: Mapping[str, Any]
) -> dict[str, Any]:
    """The best trial's settings with the ablation's rejected turns (``final.ablation_strategy``, i.e. random;
    ``final.ablation_counterpart`` when the best trial already used those)."""
    strategy = final["ablation_strategy"]
    if best["strategy"] == strategy:
        strategy = final["ablation_counterpart"]
    spec = dict(plan[int(best["index"])])
    return {**spec, "strategy": strategy, "settings": {**spec["settings"], STRATEGY_KEY: strategy}}


def guard_failures(
    metrics: Mapping[str, float], reference: Mapping[str, float], guards: Mapping[str, Any]
) -> list[str]:
    """Why a trial fails the guards against the SFT reference on the same split (empty when it passes)."""
    failures = []
    needed = [
        name
        for name, limit in (
            ("eval/bertscore_f1", "bertscore_f1_max_drop"),
            ("eval/kl_to_base", "kl_to_base_max_increase"),
        )
        if guards.get(limit) is not None and not _finite(metrics.get(name))
    ]
    if needed:
        return [f"{name} was not measured (not a finite number)" for name in needed]
    max_drop = guards.get("bertscore_f1_max_drop")
    if max_drop is not None:
        floor = reference["eval/bertscore_f1"] - float(max_drop)
        if metrics["eval/bertscore_f1"] < floor:
            failures.append(f"bertscore_f1 {metrics['eval/bertscore_f1']:.5f} < SFT's - {max_drop} = {floor:.5f}")
    max_increase = guards.get("kl_to_base_max_increase")
    if max_increase is not None:
        ceiling = reference["eval/kl_to_base"] + float(max_increase)
        if metrics["eval/kl_to_base"] > ceiling:
            failures.append(f"kl_to_base {metrics['eval/kl_to_base']:.5f} > SFT's + {max_increase} = {ceiling:.5f}")
    return failures


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def select_best(
    trials: Sequence[Mapping[str, Any]], reference: Mapping[str, float], selection: Mapping[str, Any]
) -> dict[str, Any]:
    """The best trial on ``selection.metric`` (``goal`` min or max) among those passing the guards.

    Each trial is ``{"trial_id", "metrics": {...}}``. When no trial passes, the best of all is chosen and
    ``guards_passed`` is False, so the report can say so. Ties go to the earlier trial.
    """
    if not trials:
        raise SweepConfigError("the sweep has no trials to select from")
    metric, goal = selection["metric"], selection.get("goal", "min")
    if goal not in GOALS:
        raise SweepConfigError(f"sweep.selection.goal must be one of {list(GOALS)}, got '{goal}'")
    measured = [t for t in trials if _finite(t["metrics"].get(metric))]
    if not measured:
        raise SweepConfigError(
            f"sweep.selection.metric '{metric}' is not a finite metric of any trial (they have "
            f"{sorted(trials[0]['metrics'])})"
        )
    guards = selection.get("guards") or {}
    failures = {t["trial_id"]: guard_failures(t["metrics"], reference, guards) for t in trials}
    for trial in trials:
        if trial not in measured:  # e.g. a diverged trial: reported, never chosen
            failures[trial["trial_id"]].insert(0, f"{metric} was not measured (not a finite number)")
    passing = [t for t in measured if not failures[t["trial_id"]]]
    pool = passing or measured
    sign = 1.0 if goal == "min" else -1.0
    best = min(pool, key=lambda t: sign * float(t["metrics"][metric]))  # min() keeps the first of equals
    return {
        "best_trial": best["trial_id"],
        "metric": metric,
        "goal": goal,
        "value": float(best["metrics"][metric]),
        "reference_value": float(reference[metric]) if metric in reference else None,
        "guards": dict(guards),
        "guards_passed": bool(passing),
        "n_trials": len(trials),
        "n_passing": len(passing),
        "guard_failures": {k: v for k, v in failures.items() if v},
    }
