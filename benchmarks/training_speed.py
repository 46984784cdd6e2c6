"""Training and generation speed: the project's paths against the stock stack, in one process, one after the other.

Not a test (never timed in the suite): run with ``make bench`` after ``make test``'s set-up.

    .venv/bin/python benchmarks/training_speed.py                 # defaults below, ~15 min on a 2-core CPU
    .venv/bin/python benchmarks/training_speed.py --pairs 32 --steps 4 --tag quick

Phases, each on the same data (the first ``--pairs`` train preference pairs of ``../shared`` ED, built by the
project's data code with ``conf/base`` parameters) and the same base model (the embedded SmolLM2-135M-Instruct):

1. ``sft``: the project's SFT path (``training.sft.train_sft``, conf/base/parameters_sft.yml) -> tokens/s.
2. ``dpo_project``: the project's DPO node path (``training.dpo.train_dpo``, conf/base/parameters_dpo.yml).
3. ``dpo_stock``: TRL ``DPOTrainer`` defaults on the CPU in fp32 with a separately loaded reference model; only
   what must match is set (LoRA, beta, loss, learning rate, batch size, max length, steps, seed, data order).
4. ``generation``: the project's batched greedy generation (``evaluation.generation.generate_replies`` under the
   evaluation's autocast) against one prompt at a time through a transformers ``pipeline`` (fp32), same prompts.

Reports medians of per-step times after ``--warmup`` steps, pairs/s and tokens/s, peak RSS per phase (VmHWM, reset
before each phase), model-FLOPs utilisation against a bf16 and an fp32 matmul peak measured here, the losses of both
DPO paths and ``dpo_speedup``. Writes ``data/08_reporting/benchmarks/training_speed[_TAG].json`` and logs an MLflow
run in the experiment ``benchmarks`` of the project's tracking store.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # busy-waiting OpenMP threads collapse throughput when shared

import numpy as np
import pandas as pd
import torch
from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "data" / "08_reporting" / "benchmarks"
logger = logging.getLogger("benchmarks.training_speed")
DEVICE = "cpu"  # --device: cpu (the target machine) or cuda (a GPU check)


# ----------------------------------------------------------------------------------------------------------- machine
def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> dict[str, float]:
    """Measured matmul throughput of this machine, the denominator of model-FLOPs utilisation.

    ``wall``: GFLOP/s of wall time (the best of ``repeats``); ``cpu``: GFLOP per CPU-second of this process times the
    torch threads, which stays close to the quiet-machine peak when other work shares the cores.
    """
    a, b = (torch.randn(size, size, dtype=dtype, device=DEVICE) for _ in range(2))
    for _ in range(3):
        a @ b
    times, cpu_times = [], []
    for _ in range(repeats):
        synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        a @ b
        synchronize()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    flops = 2 * size**3
    return {"wall": flops / min(times) / 1e9,
            "cpu": flops / statistics.median(cpu_times) * torch.get_num_threads() / 1e9}


def synchronize() -> None:
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process (Linux >= 4.0), so each phase reports its own peak."""
    gc.collect()
    if DEVICE.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        logger.warning("Cannot reset the peak RSS here; peaks of later phases include earlier ones")


def peak_rss_mib() -> float:
    if DEVICE.startswith("cuda"):
        logger.info("Peak GPU memory allocated: %.0f MiB", torch.cuda.max_memory_allocated() / 2**20)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_info() -> dict[str, Any]:
    from empo_kedro.tracking.machine import CPUINFO, cpu_model
    from empo_kedro.training.precision import bf16_support

    support = bf16_support(torch.device(DEVICE).type)
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "amx": CPUINFO.is_file() and "amx_bf16" in CPUINFO.read_text(), "device": DEVICE,
            "gpu": torch.cuda.get_device_name() if DEVICE.startswith("cuda") else None,
            # what precision `auto` resolves to here (every project path runs with the project's parameters)
            "bf16_native": support.native, "bf16_reason": support.reason}


# -------------------------------------------------------------------------------------------------------- data/model
def load_project_config(env: str) -> dict[str, Any]:
    """The project's parameters for ``env``, read by the project's own config loader settings."""
    from kedro.config import OmegaConfigLoader

    from empo_kedro.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(conf_source=str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return loader["parameters"]


def build_data(params: dict[str, Any], ed_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dialogues -> SFT conversations and preference pairs with the project's own data code and parameters."""
    from empo_kedro.data.dialogues import build_dialogues, build_sft_conversations
    from empo_kedro.data.preferences import build_preference_pairs
    from empo_kedro.emotions.opposites import load_emotion_map
    from empo_kedro.io.empathetic_dialogues_dataset import EmpatheticDialoguesDataset

    de = params["data_engineering"]
    release = EmpatheticDialoguesDataset(path=str(ed_dir)).load()
    dialogues, _ = build_dialogues(release.utterances, min_turns=de["min_turns"])
    emotion_map = load_emotion_map(de["preferences"]["strategy"], params["emotion_maps"], params["ed_emotion_labels"])
    pairs, _ = build_preference_pairs(dialogues, emotion_map, params["system_prompt"],
                                      de["preferences"]["prompt_turns"], 1, params["seed"])
    return build_sft_conversations(dialogues, params["system_prompt"]), pairs


def base_model_dir(params: dict[str, Any]) -> Path:
    from empo_kedro.training.base_model.materialize import materialize_base_model
    from empo_kedro.training.base_model.spec import BaseModelSpec

    spec_keys = set(BaseModelSpec.__dataclass_fields__) | {"display_name"}
    spec = BaseModelSpec.from_params({k: v for k, v in params["base_model"].items() if k in spec_keys})
    return materialize_base_model(spec, REPO / "data" / "06_models" / "base", REPO / "data" / "06_models" / "wheels")


class StepTimer(TrainerCallback):
    """Wall time and process CPU time of every optimizer step.

    CPU time (all threads of this process) is what a step costs whatever else runs on the machine; wall time is
    what a user waits on a quiet machine. Both are reported, so a run on a busy machine is still comparable.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self._start = self._cpu_start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)
        self.cpu_times.append(time.process_time() - self._cpu_start)


def step_losses(log_history: list[dict]) -> list[float]:
    return [float(entry["loss"]) for entry in log_history if "loss" in entry and "train_loss" not in entry]


def steps_tokens(log_history: list[dict]) -> list[float]:
    """Tokens per step from TRL's cumulative ``num_tokens`` log."""
    cumulative = [float(entry["num_tokens"]) for entry in log_history if "num_tokens" in entry]
    return list(np.diff([0.0, *cumulative]))


def summarise_steps(timer: StepTimer, warmup: int) -> dict[str, float]:
    times, cpu_times = timer.times, timer.cpu_times
    measured, measured_cpu = times[warmup:] or times, cpu_times[warmup:] or cpu_times
    return {"steps": len(times), "warmup_steps": min(warmup, len(times)),
            "median_step_s": statistics.median(measured), "mean_step_s": statistics.fmean(measured),
            "median_step_cpu_s": statistics.median(measured_cpu),
            "first_step_s": times[0] if times else float("nan")}


def non_embedding_parameters(model_dir: Path) -> int:
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir))
    return sum(p.numel() for name, p in model.named_parameters() if "embed" not in name)


def pair_tokens(tokenizer, pairs: pd.DataFrame) -> list[int]:
    """Tokens of prompt+chosen plus prompt+rejected, as a standard DPO step processes them (no padding)."""
    from empo_kedro.data.dialogues import as_turns

    counts = []
    for row in pairs.itertuples(index=False):
        prompt = as_turns(row.prompt)
        counts.append(sum(len(tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": text}],
                                                            tokenize=True, return_dict=False))
                          for text in (row.chosen, row.rejected)))
    return counts


# ------------------------------------------------------------------------------------------------------------- phases
def run_sft(model_dir: Path, params: dict, conversations: pd.DataFrame, steps: int, warmup: int) -> dict:
    from empo_kedro.training.modeling import (
        ensure_generation_markers,
        load_causal_lm,
        load_tokenizer,
    )
    from empo_kedro.training.sft import train_sft

    reset_peak_rss()
    tokenizer = ensure_generation_markers(load_tokenizer(model_dir))
    model = load_causal_lm(model_dir, params["base_model"])
    sft = {**params["sft"], "device": DEVICE, "max_eval_conversations": 0,
           "training": {**params["sft"]["training"], "max_steps": steps, "logging_steps": 1, "save_strategy": "no"}}
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as scratch:
        _, _, history = train_sft(model, tokenizer, conversations, sft, params["seed"], Path(scratch), [timer])
    tokens = steps_tokens(history)
    summary = summarise_steps(timer, warmup)
    measured_tokens = tokens[warmup:] or tokens
    summary.update({
        "batch_size": sft["training"]["per_device_train_batch_size"],
        "tokens_per_step": statistics.fmean(measured_tokens) if measured_tokens else float("nan"),
        "tokens_per_s": statistics.fmean(measured_tokens) / summary["median_step_s"] if measured_tokens else float("nan"),
        "final_loss": step_losses(history)[-1],
        "peak_rss_mib": peak_rss_mib(),
    })
    del model
    return summary


def run_dpo_project(model_dir: Path, params: dict, pairs: pd.DataFrame, steps: int, warmup: int) -> tuple[dict, pd.DataFrame]:
    from empo_kedro.training.dpo import train_dpo, training_order
    from empo_kedro.training.modeling import load_causal_lm, load_tokenizer

    reset_peak_rss()
    tokenizer = load_tokenizer(model_dir)
    model = load_causal_lm(model_dir, params["base_model"])
    dpo = {**params["dpo"], "device": DEVICE, "epochs": 1, "max_train_prompts": None, "max_eval_pairs": 0,
           "training": {**params["dpo"]["training"], "max_steps": steps, "logging_steps": 1, "save_strategy": "no"}}
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as scratch:
        _, metrics, history = train_dpo(model, tokenizer, pairs, dpo, params["seed"], Path(scratch), [timer])
    trainer_order = training_order(pairs, dpo, params["seed"])
    summary = summarise_steps(timer, warmup)
    summary.update({"final_loss": step_losses(history)[-1], "losses": step_losses(history),
                    "train_loss": metrics["train_loss"], "peak_rss_mib": peak_rss_mib(),
                    "speed_settings": dpo.get("speed", {})})
    del model
    return summary, trainer_order


def run_dpo_stock(model_dir: Path, params: dict, ordered_pairs: pd.DataFrame, steps: int, warmup: int) -> dict:
    """TRL defaults on the CPU in fp32, reference loaded separately; the same pairs in the same order."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    from empo_kedro.training.dpo import preference_records
    from empo_kedro.training.modeling import load_tokenizer, lora_config

    reset_peak_rss()
    tokenizer = load_tokenizer(model_dir)
    policy = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(DEVICE)
    reference = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(DEVICE)
    training = params["dpo"]["training"]
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as scratch:
        config = DPOConfig(
            output_dir=scratch, use_cpu=DEVICE == "cpu", bf16=False, report_to=[], save_strategy="no", logging_steps=1,
            seed=params["seed"], max_steps=steps, train_sampling_strategy="sequential",
            per_device_train_batch_size=training["per_device_train_batch_size"],
            learning_rate=training["learning_rate"], beta=training["beta"], loss_type=training["loss_type"],
            max_length=training["max_length"], lr_scheduler_type=training["lr_scheduler_type"],
            warmup_steps=training["warmup_steps"],
        )
        trainer = DPOTrainer(model=policy, ref_model=reference, args=config, processing_class=tokenizer,
                             train_dataset=Dataset.from_list(preference_records(ordered_pairs)),
                             peft_config=lora_config(params["dpo"]["lora"]), callbacks=[timer])
        trainer.train()
    summary = summarise_steps(timer, warmup)
    summary.update({"final_loss": step_losses(trainer.state.log_history)[-1],
                    "losses": step_losses(trainer.state.log_history),
                    "gradient_checkpointing": config.gradient_checkpointing, "peak_rss_mib": peak_rss_mib()})
    del trainer, policy, reference
    return summary


def run_generation(model_dir: Path, params: dict, conversations: pd.DataFrame, n_prompts: int) -> dict:
    from transformers import pipeline

    from empo_kedro.evaluation.generation import generate_replies
    from empo_kedro.training.config import torch_dtype
    from empo_kedro.training.modeling import load_causal_lm, load_tokenizer

    reset_peak_rss()
    evaluation = params["evaluation"]
    generation = dict(evaluation["generation"])
    prompts = []
    for messages in conversations.loc[conversations["split"] == "test", "messages"].head(n_prompts):
        turns = list(messages)
        last_assistant = max(i for i, m in enumerate(turns) if m["role"] == "assistant")
        prompts.append([dict(m) for m in turns[:last_assistant]])
    tokenizer = load_tokenizer(model_dir)
    model = load_causal_lm(model_dir, params["base_model"]).eval()
    from empo_kedro.training.precision import resolve_dtype_switch

    autocast = resolve_dtype_switch(params["base_model"].get("eval_autocast"), DEVICE)

    def project(autocast_name: str | None) -> tuple[list[str], float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast(DEVICE.split(":")[0], dtype=torch_dtype(autocast_name or "bfloat16"),
                            enabled=autocast_name is not None):
            replies = generate_replies(model, tokenizer, prompts, generation, evaluation["batch_size"], params["seed"])
        return replies, time.perf_counter() - start, time.process_time() - cpu_start

    project_replies, project_s, project_cpu_s = project(autocast)
    project_fp32_replies, project_fp32_s, project_fp32_cpu_s = project(None)

    generator = pipeline("text-generation", model=model, tokenizer=tokenizer, device=DEVICE)
    tokenizer.padding_side = "left"
    stock_replies = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for prompt in prompts:
        out = generator(prompt, max_new_tokens=generation["max_new_tokens"], do_sample=False, return_full_text=False,
                        pad_token_id=tokenizer.pad_token_id)
        stock_replies.append(out[0]["generated_text"].strip())
    stock_s, stock_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

    def tokens_of(replies: list[str]) -> int:
        return sum(len(tokenizer(r, add_special_tokens=False)["input_ids"]) + 1 for r in replies)

    stock_tokens = tokens_of(stock_replies)
    return {
        "prompts": len(prompts), "batch_size": evaluation["batch_size"], "max_new_tokens": generation["max_new_tokens"],
        "project_autocast": autocast,
        "project_s": project_s, "project_tokens_per_s": tokens_of(project_replies) / project_s,
        "project_fp32_s": project_fp32_s, "project_fp32_tokens_per_s": tokens_of(project_fp32_replies) / project_fp32_s,
        "stock_one_at_a_time_fp32_s": stock_s, "stock_tokens_per_s": stock_tokens / stock_s,
        "generation_speedup": (tokens_of(project_replies) / project_s) / (stock_tokens / stock_s),
        "generation_speedup_fp32": (tokens_of(project_fp32_replies) / project_fp32_s) / (stock_tokens / stock_s),
        "generation_speedup_cpu_time": (tokens_of(project_replies) / project_cpu_s) / (stock_tokens / stock_cpu_s),
        "generation_speedup_fp32_cpu_time": ((tokens_of(project_fp32_replies) / project_fp32_cpu_s)
                                             / (stock_tokens / stock_cpu_s)),
        "identical_to_stock": float(np.mean([a == b for a, b in zip(project_replies, stock_replies)])),
        "identical_to_stock_fp32": float(np.mean([a == b for a, b in zip(project_fp32_replies, stock_replies)])),
        "peak_rss_mib": peak_rss_mib(),
    }


def override_parameter(params: dict, assignment: str) -> None:
    """``a.b.c=value`` (value parsed as YAML) into the nested parameters."""
    import yaml

    key, _, value = assignment.partition("=")
    *parents, leaf = key.split(".")
    node = params
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = yaml.safe_load(value)


# --------------------------------------------------------------------------------------------------------------- main
def mfu(tokens_per_pair: float, pairs_per_s: float, params_count: int, peak_gflops: float) -> float:
    """DPO model FLOPs: policy forward+backward on frozen weights (4 N T) + reference forward (2 N T)."""
    return 6 * params_count * tokens_per_pair * pairs_per_s / (peak_gflops * 1e9)


def log_to_mlflow(result: dict, output: Path) -> None:
    import mlflow

    from empo_kedro.tracking.uri import resolve_tracking_uri

    mlflow.set_tracking_uri(resolve_tracking_uri(str(REPO / "mlruns" / "mlflow.db")))
    mlflow.set_experiment("benchmarks")
    flat = {}
    for phase in ("sft", "dpo_project", "dpo_stock", "generation"):
        for key, value in result.get(phase, {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                flat[f"{phase}.{key}"] = value
    flat.update({k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    with mlflow.start_run(run_name=f"training_speed-{result['tag']}"):
        mlflow.log_params({k: v for k, v in result["settings"].items()})
        mlflow.log_metrics(flat)
        mlflow.log_artifact(str(output))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ed-dir", type=Path, default=REPO.parent / "shared" / "data" / "empatheticdialogues")
    ap.add_argument("--pairs", type=int, default=64, help="first N train preference pairs")
    ap.add_argument("--steps", type=int, default=None, help="DPO/SFT steps (default: pairs / batch size)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--gen-prompts", type=int, default=32)
    ap.add_argument("--phases", default="sft,dpo_project,dpo_stock,generation")
    ap.add_argument("--tag", default=None)
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu (the benchmark's target) or cuda (a GPU check)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a project parameter for this run, e.g. dpo.speed.prompt_sharing=false")
    args = ap.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.ed_dir.is_dir():
        sys.exit(f"ED data not found at {args.ed_dir}: pass --ed-dir (the ED release folder)")

    params = load_project_config("base")
    params["base_model"] = {**params["base_model"], "device": DEVICE}
    for assignment in args.set:
        override_parameter(params, assignment)
    phases = args.phases.split(",")
    torch.manual_seed(params["seed"])
    conversations, all_pairs = build_data(params, args.ed_dir)
    pairs = all_pairs.loc[all_pairs["split"] == "train"].head(args.pairs).reset_index(drop=True)
    batch = params["dpo"]["training"]["per_device_train_batch_size"]
    steps = args.steps or max(1, len(pairs) // batch)
    model_dir = base_model_dir(params)
    from empo_kedro.training.modeling import load_tokenizer

    tokens = pair_tokens(load_tokenizer(model_dir), pairs)
    result: dict[str, Any] = {
        "tag": args.tag or "default", "machine": machine_info(),
        "settings": {"overrides": args.set, "pairs": len(pairs), "steps": steps, "warmup": args.warmup, "dpo_batch_size": batch,
                     "ed_dir": str(args.ed_dir), "base_model": params["base_model"]["display_name"]},
        "peak_gflops": {"bf16": matmul_peak_gflops(torch.bfloat16), "fp32": matmul_peak_gflops(torch.float32)},
        "tokens_per_pair": statistics.fmean(tokens),
        "load_average_at_start": os.getloadavg(),
    }
    logger.info("Matmul peak: %s GFLOP/s", result["peak_gflops"])
    n_params = non_embedding_parameters(model_dir)
    result["non_embedding_parameters"] = n_params

    ordered = pairs
    if "sft" in phases:
        result["sft"] = run_sft(model_dir, params, conversations, steps, args.warmup)
        logger.info("SFT: %s", result["sft"])
    if "dpo_project" in phases:
        result["dpo_project"], ordered = run_dpo_project(model_dir, params, pairs, steps, args.warmup)
        logger.info("DPO project: %s", result["dpo_project"])
    if "dpo_stock" in phases:
        result["dpo_stock"] = run_dpo_stock(model_dir, params, ordered, steps, args.warmup)
        logger.info("DPO stock: %s", result["dpo_stock"])
    for phase in ("dpo_project", "dpo_stock"):
        if phase in result:
            stats = result[phase]
            stats["pairs_per_s"] = batch / stats["median_step_s"]
            stats["pairs_per_cpu_s"] = batch / stats["median_step_cpu_s"]
            for peak in ("bf16", "fp32"):
                stats[f"mfu_vs_{peak}_peak"] = mfu(result["tokens_per_pair"], stats["pairs_per_s"], n_params,
                                                   result["peak_gflops"][peak]["wall"])
                # per CPU-second on both sides (pairs per CPU-second x threads = the quiet-machine rate)
                stats[f"mfu_vs_{peak}_peak_cpu_time"] = mfu(
                    result["tokens_per_pair"], stats["pairs_per_cpu_s"] * torch.get_num_threads(), n_params,
                    result["peak_gflops"][peak]["cpu"])
    if "dpo_project" in result and "dpo_stock" in result:
        project, stock = result["dpo_project"], result["dpo_stock"]
        result["dpo_speedup"] = project["pairs_per_s"] / stock["pairs_per_s"]
        result["dpo_speedup_cpu_time"] = project["pairs_per_cpu_s"] / stock["pairs_per_cpu_s"]
        result["dpo_final_loss_rel_diff"] = abs(project["final_loss"] - stock["final_loss"]) / abs(stock["final_loss"])
        result["dpo_mean_loss_rel_diff"] = (abs(statistics.fmean(project["losses"]) - statistics.fmean(stock["losses"]))
                                            / abs(statistics.fmean(stock["losses"])))
    if "dpo_project" in result and "sft" in result:
        result["dpo_to_sft_peak_rss"] = result["dpo_project"]["peak_rss_mib"] / result["sft"]["peak_rss_mib"]
    if "generation" in phases:
        result["generation"] = run_generation(model_dir, params, conversations, args.gen_prompts)
        logger.info("Generation: %s", result["generation"])

    result["load_average_at_end"] = os.getloadavg()  # other work on the machine skews every timing above
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    output = OUT_DIR / (f"training_speed_{args.tag}.json" if args.tag else "training_speed.json")
    output.write_text(json.dumps(result, indent=2))
    logger.info("Wrote %s", output)
    for key in ("dpo_speedup", "dpo_speedup_cpu_time", "dpo_final_loss_rel_diff", "dpo_to_sft_peak_rss"):
        if key in result:
            logger.info("%s = %.3f", key, result[key])
    if "generation" in result:
        logger.info("generation_speedup = %.2f", result["generation"]["generation_speedup"])
    if not args.no_mlflow:
        log_to_mlflow(result, output)
    return result


if __name__ == "__main__":
    main()
