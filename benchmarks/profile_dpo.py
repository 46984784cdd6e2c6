"""Where the project's DPO step spends its time: torch.profiler over a few steps of the dpo node's path.

Not a test. Runs the set-up of ``benchmarks/training_speed.py``'s ``project`` path (the first ``--pairs`` shared ED
train pairs, the project's parameters, its learning rate), profiles ``--steps`` steps after ``--warmup`` steps and
writes the top operators by self CPU time, each as a share of the profiled steps' total, to
``data/08_reporting/benchmarks/dpo_profile.json`` (and the MLflow experiment ``benchmarks``).

    .venv/bin/python benchmarks/profile_dpo.py                    # 4 profiled steps after 2 warm-up steps
    .venv/bin/python benchmarks/profile_dpo.py --set dpo.speed.prompt_sharing=false
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import training_speed as speed  # noqa: E402

from empo_kedro.io.atomic import write_json_atomically  # noqa: E402
from empo_kedro.tracking.benchmark_runs import log_benchmark_run  # noqa: E402

OUT = speed.OUT_DIR / "dpo_profile.json"
MICROSECONDS_PER_SECOND = 1e6


class StepProfiler(TrainerCallback):
    """Profiles training steps ``warmup + 1 .. warmup + steps`` (1-based), nothing before or after."""

    def __init__(self, warmup: int, steps: int):
        self.first, self.last = warmup, warmup + steps
        self.profiler: torch.profiler.profile | None = None
        self.profiled_steps: list[int] = []  # 1-based numbers of the steps inside the profile

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.first and self.profiler is None:
            self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            self.profiler.__enter__()

    def on_step_end(self, args, state, control, **kwargs):
        if self.profiler is None or self.profiled_steps[-1:] == [self.last]:
            return
        self.profiled_steps.append(state.global_step)
        if state.global_step == self.last:
            self.profiler.__exit__(None, None, None)


def top_operators(profiler: torch.profiler.profile, n: int) -> tuple[list[dict], float]:
    """The ``n`` operators with the most self CPU time, each with its share of all self CPU time profiled."""
    events = [e for e in profiler.key_averages() if e.self_cpu_time_total > 0]
    total_us = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    rows = [
        {
            "op": e.key,
            "self_cpu_s": round(e.self_cpu_time_total / MICROSECONDS_PER_SECOND, 3),
            "share": round(e.self_cpu_time_total / total_us, 4),
            "calls": e.count,
        }
        for e in events[:n]
    ]
    return rows, total_us / MICROSECONDS_PER_SECOND


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ed-dir", type=Path, default=speed.REPO.parent / "shared" / "data" / "empatheticdialogues")
    ap.add_argument("--pairs", type=int, default=48, help="first N train preference pairs")
    ap.add_argument("--warmup", type=int, default=2, help="steps run before profiling starts")
    ap.add_argument("--steps", type=int, default=4, help="steps profiled")
    ap.add_argument("--learning-rate", type=float, default=2e-3, help="as training_speed.py")
    ap.add_argument("--top", type=int, default=15, help="operators listed")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="parameter override")
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the converted embedded base model")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-mlflow", action="store_true")
    args = ap.parse_args(argv)
    if not args.ed_dir.is_dir():
        sys.exit(f"ED data not found at {args.ed_dir}: pass --ed-dir (the ED release folder)")

    params = speed.load_project_config("base")
    params["base_model"] = {**params["base_model"], "device": "cpu"}
    params["dpo"]["training"] = {**params["dpo"]["training"], "learning_rate": args.learning_rate}
    for assignment in args.set:
        speed.override_parameter(params, assignment)
    torch.manual_seed(params["seed"])
    _, all_pairs = speed.build_data(params, args.ed_dir)
    pairs = all_pairs.loc[all_pairs["split"] == "train"].head(args.pairs).reset_index(drop=True)
    model_dir = args.model_dir or speed.base_model_dir(params)
    initial = speed.initial_lora(model_dir, params, params["seed"])
    profiler = StepProfiler(args.warmup, args.steps)
    summary = speed.run_dpo_project(
        model_dir, params, pairs, args.warmup + args.steps, args.warmup, initial, extra_callbacks=(profiler,)
    )
    if profiler.profiler is None:
        sys.exit("no step was profiled: more pairs than (warmup + steps) x batch size are needed")
    rows, profiled_cpu_s = top_operators(profiler.profiler, args.top)
    result = {
        "benchmark": "dpo_profile",
        "machine": speed.machine_info(),
        "settings": {"pairs": len(pairs), "warmup": args.warmup, "steps": args.steps, "overrides": args.set},
        "precision": {"autocast_bf16": summary["autocast_bf16"], "frozen_weights": summary["frozen_weights_dtype"]},
        "median_step_s": summary["median_step_s"],
        "profiled_steps": profiler.profiled_steps,
        "profiled_self_cpu_s": round(profiled_cpu_s, 3),
        "top_operators": rows,
    }
    write_json_atomically(args.out, result)
    if not args.no_mlflow:
        metrics = {"median_step_s": result["median_step_s"], "profiled_self_cpu_s": result["profiled_self_cpu_s"]}
        metrics |= {f"share.{row['op']}": row["share"] for row in rows}
        log_benchmark_run("dpo_profile", result["settings"], metrics, args.out, speed.REPO / "mlruns" / "mlflow.db")
    print(json.dumps({k: result[k] for k in ("precision", "median_step_s", "top_operators")}, indent=1))
    return result


if __name__ == "__main__":
    main()
