"""Held-out benchmark of EPITOME scorer variants, side by side in one run.

Not a test: it trains every variant (minutes each on CPU) on the same train split, selects epochs and logit offsets
on the same validation split and reports each on the same held-out test split (grouped by seeker post, used neither
for training nor for selection), beside the published EPITOME figures. Variants are ranked on the validation split
(choose there; the test figures are the report, not a target). Each variant's training time is recorded
with the machine, so the figures say what a variant costs here.

    .venv/bin/python benchmarks/epitome_scorer.py                          # one variant: the YAML defaults
    .venv/bin/python benchmarks/epitome_scorer.py \\
        --variant default: \\
        --variant ip_weighted:class_weight_power=1.0,epochs=6 \\
        --variant cls:pooling=cls \\
        --variant ensemble3:ensemble_seeds=3
    .venv/bin/python benchmarks/epitome_scorer.py --variants-file variants.yml   # {name: {key: value}}

A variant is a name and overrides of ``evaluation.epitome.scorer`` (:class:`EpitomeScorerParams`; JSON values, so
``logit_bias_grid=[0,1]`` is a list), plus two benchmark keys: ``encoder`` (an HF encoder path/id for this variant)
and ``ensemble_seeds`` (N > 1: N scorers trained with seeds ``seed .. seed+N-1``, their level probabilities averaged;
measured here only, the pipeline's saved scorer is one model). Every variant is checked before any training starts.

Writes one JSON (default data/08_reporting/benchmarks/epitome_scorer.json, or --out).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# On a shared CPU, busy-waiting OpenMP threads collapse throughput (measured 7 s/step with
# 2 spinning threads vs 0.9 s passive); must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from empo_kedro.data.epitome import read_epitome_dir, split_pairs  # noqa: E402
from empo_kedro.evaluation.epitome import (  # noqa: E402
    EpitomeScorer,
    EpitomeScorerParams,
    default_encoder_path,
    level_metrics,
    train_epitome_scorer,
)
from empo_kedro.evaluation.epitome.params import resolve_device  # noqa: E402
from empo_kedro.evaluation.epitome.report import (  # noqa: E402
    PUBLISHED_EPITOME,
    PUBLISHED_SOURCE,
    scorer_heldout_report,
)
from empo_kedro.io.atomic import write_json_atomically  # noqa: E402
from empo_kedro.tracking.benchmark_runs import log_benchmark_run  # noqa: E402
from empo_kedro.tracking.machine import machine_tags  # noqa: E402
from empo_kedro.training.precision import bf16_support  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "epitome"
PARAMETERS = REPO / "conf" / "base" / "parameters_evaluation.yml"
OUT = REPO / "data" / "08_reporting" / "benchmarks" / "epitome_scorer.json"
DEFAULT_VARIANT = "default"
# The acceptance: within this many macro-F1 points (as a fraction) of every published figure.
ACCEPTANCE_MARGIN = 0.05
BENCHMARK_KEYS = ("encoder", "ensemble_seeds")
# "a=1,b=[1,2],c=x" -> split on the commas that start a new key=
PAIR_SEPARATOR = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")

logger = logging.getLogger("benchmarks.epitome_scorer")


class VariantError(ValueError):
    """A variant that cannot run (bad syntax, unknown key, bad value), named before any training starts."""


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_variant(spec: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,key=value`` -> (name, overrides); ``name:`` or ``name`` alone is the defaults."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise VariantError(f"--variant {spec!r}: give a name, e.g. --variant cls:pooling=cls")
    overrides: dict[str, Any] = {}
    for pair in PAIR_SEPARATOR.split(rest) if rest.strip() else []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise VariantError(f"--variant {spec!r}: {pair!r} is not key=value")
        overrides[key.strip()] = _parse_value(value.strip())
    return name, overrides


def check_variants(variants: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every variant's overrides checked (scorer params and benchmark keys) so a typo stops the run at once."""
    checked = {}
    for name, overrides in variants.items():
        if not isinstance(overrides, Mapping):
            raise VariantError(f"variant {name!r}: overrides must be a mapping of key: value, got {overrides!r}")
        scorer_params = {k: v for k, v in overrides.items() if k not in BENCHMARK_KEYS}
        try:
            EpitomeScorerParams.from_mapping(scorer_params)
        except (TypeError, ValueError) as exc:
            raise VariantError(f"variant {name!r}: {exc}") from exc
        n_seeds = overrides.get("ensemble_seeds", 1)
        if not isinstance(n_seeds, int) or isinstance(n_seeds, bool) or n_seeds < 1:
            raise VariantError(f"variant {name!r}: ensemble_seeds must be an integer >= 1, got {n_seeds!r}")
        checked[str(name)] = dict(overrides)
    return checked


def read_variants(specs: Sequence[str], variants_file: Path | None) -> dict[str, dict[str, Any]]:
    """Variants from --variants-file (YAML ``{name: {key: value}}``) then --variant flags, in that order."""
    variants: dict[str, dict[str, Any]] = {}
    if variants_file is not None:
        loaded = yaml.safe_load(variants_file.read_text()) or {}
        if not isinstance(loaded, Mapping):
            raise VariantError(f"{variants_file}: expected a mapping of variant name -> overrides")
        variants.update({str(k): dict(v or {}) for k, v in loaded.items()})
    for spec in specs:
        name, overrides = parse_variant(spec)
        if name in variants:
            raise VariantError(f"variant {name!r} given twice")
        variants[name] = overrides
    return check_variants(variants or {DEFAULT_VARIANT: {}})


def ensemble_proba(
    scorers: Sequence[EpitomeScorer], frame: pd.DataFrame, apply_logit_bias: bool = True
) -> dict[str, np.ndarray]:
    """Level probabilities per mechanism averaged over the scorers (each with its own tuned logit offsets)."""
    seekers, responses = frame["seeker_post"].tolist(), frame["response_post"].tolist()
    probas = [scorer.predict_proba(seekers, responses, apply_logit_bias=apply_logit_bias) for scorer in scorers]
    return {m: np.mean([p[m] for p in probas], axis=0) for m in probas[0]}


def evaluate_members(
    scorers: Sequence[EpitomeScorer], frame: pd.DataFrame, apply_logit_bias: bool = True
) -> dict[str, dict[str, Any]]:
    """:func:`level_metrics` of the averaged probabilities (one scorer: its own predictions)."""
    proba = ensemble_proba(scorers, frame, apply_logit_bias)
    true = {m: frame[f"level_{m}"].to_numpy() for m in proba}
    return level_metrics(true, {m: p.argmax(axis=1) for m, p in proba.items()})


def run_variant(
    name: str,
    overrides: Mapping[str, Any],
    split: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    default_encoder: str,
    defaults: Mapping[str, Any],
    seed: int,
    interval: Mapping[str, Any],
) -> dict[str, Any]:
    """Train one variant (N members for an ensemble; ``overrides`` on top of ``defaults``, the YAML's
    ``evaluation.epitome.scorer``) and report it on the held-out test split."""
    train, val, test = split
    encoder = str(overrides.get("encoder") or default_encoder)
    n_seeds = int(overrides.get("ensemble_seeds", 1))
    params = {**defaults, **{k: v for k, v in overrides.items() if k not in BENCHMARK_KEYS}}
    members, member_metrics = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for member in range(n_seeds):
        logger.info("Variant %s: training member %d/%d (seed %d)", name, member + 1, n_seeds, seed + member)
        scorer, metrics = train_epitome_scorer(train, encoder, params, seed=seed + member, val_df=val)
        members.append(scorer)
        member_metrics.append(metrics)
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    test_metrics = evaluate_members(members, test)
    predict_seconds = time.perf_counter() - t1
    without_bias = evaluate_members(members, test, apply_logit_bias=False)
    val_metrics = evaluate_members(members, val)
    figures, confusion = scorer_heldout_report(test_metrics, interval=interval, seed=seed)
    return {
        "overrides": dict(overrides),
        "params": member_metrics[0]["params"],
        "encoder": encoder,
        "ensemble_seeds": n_seeds,
        "seeds": [seed + member for member in range(n_seeds)],
        "train_wall_seconds": round(train_wall, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "test_predict_seconds": round(predict_seconds, 1),
        "members": [
            {
                "seed": scorer.config["seed"],  # as the trained scorer recorded it
                "best_epoch": m["best_epoch"],
                "epochs_run": m["epochs_run"],
                "train_seconds": round(m["train_seconds"], 1),
                "val_macro_f1_mean": m["val_macro_f1_mean"],
                "logit_bias": m["logit_bias"],
            }
            for scorer, m in zip(members, member_metrics, strict=True)
        ],
        "val_macro_f1": {m: v["macro_f1"] for m, v in val_metrics.items()},
        "val_macro_f1_mean": float(np.mean([v["macro_f1"] for v in val_metrics.values()])),
        "test": figures,
        "test_confusion": confusion,
        "test_macro_f1_mean": float(np.mean([f["macro_f1"] for f in figures.values()])),
        "test_macro_f1_without_logit_bias": {m: v["macro_f1"] for m, v in without_bias.items()},
        "within_acceptance": all(
            f["macro_f1"] >= PUBLISHED_EPITOME[m]["macro_f1"] - ACCEPTANCE_MARGIN
            for m, f in figures.items()
            if m in PUBLISHED_EPITOME
        ),
    }


def machine_info(threads: int) -> dict[str, Any]:
    support = bf16_support(resolve_device("auto").type)
    return {
        **{k.removeprefix("machine."): v for k, v in machine_tags().items()},
        "benchmark_threads": threads,
        "bf16_native": support.native,
        "load_average": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="EPITOME directory (the three Reddit CSVs)")
    ap.add_argument("--encoder", default=None, help="HF encoder id/path of every variant (default: packaged MiniLM)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the split and of the (first) training")
    ap.add_argument("--val-fraction", type=float, default=None, help="default: evaluation.epitome.val_fraction")
    ap.add_argument("--test-fraction", type=float, default=None, help="default: evaluation.epitome.test_fraction")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...", help="repeatable")
    ap.add_argument("--variants-file", type=Path, default=None, help="YAML {name: {key: value}}")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every variant")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--resume", action="store_true", help="reuse the variants --out already holds (same overrides, seed, data)"
    )
    ap.add_argument("--no-mlflow", action="store_true", help="do not log the result to the MLflow store")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    epitome_params = yaml.safe_load(PARAMETERS.read_text())["evaluation"]["epitome"]
    common = dict(parse_variant("set:" + ",".join(args.set))[1]) if args.set else {}
    variants = read_variants(args.variant, args.variants_file)
    check_variants({name: {**common, **overrides} for name, overrides in variants.items()})
    val_fraction = epitome_params["val_fraction"] if args.val_fraction is None else args.val_fraction
    test_fraction = epitome_params["test_fraction"] if args.test_fraction is None else args.test_fraction
    group_column = epitome_params["group_column"]

    pairs = read_epitome_dir(args.data)
    split = split_pairs(pairs, val_fraction, test_fraction, args.seed, group_column=group_column)
    default_encoder = args.encoder or str(default_encoder_path())
    finished = finished_variants(args.out, args.data, args.seed) if args.resume else {}
    results = {}
    for name, overrides in variants.items():
        overrides = {**common, **overrides}
        earlier = same_training(finished, overrides, default_encoder, epitome_params["scorer"])
        if earlier is not None:
            logger.info("Variant %s: trained as %r in %s with the same settings, reusing it", name, earlier, args.out)
            reused = {**finished[earlier], "overrides": overrides}
            results[name] = with_test_figures(reused, epitome_params["heldout_interval"], args.seed)
        else:
            results[name] = run_variant(
                name,
                overrides,
                split,
                default_encoder,
                epitome_params["scorer"],
                args.seed,
                epitome_params["heldout_interval"],
            )
        test_f1 = {m: round(f["macro_f1"], 3) for m, f in results[name]["test"].items()}
        logger.info("Variant %s: test macro-F1 %s", name, test_f1)
        # after every variant, so a killed run keeps the finished ones; the last write is the whole result
        result = write_result(args, split, group_column, val_fraction, test_fraction, results)
    if not args.no_mlflow:
        log_benchmark_run(
            f"epitome_scorer-{len(results)}-variants",
            {
                "data": args.data,
                "seed": args.seed,
                "variants": json.dumps({n: r["overrides"] for n, r in results.items()}),
            },
            {"variants": results},
            args.out,
            REPO / "mlruns" / "mlflow.db",
        )
    summary = {
        name: {
            "val_macro_f1_mean": round(100 * r["val_macro_f1_mean"], 1),
            "test_macro_f1": {m: round(100 * f["macro_f1"], 1) for m, f in r["test"].items()},
            "train_wall_seconds": r["train_wall_seconds"],
        }
        for name, r in results.items()
    }
    print(json.dumps({"variants": summary, "out": str(args.out)}, indent=2))
    return result


def training_settings(
    overrides: Mapping[str, Any], default_encoder: str, defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], str, int]:
    """What a variant trains: its resolved scorer parameters, encoder and ensemble size (not how it was written:
    ``{}`` means other settings once the YAML defaults change)."""
    params = {**defaults, **{k: v for k, v in overrides.items() if k not in BENCHMARK_KEYS}}
    return (
        EpitomeScorerParams.from_mapping(params).as_dict(),
        str(overrides.get("encoder") or default_encoder),
        int(overrides.get("ensemble_seeds", 1)),
    )


def same_training(
    finished: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, Any],
    default_encoder: str,
    defaults: Mapping[str, Any],
) -> str | None:
    """The name of a finished variant that trained exactly these settings, if any."""
    wanted = training_settings(overrides, default_encoder, defaults)
    for name, result in finished.items():
        # parameters added since a variant ran take their defaults, which are what it ran with
        params = EpitomeScorerParams.from_mapping(result.get("params")).as_dict()
        if (params, result.get("encoder"), result.get("ensemble_seeds", 1)) == wanted:
            return name
    return None


def with_test_figures(result: Mapping[str, Any], interval: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """A reused variant's test figures recomputed from its stored confusion matrices (so figures added to the
    report since it was trained, such as the macro-F1 interval, are there too; the numbers it had are unchanged)."""
    figures, _ = scorer_heldout_report(
        {m: {"confusion": c} for m, c in result["test_confusion"].items()}, interval=interval, seed=seed
    )
    return {**result, "test": figures}


def finished_variants(out: Path, data: Path, seed: int) -> dict[str, dict]:
    """The variants an earlier run of the same data and seed wrote to ``out`` ({} when there is none)."""
    if not out.exists():
        return {}
    earlier = json.loads(out.read_text())
    same_data = earlier.get("data") is not None and Path(earlier["data"]).resolve() == data.resolve()
    if not same_data or earlier.get("seed") != seed:
        return {}
    return dict(earlier.get("variants", {}))


def write_result(args, split, group_column: str, val_fraction: float, test_fraction: float, results: dict) -> dict:
    """The benchmark's JSON with every variant finished so far, written atomically to ``args.out``."""
    train, val, test = split
    result = {
        "benchmark": "epitome_scorer",
        "data": str(args.data),
        "seed": args.seed,
        "split": {
            "train": len(train),
            "val": len(val),
            "test": len(test),
            "group_column": group_column,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "use": "train: weights; val: best epoch and logit offsets; test: the figures below only",
        },
        "machine": machine_info(args.threads),
        "published": PUBLISHED_EPITOME,
        "published_source": PUBLISHED_SOURCE,
        "acceptance_margin": ACCEPTANCE_MARGIN,
        "variants": results,
        # choose on the validation split (the one selection already uses), report the test figures
        "ranking_by_val_macro_f1_mean": sorted(results, key=lambda n: -results[n]["val_macro_f1_mean"]),
    }
    write_json_atomically(args.out, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
