"""The EmPO paper's scale on GPUs: DPO at the paper's LoRA shape on a random-weight zephyr-7b, and vLLM generation
against the transformers loop. Not a test (never timed in the suite); ``make bench-gpu`` runs it.

    .venv/bin/python benchmarks/paper_scale.py                       # one GPU: DPO steps + generation
    accelerate launch --config_file conf/accelerate/multi_gpu_ddp.yaml --num_processes N \\
        benchmarks/paper_scale.py --skip-generation --label ddp      # data parallel (make bench-gpu does this)
    .venv/bin/python benchmarks/paper_scale.py --tiny                # CPU smoke test of the plumbing (tiny config)

* Model: ``MistralForCausalLM`` with zephyr-7b-sft-full's configuration (Mistral-7B-v0.1: 32 layers, hidden 4096,
  MLP 14336, 32 heads / 8 KV heads, vocab 32000), random weights in bf16 -- no hub needed, same FLOPs and memory.
* DPO: the paper's LoRA (``dpo.lora`` of conf/paper: r 1024, alpha 256, dropout 0.1 on all seven linear
  projections; LoRA weights fp32 as PEFT keeps them), beta and learning rate from conf/paper, activation
  checkpointing and fused AdamW as the authors' trainer, bf16 autocast. The reference is the same weights with the
  adapter switched off (one copy, as the project's DPO). Random prompt+reply token ids, the reply's positions
  scored (``logits_to_keep``). Reports the median step time after ``--warmup`` steps, tokens/s, peak GPU memory,
  and MFU = model FLOPs per step (policy forward + backward, reference forward; recompute not counted) / (step
  time x the GPU's dense bf16 peak). A batch that does not fit is halved and retried (each OOM recorded).
* Generation: the same random prompts, greedy, EOS ignored, through batched ``model.generate`` and through vLLM
  (``pip install '.[vllm]'``; skipped with the reason when missing); new tokens/s of each and how many of the first
  ``--sample-check`` replies are token-identical.

Writes ``data/08_reporting/benchmarks/paper_scale[_LABEL].json`` (process 0 only). Refuses without CUDA unless
``--tiny``. Written without a GPU at hand: only the ``--tiny`` CPU path has run so far (README "Paper scale").
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "data" / "08_reporting" / "benchmarks"
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: alignment-handbook/zephyr-7b-sft-full's config.json (= mistralai/Mistral-7B-v0.1).
ZEPHYR_7B = {
    "vocab_size": 32000,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "sliding_window": 4096,
    "tie_word_embeddings": False,
}
TINY = {
    **ZEPHYR_7B,
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 1024,
}
#: Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets; matched in this order.
BF16_PEAK_TFLOPS = (
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H800", 989.4),
    ("A100", 312.0),
    ("L40S", 362.1),
    ("L4", 121.0),
    ("A10", 125.0),
)


# ------------------------------------------------------------------------------------------------------ arithmetic
def mistral_config(tiny: bool):
    from transformers import MistralConfig

    return MistralConfig(**(TINY if tiny else ZEPHYR_7B), pad_token_id=0, bos_token_id=1, eos_token_id=2)


def linear_shapes(config) -> dict[str, tuple[int, int]]:
    """(in, out) features of each LoRA target in one decoder layer."""
    hidden, mlp = config.hidden_size, config.intermediate_size
    kv = config.num_key_value_heads * (hidden // config.num_attention_heads)
    return {
        "q_proj": (hidden, hidden),
        "k_proj": (hidden, kv),
        "v_proj": (hidden, kv),
        "o_proj": (hidden, hidden),
        "gate_proj": (hidden, mlp),
        "up_proj": (hidden, mlp),
        "down_proj": (mlp, hidden),
    }


def lora_parameter_count(config, r: int, targets=LORA_TARGETS) -> int:
    """LoRA A (r x in) + B (out x r) on every target of every layer."""
    return config.num_hidden_layers * sum(
        r * (i + o) for name, (i, o) in linear_shapes(config).items() if name in targets
    )


def parameter_counts(config) -> dict[str, int]:
    """The base model's parameters: decoder linears, embeddings, LM head, norms."""
    linears = config.num_hidden_layers * sum(i * o for i, o in linear_shapes(config).values())
    embedding = config.vocab_size * config.hidden_size
    head = 0 if config.tie_word_embeddings else embedding
    norms = (2 * config.num_hidden_layers + 1) * config.hidden_size
    return {
        "decoder_linears": linears,
        "embedding": embedding,
        "lm_head": head,
        "total": linears + embedding + head + norms,
    }


def memory_estimate_gib(config, r: int) -> dict[str, float]:
    """Static GPU memory of LoRA DPO with one copy of the weights: bf16 base, fp32 LoRA weights + grads + AdamW m, v.

    Activations come on top (they scale with batch x length; activation checkpointing keeps one layer's).
    """
    gib = 2**30
    base, lora = parameter_counts(config)["total"], lora_parameter_count(config, r)
    parts = {
        "base_weights_bf16": base * 2 / gib,
        "lora_weights_fp32": lora * 4 / gib,
        "lora_grads_fp32": lora * 4 / gib,
        "adamw_state_fp32": lora * 8 / gib,
    }
    return {**{k: round(v, 2) for k, v in parts.items()}, "static_total": round(sum(parts.values()), 2)}


def dpo_step_flops(config, r: int, pairs: int, seq_len: int, scored: int) -> float:
    """Model FLOPs of one DPO step of ``pairs`` pairs (2 x pairs sequences of ``seq_len``): the policy's forward and
    backward (activation grads through the frozen weights, weight grads for LoRA only) and the reference's forward.
    The LM head runs on the ``scored`` kept positions only; attention is causal."""
    tokens = 2 * pairs * seq_len
    linears = parameter_counts(config)["decoder_linears"]
    lora = lora_parameter_count(config, r)
    head = 2 * config.vocab_size * config.hidden_size * 2 * pairs * scored
    attention = 2 * config.num_hidden_layers * tokens * seq_len * config.hidden_size  # QK^T + AV, causal half
    # Policy: forward (frozen + LoRA), backward = activation grads (2x forward; attention's 2x its forward) plus the
    # LoRA weight grads (2x its forward); no weight grads for frozen weights. Reference: forward with LoRA off.
    policy = (2 * linears * tokens + head + attention + 2 * lora * tokens) + (
        2 * linears * tokens + head + 2 * attention + 4 * lora * tokens
    )
    reference = 2 * linears * tokens + head + attention
    return float(policy + reference)


def bf16_peak_tflops(device_name: str | None) -> float | None:
    if not device_name:
        return None
    return next((peak for key, peak in BF16_PEAK_TFLOPS if key in device_name), None)


# ---------------------------------------------------------------------------------------------------------- machine
def machine_info() -> dict[str, Any]:
    import peft
    import transformers

    cuda = torch.cuda.is_available()
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "gpu_count": torch.cuda.device_count() if cuda else 0,
        "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "vllm": _version("vllm"),
        "deepspeed": _version("deepspeed"),
    }


def _version(package: str) -> str | None:
    if importlib.util.find_spec(package) is None:
        return None
    from importlib.metadata import version

    with contextlib.suppress(Exception):
        return version(package)
    return "unknown"


def paper_settings() -> dict[str, Any]:
    """``dpo`` of conf/paper (merged over conf/base), so the benchmark uses the environment's numbers."""
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(
        conf_source=str(REPO / "conf"),
        base_env="base",
        default_run_env="paper",
        merge_strategy={"parameters": "soft", "globals": "soft"},
    )
    return loader["parameters"]["dpo"]


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


# -------------------------------------------------------------------------------------------------------------- DPO
def random_model(config, device: str):
    from transformers import MistralForCausalLM

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # never materialise 7B in fp32
    try:
        with torch.device(device):
            model = MistralForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.config.use_cache = False
    return model


def completion_logps(model, ids: torch.Tensor, completion: int) -> torch.Tensor:
    """Summed log-probabilities of the last ``completion`` tokens of each sequence."""
    logits = model(input_ids=ids, logits_to_keep=completion + 1).logits[:, :-1].float()
    targets = ids[:, -completion:]
    return torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1).sum(-1)


def dpo_attempt(config, args, lora: dict, training: dict, pairs: int, device: str) -> dict[str, Any]:
    from accelerate import Accelerator
    from peft import LoraConfig, get_peft_model

    accelerator = Accelerator(mixed_precision="bf16" if device == "cuda" else "no")
    if accelerator.state.deepspeed_plugin is not None:  # no dataloader: DeepSpeed needs the micro-batch size
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = pairs
    device = str(accelerator.device) if device == "cuda" else device
    torch.manual_seed(args.seed)  # the same weights in every process (DDP also broadcasts them); data differs
    model = random_model(config, device)
    if args.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(
        model,
        LoraConfig(
            r=int(lora["r"]),
            lora_alpha=float(lora["alpha"]),
            lora_dropout=float(lora.get("dropout", 0.0)),
            target_modules=list(LORA_TARGETS),
            bias="none",
            task_type="CAUSAL_LM",
        ),
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=float(training["learning_rate"]), fused=device.startswith("cuda"))
    model, optimizer = accelerator.prepare(model, optimizer)
    inner = accelerator.unwrap_model(model)
    beta, completion = float(training["beta"]), args.completion_len
    generator = torch.Generator().manual_seed(args.seed + accelerator.process_index)
    ids = torch.randint(3, config.vocab_size, (2 * pairs, args.seq_len), generator=generator).to(device)
    ids[pairs:, :-completion] = ids[:pairs, :-completion]  # chosen and rejected share the prompt
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for _ in range(args.warmup + args.steps):
        synchronize("cuda" if device.startswith("cuda") else device)
        start = time.perf_counter()
        with torch.no_grad(), inner.disable_adapter(), accelerator.autocast():
            reference = completion_logps(inner, ids, completion)
        with accelerator.autocast():
            policy = completion_logps(model, ids, completion)
        margins = (policy[:pairs] - reference[:pairs]) - (policy[pairs:] - reference[pairs:])
        loss = -torch.nn.functional.logsigmoid(beta * margins).mean()
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize("cuda" if device.startswith("cuda") else device)
        times.append(time.perf_counter() - start)
        losses.append(float(loss))
    step = statistics.median(times[args.warmup :])
    world = accelerator.num_processes
    flops = dpo_step_flops(config, int(lora["r"]), pairs, args.seq_len, completion)
    peak = args.peak_tflops or bf16_peak_tflops(torch.cuda.get_device_name() if device.startswith("cuda") else None)
    result = {
        "status": "ok",
        "processes": world,
        "distributed_type": str(accelerator.distributed_type),
        "pairs_per_process": pairs,
        "seq_len": args.seq_len,
        "completion_len": completion,
        "activation_checkpointing": args.activation_checkpointing,
        "step_time_s_median": round(step, 4),
        "step_times_s": [round(t, 4) for t in times],
        "tokens_per_s": round(2 * pairs * args.seq_len * world / step, 1),
        "pairs_per_s": round(pairs * world / step, 2),
        "model_tflops_per_step_per_process": round(flops / 1e12, 2),
        "bf16_peak_tflops": peak,
        "mfu": round(flops / step / (peak * 1e12), 4) if peak else None,
        "losses": [round(x, 5) for x in losses],
        "trainable_parameters": sum(p.numel() for p in inner.parameters() if p.requires_grad),
    }
    if device.startswith("cuda"):
        result["peak_memory_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        result["peak_memory_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    del model, inner, optimizer
    accelerator.free_memory()
    return result


def run_dpo(config, args, device: str) -> dict[str, Any]:
    settings = paper_settings()
    lora = {
        **settings["lora"],
        **({"r": args.lora_r} if args.lora_r else {}),
        **({"alpha": args.lora_alpha} if args.lora_alpha else {}),
    }
    pairs = args.batch_size or int(settings["training"]["per_device_train_batch_size"])
    ooms = []
    while pairs >= 1:
        try:
            result = dpo_attempt(config, args, lora, settings["training"], pairs, device)
            return {
                **result,
                "lora": lora,
                "beta": settings["training"]["beta"],
                "paper_pairs_per_device": settings["training"]["per_device_train_batch_size"],
                "oom_at": ooms,
            }
        except torch.cuda.OutOfMemoryError:
            ooms.append(pairs)
            gc.collect()
            torch.cuda.empty_cache()
            pairs //= 2
    return {"status": "oom", "oom_at": ooms, "lora": lora}


# ------------------------------------------------------------------------------------------------------- generation
def run_generation(config, args, device: str) -> dict[str, Any]:
    """Batched greedy ``generate`` vs vLLM on the same random prompts (EOS ignored, so every reply is full length)."""
    generator = torch.Generator().manual_seed(args.seed)
    prompts = torch.randint(3, config.vocab_size, (args.gen_prompts, args.prompt_len), generator=generator)
    model = random_model(config, device).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    result: dict[str, Any] = {
        "prompts": args.gen_prompts,
        "prompt_len": args.prompt_len,
        "max_new_tokens": args.max_new_tokens,
    }
    hf_tokens: list[list[int]] = []
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
        for begin in range(0, len(prompts), args.gen_batch):
            batch = prompts[begin : begin + args.gen_batch].to(device)
            out = model.generate(
                input_ids=batch,
                attention_mask=torch.ones_like(batch),
                do_sample=False,
                max_new_tokens=args.max_new_tokens,
                use_cache=True,
            )
            hf_tokens.extend(out[:, batch.shape[1] :].tolist())
    synchronize(device)
    elapsed = time.perf_counter() - start
    result["transformers"] = {
        "batch_size": args.gen_batch,
        "seconds": round(elapsed, 2),
        "new_tokens_per_s": round(sum(map(len, hf_tokens)) / elapsed, 1),
    }
    if importlib.util.find_spec("vllm") is None or device != "cuda":
        result["vllm"] = {"status": "skipped", "reason": "vllm not installed" if device == "cuda" else "no CUDA"}
        return result
    with tempfile.TemporaryDirectory(dir=args.scratch_dir) as folder:
        model.save_pretrained(folder, safe_serialization=True)
        del model
        gc.collect()
        torch.cuda.empty_cache()
        from vllm import LLM, SamplingParams

        engine = LLM(
            model=folder,
            skip_tokenizer_init=True,
            dtype="bfloat16",
            seed=args.seed,
            gpu_memory_utilization=args.gpu_memory_utilization,
            max_model_len=args.prompt_len + args.max_new_tokens,
        )
        sampling = SamplingParams(temperature=0.0, max_tokens=args.max_new_tokens, ignore_eos=True, detokenize=False)
        start = time.perf_counter()
        outputs = engine.generate([{"prompt_token_ids": p} for p in prompts.tolist()], sampling, use_tqdm=False)
        elapsed = time.perf_counter() - start
    vllm_tokens = [list(o.outputs[0].token_ids) for o in outputs]
    sample = range(min(args.sample_check, len(prompts)))
    prefix = [
        next(
            (i for i, (a, b) in enumerate(zip(hf_tokens[k], vllm_tokens[k], strict=False)) if a != b),
            len(hf_tokens[k]),
        )
        for k in sample
    ]
    result["vllm"] = {
        "status": "ok",
        "seconds": round(elapsed, 2),
        "new_tokens_per_s": round(sum(map(len, vllm_tokens)) / elapsed, 1),
    }
    result["speedup_vllm_over_transformers"] = round(
        result["vllm"]["new_tokens_per_s"] / result["transformers"]["new_tokens_per_s"], 2
    )
    result["sample_check"] = {
        "replies": len(prefix),
        "identical": sum(p == args.max_new_tokens for p in prefix),
        "mean_identical_prefix_tokens": round(statistics.mean(prefix), 1) if prefix else None,
    }
    return result


# ------------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny Mistral config on the CPU: a smoke test only")
    parser.add_argument("--label", default="", help="suffix of the JSON file (e.g. ddp, zero2)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--batch-size", type=int, default=None, help="DPO pairs per process (default: conf/paper)")
    parser.add_argument("--seq-len", type=int, default=256, help="prompt + reply tokens per sequence")
    parser.add_argument("--completion-len", type=int, default=64, help="reply tokens scored per sequence")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lora-r", type=int, default=None, help="default: conf/paper dpo.lora.r")
    parser.add_argument("--lora-alpha", type=float, default=None, help="default: conf/paper dpo.lora.alpha")
    parser.add_argument("--no-activation-checkpointing", dest="activation_checkpointing", action="store_false")
    parser.add_argument("--skip-dpo", action="store_true")
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--gen-prompts", type=int, default=256)
    parser.add_argument("--gen-batch", type=int, default=32)
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--sample-check", type=int, default=16, help="replies compared token by token")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    parser.add_argument("--scratch-dir", default=None, help="where vLLM's copy of the random weights is written")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak of an unlisted GPU")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.tiny:
        args.seq_len, args.completion_len = min(args.seq_len, 32), min(args.completion_len, 8)
        args.lora_r, args.lora_alpha = args.lora_r or 16, args.lora_alpha or 4
        args.batch_size = args.batch_size or 2
        args.gen_prompts, args.gen_batch = min(args.gen_prompts, 4), min(args.gen_batch, 2)
        args.prompt_len, args.max_new_tokens = min(args.prompt_len, 8), min(args.max_new_tokens, 4)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.tiny and not torch.cuda.is_available():
        print(
            "paper_scale: no CUDA GPU here. The benchmark measures the 7B paper shape on GPUs only; "
            "`--tiny` runs its plumbing on the CPU.",
            file=sys.stderr,
        )
        return 2
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    config = mistral_config(args.tiny)
    r = args.lora_r or int(paper_settings()["lora"]["r"])
    report: dict[str, Any] = {
        "benchmark": "paper_scale",
        "tiny": args.tiny,
        "device": device,
        "machine": machine_info(),
        "model": {
            "config": TINY if args.tiny else ZEPHYR_7B,
            "parameters": parameter_counts(config),
            "lora_r": r,
            "lora_parameters": lora_parameter_count(config, r),
            "memory_estimate_gib": memory_estimate_gib(config, r),
        },
    }
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not args.skip_dpo:
        report["dpo"] = run_dpo(config, args, device)
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    rank = int(os.environ.get("RANK", "0"))
    if not args.skip_generation and not distributed:
        report["generation"] = run_generation(config, args, device)
    if rank == 0:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        path = args.out_dir / f"paper_scale{'_' + args.label if args.label else ''}{'_tiny' if args.tiny else ''}.json"
        path.write_text(json.dumps(report, indent=1))
        print(json.dumps({k: report[k] for k in ("dpo", "generation") if k in report}, indent=1))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
