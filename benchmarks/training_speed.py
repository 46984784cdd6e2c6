"""Training and generation speed: the project's paths against the strongest stock set-up, in one process.

Not a test (never timed in the suite): run with ``make bench`` after ``make test``'s set-up.

    .venv/bin/python benchmarks/training_speed.py           # 64 pairs, 8 steps, 2 rounds; long on a 2-core CPU
    .venv/bin/python benchmarks/training_speed.py --quick   # smoke test: 16 pairs, batch 2, 8 steps, DPO only

Phases, each on the same data (the first ``--pairs`` train preference pairs of ``../shared`` ED, built by the
project's data code with ``conf/base`` parameters) and the same base model (the embedded SmolLM2-135M-Instruct):

1. ``sft``: the project's SFT path (``training.sft.train_sft``) -> tokens/s.
2. ``dpo``: the DPO paths, all on the same pairs in the same order (the project's length-bucketed order), from the
   same initial LoRA weights, at ``--learning-rate`` (high enough that 8 steps move the loss far from ln 2), each
   run ``--rounds`` times alternating (a b c a b c):
   ``default`` (TRL as shipped: DPOConfig defaults, PEFT model, adapter-off reference), ``best_stock`` (PEFT model,
   no ref_model, bf16 autocast where the CPU has native bf16 else fp32, no gradient checkpointing),
   ``best_stock_precompute`` (the same with ``precompute_ref_log_probs``), ``project`` (``training.dpo.train_dpo``
   with conf/base parameters, a cold reference cache in every run). The faster stock variant is the best stock.
3. ``generation``: batched greedy generation against one prompt at a time through a transformers ``pipeline``.

Reported per DPO path: step time min / median / max over all runs (each run's first ``--warmup`` steps left out),
the reference pass done before training spread over the steps (stock precompute, project cache), pairs/s, peak RSS
(VmHWM reset before each run), the load average around each run, the precision it ran in, MFU counting only the
FLOPs the path does (no credit for prompt passes it skips or positions it does not score) against a matmul peak of
that precision measured here, and the losses. Headline ``dpo_speedup_vs_best_stock`` (``dpo_speedup_vs_default``
beside it) and ``equal_training`` (loss, distance from ln 2 and LoRA weights of project vs best stock after N steps,
with the stated tolerance). Writes ``data/08_reporting/benchmarks/training_speed[_TAG].json`` and logs an MLflow
run in the experiment ``benchmarks`` of the project's tracking store.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
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

from empo_kedro.tracking.benchmark_runs import log_benchmark_run

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
    return {
        "wall": flops / min(times) / 1e9,
        "cpu": flops / statistics.median(cpu_times) * torch.get_num_threads() / 1e9,
    }


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


def rss_mib() -> float:
    """Resident memory now (what a run starts from: earlier runs' memory the allocator has not returned)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "amx": CPUINFO.is_file() and "amx_bf16" in CPUINFO.read_text(),
        "device": DEVICE,
        "gpu": torch.cuda.get_device_name() if DEVICE.startswith("cuda") else None,
        # what precision `auto` resolves to here (every project path runs with the project's parameters)
        "bf16_native": support.native,
        "bf16_reason": support.reason,
    }


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
    pairs, _ = build_preference_pairs(
        dialogues, emotion_map, params["system_prompt"], de["preferences"]["prompt_turns"], 1, params["seed"]
    )
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
    return {
        "steps": len(times),
        "warmup_steps": min(warmup, len(times)),
        "median_step_s": statistics.median(measured),
        "mean_step_s": statistics.fmean(measured),
        "median_step_cpu_s": statistics.median(measured_cpu),
        "first_step_s": times[0] if times else float("nan"),
    }


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
    sft = {
        **params["sft"],
        "device": DEVICE,
        "max_eval_conversations": 0,
        "training": {**params["sft"]["training"], "max_steps": steps, "logging_steps": 1, "save_strategy": "no"},
    }
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as scratch:
        _, _, history = train_sft(model, tokenizer, conversations, sft, params["seed"], Path(scratch), [timer])
    tokens = steps_tokens(history)
    summary = summarise_steps(timer, warmup)
    measured_tokens = tokens[warmup:] or tokens
    summary.update(
        {
            "batch_size": sft["training"]["per_device_train_batch_size"],
            "tokens_per_step": statistics.fmean(measured_tokens) if measured_tokens else float("nan"),
            "tokens_per_s": statistics.fmean(measured_tokens) / summary["median_step_s"]
            if measured_tokens
            else float("nan"),
            "final_loss": step_losses(history)[-1],
            "peak_rss_mib": peak_rss_mib(),
        }
    )
    del model
    return summary


# ---------------------------------------------------------------------------------------------------------------- DPO
# The DPO paths, each run ``--rounds`` times in alternation (a b c a b c) so warm-up and load drift favour none.
DPO_PATHS = {
    "default": "TRL DPOTrainer as shipped (DPOConfig defaults; PEFT model, adapter-off reference)",
    "best_stock": "TRL DPOTrainer, PEFT model, no ref_model, bf16 autocast where native, no gradient checkpointing",
    "best_stock_precompute": "best_stock with precompute_ref_log_probs=True",
    "project": "the project's DPO path (training.dpo.train_dpo, conf/base parameters)",
    # Not timed into the headline: best stock and project both in fp32, where equal training means equal to ~1e-5
    # (the bf16 comparison agrees only to bf16 precision, which a high learning rate amplifies step by step).
    "best_stock_fp32": "best_stock in fp32 (no autocast) -- the exact equal-training check",
    "project_fp32": "project with fp32 weights and no autocast -- the exact equal-training check",
}
DEFAULT_DPO_PATHS = ("default", "best_stock", "best_stock_precompute", "project", "best_stock_fp32", "project_fp32")
FP32_CHECK_PATHS = ("best_stock_fp32", "project_fp32")  # run in the first round only (the check, not the timing)


class AdapterProbe(TrainerCallback):
    """Loads the shared initial LoRA weights when training starts and keeps the weights when it ends.

    Copying in place at ``on_train_begin`` (after the optimizer exists, before the first step) gives every path
    exactly the same starting adapter, whatever random numbers its set-up drew.
    """

    def __init__(self, initial: dict[str, torch.Tensor]) -> None:
        self.initial = initial
        self.final: dict[str, torch.Tensor] = {}
        self.shared_prompt_calls = 0

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        trained = trained_lora(model)
        if trained.keys() != self.initial.keys():
            raise RuntimeError(f"LoRA layouts differ: {sorted(set(trained) ^ set(self.initial))[:4]}")
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in self.initial:
                    param.copy_(self.initial[name])

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.final = {name: p.detach().float().cpu().clone() for name, p in trained_lora(model).items()}
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.shared_prompt_calls = getattr(base, "shared_prompt_calls", 0)  # > 0: prompt sharing really ran


def trained_lora(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    """The trained adapter's parameters (named ``...lora_X.default.weight``), not a frozen ``ref`` copy."""
    return {name: p for name, p in model.named_parameters() if ".default." in name and "lora_" in name}


def initial_lora(model_dir: Path, params: dict, seed: int) -> dict[str, torch.Tensor]:
    """One fresh LoRA adapter (fp32, PEFT's initialisation under ``seed``), shared by every path."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from empo_kedro.training.modeling import lora_config

    torch.manual_seed(seed)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), lora_config(params["dpo"]["lora"])
    )
    weights = {name: p.detach().float().clone() for name, p in trained_lora(model).items()}
    del model
    return weights


def base_fingerprint(model_dir: Path) -> str:
    provenance = model_dir / "provenance.json"
    return json.loads(provenance.read_text()).get("fingerprint", "unknown") if provenance.exists() else "unknown"


def release_memory() -> None:
    """Give freed heap back to the OS, so the next run's peak RSS starts near its own baseline."""
    import ctypes

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def dpo_run_summary(
    timer: StepTimer,
    warmup: int,
    history: list[dict],
    probe: AdapterProbe,
    setup_s: float,
    setup_cpu_s: float,
    load_before: float,
) -> dict[str, Any]:
    summary = summarise_steps(timer, warmup)
    summary.update(
        {
            "step_s": timer.times,
            "step_cpu_s": timer.cpu_times,
            "losses": step_losses(history),
            "final_loss": step_losses(history)[-1],
            "setup_s": setup_s,
            "setup_cpu_s": setup_cpu_s,
            "peak_rss_mib": peak_rss_mib(),
            "load_average_1min": [load_before, os.getloadavg()[0]],
        }
    )
    summary["final_lora"] = probe.final
    summary["shared_prompt_calls"] = probe.shared_prompt_calls
    return summary


def run_dpo_stock(
    model_dir: Path,
    params: dict,
    ordered_pairs: pd.DataFrame,
    steps: int,
    warmup: int,
    initial: dict[str, torch.Tensor],
    path: str,
) -> dict:
    """Stock TRL on the same pairs in the same order; only what must match is set (LoRA, beta, loss, learning rate,
    batch, max length, steps, seed, order), plus, for the best stock set-ups, what a user sets in DPOConfig alone."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    from empo_kedro.training.dpo import preference_records
    from empo_kedro.training.modeling import load_tokenizer, lora_config
    from empo_kedro.training.precision import resolve_bf16_flag

    release_memory()
    reset_peak_rss()
    load_before, rss_start = os.getloadavg()[0], rss_mib()
    tokenizer = load_tokenizer(model_dir)
    policy = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(DEVICE)
    training = params["dpo"]["training"]
    chosen: dict[str, Any] = {}
    if path != "default":
        chosen = {
            "bf16": resolve_bf16_flag("auto", DEVICE) and path != "best_stock_fp32",
            "gradient_checkpointing": False,
            "precompute_ref_log_probs": path == "best_stock_precompute",
        }
    timer = StepTimer()
    probe = AdapterProbe(initial)
    with tempfile.TemporaryDirectory() as scratch:
        config = DPOConfig(
            output_dir=scratch,
            use_cpu=DEVICE == "cpu",
            report_to=[],
            save_strategy="no",
            logging_steps=1,
            seed=params["seed"],
            max_steps=steps,
            train_sampling_strategy="sequential",
            per_device_train_batch_size=training["per_device_train_batch_size"],
            learning_rate=training["learning_rate"],
            beta=training["beta"],
            loss_type=training["loss_type"],
            max_length=training["max_length"],
            lr_scheduler_type=training["lr_scheduler_type"],
            warmup_steps=training["warmup_steps"],
            **chosen,
        )
        # set-up: tokenization, and the reference pass when precomputed
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer = DPOTrainer(
            model=policy,
            args=config,
            processing_class=tokenizer,
            train_dataset=Dataset.from_list(preference_records(ordered_pairs)),
            peft_config=lora_config(params["dpo"]["lora"]),
            callbacks=[timer, probe],
        )
        setup_s, setup_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        trainer.train()
    summary = dpo_run_summary(timer, warmup, trainer.state.log_history, probe, setup_s, setup_cpu_s, load_before)
    summary["peak_rss_over_start_mib"] = summary["peak_rss_mib"] - rss_start
    summary.update(
        {
            "autocast_bf16": bool(config.bf16),
            "frozen_weights_dtype": "float32",
            "gradient_checkpointing": bool(config.gradient_checkpointing),
            "precompute_ref_log_probs": bool(config.precompute_ref_log_probs),
            "prompt_sharing": False,
            "labelled_positions_only": DEVICE.startswith("cuda"),
        }
    )
    del trainer, policy
    return summary


def run_dpo_project(
    model_dir: Path,
    params: dict,
    pairs: pd.DataFrame,
    steps: int,
    warmup: int,
    initial: dict[str, torch.Tensor],
    fp32: bool = False,
    extra_callbacks: tuple[TrainerCallback, ...] = (),
) -> dict:
    """The dpo node's training function with the project's parameters; a fresh (cold) reference cache per run, so
    the reference pass is paid in every run and counted in the headline. ``extra_callbacks``: e.g. a profiler."""
    from empo_kedro.training.checkpoints import model_lineage
    from empo_kedro.training.dpo import train_dpo
    from empo_kedro.training.modeling import load_causal_lm, load_tokenizer
    from empo_kedro.training.precision import resolve_bf16_flag, resolve_dtype_switch
    from empo_kedro.training.trl_private import LABELLED_POSITIONS_ONLY, speedup_supported

    release_memory()
    reset_peak_rss()
    load_before, rss_start = os.getloadavg()[0], rss_mib()
    tokenizer = load_tokenizer(model_dir)
    model = load_causal_lm(model_dir, params["base_model"])
    timer = StepTimer()
    probe = AdapterProbe(initial)
    with tempfile.TemporaryDirectory() as scratch:
        dpo = {
            **params["dpo"],
            "device": DEVICE,
            "epochs": 1,
            "max_train_prompts": None,
            "max_eval_pairs": 0,
            "lineage": model_lineage(base_fingerprint(model_dir), []),
            "reference_cache": {**params["dpo"].get("reference_cache", {}), "folder": str(Path(scratch) / "ref")},
            "training": {**params["dpo"]["training"], "max_steps": steps, "logging_steps": 1, "save_strategy": "no"},
        }
        if fp32:
            dpo["training"]["bf16"] = False
            dpo["speed"] = {**(dpo.get("speed") or {}), "frozen_weights_dtype": None}
        started, cpu_started = time.perf_counter(), time.process_time()
        _, metrics, history = train_dpo(
            model, tokenizer, pairs, dpo, params["seed"], Path(scratch), [timer, probe, *extra_callbacks]
        )
        total_s, total_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    summary = dpo_run_summary(
        timer, warmup, history, probe, total_s - sum(timer.times), total_cpu_s - sum(timer.cpu_times), load_before
    )
    summary["peak_rss_over_start_mib"] = summary["peak_rss_mib"] - rss_start
    speed = dpo.get("speed") or {}
    summary.update(
        {
            "autocast_bf16": resolve_bf16_flag(dpo["training"].get("bf16"), DEVICE),
            "frozen_weights_dtype": resolve_dtype_switch(speed.get("frozen_weights_dtype"), DEVICE) or "float32",
            "gradient_checkpointing": bool(dpo["training"].get("gradient_checkpointing")),
            "reference_cache": bool(dpo["reference_cache"].get("enabled")),
            "reference_precompute_s": metrics.get("reference_precompute_s", 0.0),
            "reference_precompute_cpu_s": metrics.get("reference_precompute_cpu_s", 0.0),
            "prompt_sharing": summary["shared_prompt_calls"] > 0,
            "labelled_positions_only": (
                bool(speed.get("labelled_positions_only", True)) and speedup_supported(LABELLED_POSITIONS_ONLY)
            )
            or DEVICE.startswith("cuda"),
            "speed_settings": speed,
        }
    )
    del model
    return summary


def pair_token_counts(model_dir: Path, params: dict, ordered_pairs: pd.DataFrame) -> dict[str, float]:
    """Mean prompt / chosen / rejected tokens per pair as TRL tokenizes and truncates them (``max_length``)."""
    from empo_kedro.data.dialogues import as_turns
    from empo_kedro.training.modeling import load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    max_length = params["dpo"]["training"]["max_length"]
    prompt, chosen, rejected = [], [], []
    for row in ordered_pairs.itertuples(index=False):
        turns = as_turns(row.prompt)
        p = tokenizer.apply_chat_template(turns, tokenize=True, add_generation_prompt=True, return_dict=False)
        sides = [
            len(
                tokenizer.apply_chat_template(
                    turns + [{"role": "assistant", "content": text}], tokenize=True, return_dict=False
                )
            )
            - len(p)
            for text in (row.chosen, row.rejected)
        ]
        p_len = min(len(p), max_length)
        prompt.append(p_len)
        chosen.append(max(0, min(sides[0], max_length - p_len)))
        rejected.append(max(0, min(sides[1], max_length - p_len)))
    return {
        "prompt": statistics.fmean(prompt),
        "chosen": statistics.fmean(chosen),
        "rejected": statistics.fmean(rejected),
    }


def flops_per_pair(run: dict, tokens: dict[str, float], n_body: int, n_lora: int, n_head: int) -> float:
    """Model FLOPs one pair costs on this path, counting only work the path does (real tokens, no padding).

    Frozen weights: forward 2 N and backward 2 N (input gradients only) per token; LoRA weights also get weight
    gradients (6 N per token); gradient checkpointing repeats the policy forward; the reference runs forward only,
    without the adapter. Prompt sharing runs the prompt once for both completions; the LM head (``n_head``) scores
    every position on stock CPU TRL and only completion positions with ``labelled_positions_only``. Attention score
    FLOPs are left out (small at ~130 tokens).
    """
    p, c, r = tokens["prompt"], tokens["chosen"], tokens["rejected"]
    body_tokens = p + c + r if run["prompt_sharing"] else 2 * p + c + r
    head_rows = c + r if run["labelled_positions_only"] else 2 * p + c + r - 2
    policy_forward = 2 * (n_body + n_lora) * body_tokens
    policy = policy_forward + 2 * n_body * body_tokens + 4 * n_lora * body_tokens + 4 * n_head * head_rows
    if run["gradient_checkpointing"]:
        policy += policy_forward
    reference = 2 * n_body * body_tokens + 2 * n_head * head_rows
    return float(policy + reference)


def pooled_steps(runs: list[dict], warmup: int) -> dict[str, float]:
    """Step-time statistics over all runs of a path (each run's first ``warmup`` steps left out)."""
    times = [t for run in runs for t in (run["step_s"][warmup:] or run["step_s"])]
    cpu_times = [t for run in runs for t in (run["step_cpu_s"][warmup:] or run["step_cpu_s"])]
    return {
        "step_s_min": min(times),
        "step_s_median": statistics.median(times),
        "step_s_max": max(times),
        "step_cpu_s_median": statistics.median(cpu_times),
        "timed_steps": len(times),
    }


def lora_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], initial: dict[str, torch.Tensor]) -> float:
    """||a - b|| relative to how far b moved from the initial adapter (0: same weights; 1: as far apart as b moved)."""
    diff = torch.sqrt(sum(((a[n] - b[n]) ** 2).sum() for n in b))
    moved = torch.sqrt(sum(((b[n] - initial[n]) ** 2).sum() for n in b))
    return float(diff / moved) if moved > 0 else float("nan")


def run_dpo_comparison(
    model_dir: Path,
    params: dict,
    pairs: pd.DataFrame,
    steps: int,
    warmup: int,
    rounds: int,
    paths: list[str],
    peaks: dict[str, dict[str, float]],
    n_body: int,
    n_head: int,
) -> dict[str, Any]:
    """All DPO paths, alternating, then speed, memory, MFU and the equal-training check."""
    from empo_kedro.training.dpo import training_order

    dpo = {**params["dpo"], "epochs": 1, "max_train_prompts": None}
    ordered = training_order(pairs, dpo, params["seed"])  # the project's (length-bucketed) order, used by all
    initial = initial_lora(model_dir, params, params["seed"])
    n_lora = sum(t.numel() for t in initial.values())
    tokens = pair_token_counts(model_dir, params, ordered)
    runs: dict[str, list[dict]] = {path: [] for path in paths}
    for round_index in range(rounds):
        for path in paths:
            if round_index > 0 and path in FP32_CHECK_PATHS:
                continue
            logger.info("DPO round %d/%d: %s", round_index + 1, rounds, path)
            run = (
                run_dpo_project(model_dir, params, pairs, steps, warmup, initial, fp32=path == "project_fp32")
                if path.startswith("project")
                else run_dpo_stock(model_dir, params, ordered, steps, warmup, initial, path)
            )
            runs[path].append(run)
            logger.info(
                "%s: median step %.2f s, final loss %.4f, peak RSS %.0f MiB",
                path,
                run["median_step_s"],
                run["final_loss"],
                run["peak_rss_mib"],
            )
    batch = params["dpo"]["training"]["per_device_train_batch_size"]
    result: dict[str, Any] = {
        "paths": {},
        "tokens_per_pair": tokens,
        "lora_parameters": n_lora,
        "body_parameters": n_body,
        "lm_head_parameters": n_head,
        "learning_rate": params["dpo"]["training"]["learning_rate"],
        "steps": steps,
        "batch_size": batch,
        "rounds": rounds,
    }
    for path, path_runs in runs.items():
        first = path_runs[0]
        stats = pooled_steps(path_runs, warmup)
        # The reference pass done before training (stock precompute, project cache) is paid by every run: spread it
        # over the run's steps. Stock precompute's cost is its set-up time beyond the plain best stock's.
        if path == "best_stock_precompute" and "best_stock" in runs:
            precompute_s, precompute_cpu_s = (
                max(
                    0.0,
                    statistics.median(r[key] for r in path_runs)
                    - statistics.median(r[key] for r in runs["best_stock"]),
                )
                for key in ("setup_s", "setup_cpu_s")
            )
        else:
            precompute_s = statistics.median(r.get("reference_precompute_s", 0.0) for r in path_runs)
            precompute_cpu_s = statistics.median(r.get("reference_precompute_cpu_s", 0.0) for r in path_runs)
        effective_step_s = stats["step_s_median"] + precompute_s / steps
        precision = "bf16" if first["autocast_bf16"] else "fp32"
        flops = flops_per_pair(first, tokens, n_body, n_lora, n_head)
        pairs_per_s = batch / effective_step_s
        result["paths"][path] = {
            "description": DPO_PATHS[path],
            **stats,
            "reference_precompute_s": precompute_s,
            "effective_step_s": effective_step_s,
            "pairs_per_s": pairs_per_s,
            "pairs_per_s_without_precompute": batch / stats["step_s_median"],
            "reference_precompute_cpu_s": precompute_cpu_s,
            "pairs_per_cpu_s": batch / (stats["step_cpu_s_median"] + precompute_cpu_s / steps),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in path_runs),
            # what the run itself added on top of the memory it started from (one process runs every path)
            "peak_rss_over_start_mib": max(r["peak_rss_over_start_mib"] for r in path_runs),
            "final_loss": [r["final_loss"] for r in path_runs],
            "losses": first["losses"],
            "final_loss_distance_from_ln2": [math.log(2) - r["final_loss"] for r in path_runs],
            "load_average_1min": [r["load_average_1min"] for r in path_runs],
            "step_s_per_run": [r["step_s"] for r in path_runs],
            "setup_s_per_run": [r["setup_s"] for r in path_runs],
            "precision": {"autocast": precision, "frozen_weights": first["frozen_weights_dtype"]},
            **{
                key: first[key]
                for key in (
                    "gradient_checkpointing",
                    "prompt_sharing",
                    "labelled_positions_only",
                    "precompute_ref_log_probs",
                    "reference_cache",
                    "shared_prompt_calls",
                )
                if key in first
            },
            "flops_per_pair": flops,
            "mfu": flops * pairs_per_s / (peaks["bf16" if precision == "bf16" else "fp32"]["wall"] * 1e9),
            "mfu_cpu_time": flops
            * batch
            / (stats["step_cpu_s_median"] + precompute_cpu_s / steps)
            * torch.get_num_threads()
            / (peaks["bf16" if precision == "bf16" else "fp32"]["cpu"] * 1e9),
            "lora_run_to_run": lora_distance(path_runs[-1]["final_lora"], first["final_lora"], initial),
        }
    stock_paths = [p for p in ("best_stock", "best_stock_precompute") if p in result["paths"]]
    if stock_paths:
        best = max(stock_paths, key=lambda p: result["paths"][p]["pairs_per_s"])
        result["best_stock_variant"] = best
        if "project" in result["paths"]:
            project, stock = result["paths"]["project"], result["paths"][best]
            result["dpo_speedup_vs_best_stock"] = project["pairs_per_s"] / stock["pairs_per_s"]
            result["dpo_speedup_vs_best_stock_cpu_time"] = project["pairs_per_cpu_s"] / stock["pairs_per_cpu_s"]
            result["dpo_speedup_vs_best_stock_warm_cache"] = (
                project["pairs_per_s_without_precompute"] / stock["pairs_per_s"]
            )
            result["peak_rss_project_over_best_stock"] = project["peak_rss_mib"] / stock["peak_rss_mib"]
            result["peak_rss_increase_project_over_best_stock"] = (
                project["peak_rss_over_start_mib"] / stock["peak_rss_over_start_mib"]
            )
            result["equal_training"] = equal_training(runs["project"][0], runs[best][0], initial)
    if "project_fp32" in runs and "best_stock_fp32" in runs:
        result["equal_training_fp32"] = equal_training(
            runs["project_fp32"][0], runs["best_stock_fp32"][0], initial, FP32_TOLERANCE
        )
    if "best_stock" in runs and "best_stock_fp32" in runs:
        # How far bf16 alone moves stock TRL from its own fp32 run: the scale of the bf16 gaps above.
        result["bf16_noise_stock_vs_its_fp32"] = equal_training(
            runs["best_stock"][0], runs["best_stock_fp32"][0], initial
        )
    if "project" in result["paths"] and "default" in result["paths"]:
        result["dpo_speedup_vs_default"] = (
            result["paths"]["project"]["pairs_per_s"] / result["paths"]["default"]["pairs_per_s"]
        )
    return result


# Stated tolerance of the equal-training check: both paths run bf16 autocast (where native), the project with
# bf16 frozen weights, so they agree to bf16 precision, not bit for bit.
LOSS_DISTANCE_TOLERANCE = 0.05  # |d_project - d_stock| / d_stock, d = ln 2 - final loss
LORA_TOLERANCE = 0.10  # ||W_project - W_stock|| / ||W_stock - W_initial|| over all LoRA weights
TOLERANCE = {"distance_from_ln2_relative_gap": LOSS_DISTANCE_TOLERANCE, "lora_relative_gap": LORA_TOLERANCE}
FP32_TOLERANCE = {"distance_from_ln2_relative_gap": 1e-3, "lora_relative_gap": 1e-2}


def equal_training(
    project: dict, stock: dict, initial: dict[str, torch.Tensor], tolerance: dict[str, float] = TOLERANCE
) -> dict[str, Any]:
    """Loss and LoRA weights after N steps from the same initial adapter, project against best stock."""
    d_project, d_stock = math.log(2) - project["final_loss"], math.log(2) - stock["final_loss"]
    per_step = [abs(a - b) for a, b in zip(project["losses"], stock["losses"], strict=False)]
    distance_gap = abs(d_project - d_stock) / abs(d_stock) if d_stock else float("nan")
    lora_gap = lora_distance(project["final_lora"], stock["final_lora"], initial)
    return {
        "steps": len(project["losses"]),
        "final_loss_project": project["final_loss"],
        "final_loss_best_stock": stock["final_loss"],
        "distance_from_ln2_project": d_project,
        "distance_from_ln2_best_stock": d_stock,
        "distance_from_ln2_relative_gap": distance_gap,
        "max_abs_loss_gap_per_step": max(per_step),
        "lora_relative_gap": lora_gap,
        "tolerance": tolerance,
        "within_tolerance": bool(
            distance_gap <= tolerance["distance_from_ln2_relative_gap"] and lora_gap <= tolerance["lora_relative_gap"]
        ),
    }


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

    def project(autocast_name: str | None, prefill: str = "batched") -> tuple[list[str], float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast(
            DEVICE.split(":")[0], dtype=torch_dtype(autocast_name or "bfloat16"), enabled=autocast_name is not None
        ):
            replies = generate_replies(
                model, tokenizer, prompts, {**generation, "prefill": prefill}, evaluation["batch_size"], params["seed"]
            )
        return replies, time.perf_counter() - start, time.process_time() - cpu_start

    project_replies, project_s, project_cpu_s = project(autocast)
    project_fp32_replies, project_fp32_s, project_fp32_cpu_s = project(None)
    # evaluation.generation.prefill: per_prompt (no padding in the prefill), fp32: the same replies, faster
    per_prompt_replies, per_prompt_s, per_prompt_cpu_s = project(None, "per_prompt")

    generator = pipeline("text-generation", model=model, tokenizer=tokenizer, device=DEVICE)
    tokenizer.padding_side = "left"
    stock_replies = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for prompt in prompts:
        out = generator(
            prompt,
            max_new_tokens=generation["max_new_tokens"],
            do_sample=False,
            return_full_text=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        stock_replies.append(out[0]["generated_text"].strip())
    stock_s, stock_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

    def tokens_of(replies: list[str]) -> int:
        return sum(len(tokenizer(r, add_special_tokens=False)["input_ids"]) + 1 for r in replies)

    stock_tokens = tokens_of(stock_replies)
    return {
        "prompts": len(prompts),
        "batch_size": evaluation["batch_size"],
        "max_new_tokens": generation["max_new_tokens"],
        "project_autocast": autocast,
        "project_s": project_s,
        "project_tokens_per_s": tokens_of(project_replies) / project_s,
        "project_fp32_s": project_fp32_s,
        "project_fp32_tokens_per_s": tokens_of(project_fp32_replies) / project_fp32_s,
        "project_fp32_per_prompt_s": per_prompt_s,
        "project_fp32_per_prompt_cpu_s": per_prompt_cpu_s,
        "project_fp32_cpu_s": project_fp32_cpu_s,
        "per_prompt_speedup_vs_fp32_batched": project_fp32_s / per_prompt_s,
        "per_prompt_identical_to_fp32_batched": float(
            np.mean([a == b for a, b in zip(per_prompt_replies, project_fp32_replies, strict=True)])
        ),
        "stock_one_at_a_time_fp32_s": stock_s,
        "stock_tokens_per_s": stock_tokens / stock_s,
        "generation_speedup": (tokens_of(project_replies) / project_s) / (stock_tokens / stock_s),
        "generation_speedup_fp32": (tokens_of(project_fp32_replies) / project_fp32_s) / (stock_tokens / stock_s),
        "generation_speedup_cpu_time": (tokens_of(project_replies) / project_cpu_s) / (stock_tokens / stock_cpu_s),
        "generation_speedup_fp32_cpu_time": (
            (tokens_of(project_fp32_replies) / project_fp32_cpu_s) / (stock_tokens / stock_cpu_s)
        ),
        "identical_to_stock": float(np.mean([a == b for a, b in zip(project_replies, stock_replies, strict=False)])),
        "identical_to_stock_fp32": float(
            np.mean([a == b for a, b in zip(project_fp32_replies, stock_replies, strict=False)])
        ),
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
def log_to_mlflow(result: dict, output: Path) -> None:
    log_benchmark_run(
        f"training_speed-{result['tag']}",
        result["settings"],
        {k: v for k, v in result.items() if k not in ("settings", "machine")},
        output,
        REPO / "mlruns" / "mlflow.db",
    )


def model_parameter_counts(model_dir: Path) -> tuple[int, int]:
    """(transformer body parameters without embeddings and LM head, LM head parameters = vocab x hidden)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    body = sum(p.numel() for name, p in model.named_parameters() if "embed" not in name and "lm_head" not in name)
    text = config.get_text_config()
    return body, text.vocab_size * text.hidden_size


QUICK = {"pairs": 16, "batch": 2, "warmup": 1, "rounds": 1, "phases": "dpo", "gen_prompts": 4, "peak_size": 1024}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ed-dir", type=Path, default=REPO.parent / "shared" / "data" / "empatheticdialogues")
    ap.add_argument("--pairs", type=int, default=64, help="first N train preference pairs")
    ap.add_argument("--steps", type=int, default=None, help="DPO/SFT steps (default: pairs / batch size)")
    ap.add_argument("--warmup", type=int, default=2, help="steps of each run left out of the step-time statistics")
    ap.add_argument("--rounds", type=int, default=2, help="times each DPO path runs, alternating (a b c a b c)")
    ap.add_argument(
        "--learning-rate",
        type=float,
        default=2e-3,
        help="DPO learning rate of every path: high enough that N steps move the loss far from ln 2, "
        "so the equal-training check means something",
    )
    ap.add_argument("--dpo-paths", default=",".join(DEFAULT_DPO_PATHS), help=f"subset of {list(DPO_PATHS)}")
    ap.add_argument("--gen-prompts", type=int, default=32)
    ap.add_argument("--peak-size", type=int, default=2048, help="matrix size of the matmul peak measurement")
    ap.add_argument("--phases", default="sft,dpo,generation")
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke-test setting (minutes on 2 cores): {QUICK}; explicit options still win",
    )
    ap.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="a model folder instead of the project's base model (e.g. a tiny one for a smoke test)",
    )
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu (the benchmark's target) or cuda (a GPU check)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a project parameter for this run, e.g. dpo.speed.prompt_sharing=false",
    )
    args = ap.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        for key, value in QUICK.items():
            if f"--{key.replace('_', '-')}" not in given and key != "batch":
                setattr(args, key, value)
        args.set = [f"dpo.training.per_device_train_batch_size={QUICK['batch']}", *args.set]
        args.tag = args.tag or "quick"
    global DEVICE
    DEVICE = args.device
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.ed_dir.is_dir():
        sys.exit(f"ED data not found at {args.ed_dir}: pass --ed-dir (the ED release folder)")

    params = load_project_config("base")
    params["base_model"] = {**params["base_model"], "device": DEVICE}
    params["dpo"]["training"] = {**params["dpo"]["training"], "learning_rate": args.learning_rate}
    for assignment in args.set:
        override_parameter(params, assignment)
    phases = args.phases.split(",")
    torch.manual_seed(params["seed"])
    conversations, all_pairs = build_data(params, args.ed_dir)
    pairs = all_pairs.loc[all_pairs["split"] == "train"].head(args.pairs).reset_index(drop=True)
    batch = params["dpo"]["training"]["per_device_train_batch_size"]
    steps = args.steps or max(1, len(pairs) // batch)
    model_dir = args.model_dir or base_model_dir(params)
    n_body, n_head = model_parameter_counts(model_dir)
    result: dict[str, Any] = {
        "tag": args.tag or "default",
        "machine": machine_info(),
        "settings": {
            "overrides": args.set,
            "pairs": len(pairs),
            "steps": steps,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "dpo_batch_size": batch,
            "dpo_learning_rate": args.learning_rate,
            "ed_dir": str(args.ed_dir),
            "base_model": params["base_model"]["display_name"],
        },
        "peak_gflops": {
            "bf16": matmul_peak_gflops(torch.bfloat16, args.peak_size),
            "fp32": matmul_peak_gflops(torch.float32, args.peak_size),
        },
        "load_average_at_start": os.getloadavg(),
    }
    logger.info("Matmul peak: %s GFLOP/s", result["peak_gflops"])

    if "sft" in phases:
        result["sft"] = run_sft(model_dir, params, conversations, steps, args.warmup)
        logger.info("SFT: %s", result["sft"])
    if "dpo" in phases:
        result["dpo"] = run_dpo_comparison(
            model_dir,
            params,
            pairs,
            steps,
            args.warmup,
            args.rounds,
            args.dpo_paths.split(","),
            result["peak_gflops"],
            n_body,
            n_head,
        )
        for key in (
            "dpo_speedup_vs_best_stock",
            "dpo_speedup_vs_default",
            "dpo_speedup_vs_best_stock_cpu_time",
            "dpo_speedup_vs_best_stock_warm_cache",
            "peak_rss_project_over_best_stock",
        ):
            if key in result["dpo"]:
                result[key] = result["dpo"][key]
        if "equal_training_fp32" in result["dpo"]:
            logger.info("equal training in fp32: %s", result["dpo"]["equal_training_fp32"])
        if "sft" in result and "project" in result["dpo"]["paths"]:
            project_rss = result["dpo"]["paths"]["project"]["peak_rss_mib"]
            result["dpo_to_sft_peak_rss"] = project_rss / result["sft"]["peak_rss_mib"]
    if "generation" in phases:
        result["generation"] = run_generation(model_dir, params, conversations, args.gen_prompts)
        logger.info("Generation: %s", result["generation"])

    result["load_average_at_end"] = os.getloadavg()  # other work on the machine skews every timing above
    args.out_dir.mkdir(parents=True, exist_ok=True)
    output = args.out_dir / (f"training_speed_{args.tag}.json" if args.tag else "training_speed.json")
    output.write_text(json.dumps(result, indent=2))
    logger.info("Wrote %s", output)
    for key in (
        "dpo_speedup_vs_best_stock",
        "dpo_speedup_vs_default",
        "dpo_speedup_vs_best_stock_warm_cache",
        "peak_rss_project_over_best_stock",
        "dpo_to_sft_peak_rss",
    ):
        if key in result:
            logger.info("%s = %.3f", key, result[key])
    if "equal_training" in result.get("dpo", {}):
        logger.info("equal training: %s", result["dpo"]["equal_training"])
    if "generation" in result:
        logger.info("generation_speedup = %.2f", result["generation"]["generation_speedup"])
    if not args.no_mlflow:
        log_to_mlflow(result, output)
    return result


if __name__ == "__main__":
    main()
