"""Generation of the base / SFT / DPO replies with vLLM, for the full ED test split on a 7B model (GPU only).

Why: the evaluation's ``model.generate`` loop is fine at 135M on a CPU but takes hours for ~2.5k prompts x 3
variants x up to 1000 new tokens on a 7B model; vLLM's continuous batching and paged KV cache do it in minutes.

``evaluation.generation.backend: vllm`` selects it (``pip install '.[vllm]'``; vllm is imported lazily, only here).
The replies have the same prompts (the same chat-template text, tokenised by the project's tokenizer and given to
vLLM as token ids), greedy decoding and the same output frame as :func:`~empo_kedro.evaluation.generation.
variant_replies`.

How the adapters are served (``evaluation.vllm.adapters``):

* ``lora`` -- one engine on the base weights; SFT is a LoRA request, DPO is *one* LoRA request too: vLLM applies a
  single adapter per request, so the SFT and DPO adapters (DPO was trained on the SFT-merged weights, so the DPO
  model is base + SFT delta + DPO delta) are stacked into one exact LoRA of rank r_sft + r_dpo
  (:func:`stack_lora_adapters`: A and B concatenated along the rank, each B scaled by its adapter's alpha / r).
* ``merged`` -- vLLM's LoRA rank is limited (at most 512 in current releases); the paper's r=1024 adapters exceed
  it, so each variant's adapters are merged into a copy of the weights (``evaluation.vllm.scratch_dir``) and served
  by its own engine, one after the other (base, SFT, SFT+DPO).
* ``auto`` -- ``lora`` when r_sft + r_dpo <= ``max_lora_rank`` and the adapters are plain LoRA, else ``merged``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from empo_kedro.data.dialogues import as_turns
from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.variants import BASE, DPO, SFT

logger = logging.getLogger(__name__)

TRANSFORMERS, VLLM = "transformers", "vllm"
BACKENDS = (TRANSFORMERS, VLLM)
ADAPTER_MODES = ("auto", "lora", "merged")
#: ``evaluation.generation`` keys the vLLM backend turns into SamplingParams (everything else is refused up front).
VLLM_DECODING_KEYS = frozenset({"max_new_tokens", "do_sample", "repetition_penalty"})
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"


class GenerationBackendError(UserFacingError, ValueError):
    """The generation backend asked for cannot run here (unknown, not installed, no GPU, unsupported setting)."""


def generation_backend(generation: Mapping[str, Any]) -> str:
    """The backend named in ``evaluation.generation`` (``transformers`` when absent)."""
    return str(generation.get("backend") or TRANSFORMERS)


# Keys of ``evaluation.generation`` that choose how the project generates rather than what is decoded.
PROJECT_GENERATION_KEYS = ("backend", "prefill")
PREFILL_MODES = ("batched", "per_prompt")


def decoding_settings(generation: Mapping[str, Any]) -> dict[str, Any]:
    """``evaluation.generation`` without the project's own choices (backend, prefill): what ``model.generate``
    receives."""
    return {key: value for key, value in generation.items() if key not in PROJECT_GENERATION_KEYS}


def prefill_mode(generation: Mapping[str, Any]) -> str:
    """``evaluation.generation.prefill``: ``batched`` (the prompts' padded batch in one forward, the default) or
    ``per_prompt`` (each prompt without padding, their common prefix once)."""
    mode = generation.get("prefill") or "batched"
    if mode not in PREFILL_MODES:
        raise GenerationBackendError(
            f"evaluation.generation.prefill must be one of {list(PREFILL_MODES)}, got '{mode}'"
        )
    return mode


def without_default_prefill(generation: Mapping[str, Any]) -> dict[str, Any]:
    """``generation`` without ``prefill`` when it is the default, so that keys written before the setting existed
    stay valid (``per_prompt`` is identical to ``batched`` in fp32 but not under bf16 autocast, so it is kept)."""
    default = prefill_mode(generation) == "batched"
    return {key: value for key, value in generation.items() if not (key == "prefill" and default)}


def replies_fingerprint_settings(generation: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``evaluation.generation`` a cache of replies is keyed by: the decoding settings, plus ``prefill`` when
    it is not the default."""
    return without_default_prefill({key: value for key, value in generation.items() if key != "backend"})


def check_generation_backend(
    generation: Mapping[str, Any], vllm_params: Mapping[str, Any] | None, model_params: Mapping[str, Any]
) -> None:
    """Refuse a backend that cannot run on this machine, before anything is loaded (pre-run parameter check)."""
    prefill_mode(generation)  # a typo in generation.prefill fails here, before any model is loaded
    backend = generation_backend(generation)
    if backend not in BACKENDS:
        raise GenerationBackendError(f"evaluation.generation.backend must be one of {list(BACKENDS)}, got '{backend}'")
    if backend != VLLM:
        return
    fallback = "or run with --params evaluation.generation.backend=transformers"
    if importlib.util.find_spec("vllm") is None:
        raise GenerationBackendError(
            "evaluation.generation.backend is 'vllm' but vllm is not installed: pip install '.[vllm]' "
            f"(Linux with a CUDA GPU only), {fallback}"
        )
    if not torch.cuda.is_available():
        raise GenerationBackendError(
            f"evaluation.generation.backend is 'vllm' but no CUDA GPU is visible on this machine; vLLM runs on GPUs "
            f"only, {fallback}"
        )
    if str(model_params.get("device", "auto")) == "cpu":
        raise GenerationBackendError(
            f"evaluation.generation.backend is 'vllm' but base_model.device is 'cpu', {fallback}"
        )
    unsupported = sorted(set(decoding_settings(generation)) - VLLM_DECODING_KEYS)
    if unsupported:
        raise GenerationBackendError(
            f"evaluation.generation: {unsupported} have no vLLM equivalent here (the vllm backend takes "
            f"{sorted(VLLM_DECODING_KEYS)}), {fallback}"
        )
    if generation.get("do_sample"):
        raise GenerationBackendError(
            f"evaluation.generation.do_sample is true: the vllm backend decodes greedily "
            f"only (variants are compared on the same decoding), {fallback}"
        )
    mode = (vllm_params or {}).get("adapters", "auto")
    if mode not in ADAPTER_MODES:
        raise GenerationBackendError(f"evaluation.vllm.adapters must be one of {list(ADAPTER_MODES)}, got '{mode}'")


# ------------------------------------------------------------------------------------------------ adapter stacking
def _adapter(path: Path | str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    folder = Path(path)
    return json.loads((folder / ADAPTER_CONFIG).read_text()), load_file(str(folder / ADAPTER_WEIGHTS))


def _stackable(config: Mapping[str, Any]) -> str | None:
    """Why an adapter cannot be stacked as plain LoRA (``None`` when it can)."""
    if config.get("peft_type") != "LORA":
        return f"peft_type {config.get('peft_type')}"
    for key in ("use_dora", "use_rslora", "modules_to_save", "rank_pattern", "alpha_pattern"):
        if config.get(key):
            return f"{key} is set"
    if config.get("bias", "none") != "none":
        return f"bias {config.get('bias')}"
    return None


def stacked_rank(adapter_paths: Sequence[Path | str]) -> tuple[int, str | None]:
    """The rank of the stacked adapter and, if the adapters cannot be stacked, why."""
    rank, reason = 0, None
    for path in adapter_paths:
        config = json.loads((Path(path) / ADAPTER_CONFIG).read_text())
        rank += int(config["r"])
        reason = reason or _stackable(config)
    return rank, reason


def stack_lora_adapters(adapter_paths: Sequence[Path | str], out_dir: Path | str) -> Path:
    """One LoRA adapter equal to several applied together: sum_i (alpha_i/r_i) B_i A_i = B' A' with
    A' = [A_1; A_2; ...] and B' = [s_1 B_1, s_2 B_2, ...] (rank sum_i r_i, alpha = rank, so its own scale is 1).

    Modules one adapter lacks get zero blocks. Weights are combined in float32 and saved in the first adapter's dtype.
    """
    adapters = [_adapter(path) for path in adapter_paths]
    for path, (config, _) in zip(adapter_paths, adapters, strict=True):
        reason = _stackable(config)
        if reason:
            raise GenerationBackendError(f"Adapter {path} cannot be stacked into one LoRA: {reason}")
    modules = sorted({key.rsplit(".lora_", 1)[0] for _, weights in adapters for key in weights if ".lora_" in key})
    ranks = [int(config["r"]) for config, _ in adapters]
    scales = [float(config["lora_alpha"]) / int(config["r"]) for config, _ in adapters]
    stacked: dict[str, torch.Tensor] = {}
    for module in modules:
        a_blocks, b_blocks, dtype = [], [], None
        shapes = next(
            (w[f"{module}.lora_A.weight"].shape[1], w[f"{module}.lora_B.weight"].shape[0])
            for _, w in adapters
            if f"{module}.lora_A.weight" in w
        )
        for (_, weights), rank, scale in zip(adapters, ranks, scales, strict=True):
            a, b = weights.get(f"{module}.lora_A.weight"), weights.get(f"{module}.lora_B.weight")
            if a is None:
                a, b = torch.zeros(rank, shapes[0]), torch.zeros(shapes[1], rank)
            dtype = dtype or a.dtype
            a_blocks.append(a.float())
            b_blocks.append(b.float() * scale)
        stacked[f"{module}.lora_A.weight"] = torch.cat(a_blocks, dim=0).to(dtype).contiguous()
        stacked[f"{module}.lora_B.weight"] = torch.cat(b_blocks, dim=1).to(dtype).contiguous()
    config = dict(adapters[0][0])
    total = sum(ranks)
    config.update(
        r=total, lora_alpha=total, lora_dropout=0.0, target_modules=sorted({m.rsplit(".", 1)[-1] for m in modules})
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(stacked, str(out / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (out / ADAPTER_CONFIG).write_text(json.dumps(config, indent=1))
    return out


def resolve_adapter_mode(mode: str, adapter_paths: Sequence[Path | str], max_lora_rank: int) -> str:
    """``auto`` -> ``lora`` when the stacked SFT+DPO adapter is plain LoRA within vLLM's rank limit, else merged."""
    rank, reason = stacked_rank(adapter_paths)
    if mode == "lora" and (reason or rank > max_lora_rank):
        raise GenerationBackendError(
            f"evaluation.vllm.adapters is 'lora' but the stacked SFT+DPO adapter has rank {rank} "
            f"(evaluation.vllm.max_lora_rank {max_lora_rank}){'; ' + reason if reason else ''}: "
            "use 'merged' or 'auto'"
        )
    if mode == "auto":
        mode = "lora" if reason is None and rank <= max_lora_rank else "merged"
        logger.info(
            "vLLM: stacked SFT+DPO rank %d (limit %d)%s -> %s",
            rank,
            max_lora_rank,
            f", {reason}" if reason else "",
            mode,
        )
    return mode


def vllm_rank_slot(rank: int, supported: Sequence[int]) -> int:
    """The smallest rank vLLM accepts for ``max_lora_rank`` that holds ``rank``."""
    fitting = [slot for slot in sorted(supported) if slot >= rank]
    if not fitting:
        raise GenerationBackendError(f"LoRA rank {rank} exceeds vLLM's largest max_lora_rank {max(supported)}")
    return fitting[0]


# ------------------------------------------------------------------------------------------------------- generation
def prompt_token_ids(tokenizer: Any, prompts: Sequence[list[dict]]) -> list[list[int]]:
    """The evaluation's prompt texts (chat template + generation prompt), tokenised as the transformers path does."""
    texts = [tokenizer.apply_chat_template(as_turns(p), tokenize=False, add_generation_prompt=True) for p in prompts]
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def _sampling_params(vllm: Any, generation: Mapping[str, Any], seed: int) -> Any:
    return vllm.SamplingParams(
        temperature=0.0,
        max_tokens=int(generation.get("max_new_tokens", 48)),
        repetition_penalty=float(generation.get("repetition_penalty", 1.0)),
        seed=seed,
        detokenize=False,
    )


def _engine_kwargs(vllm_params: Mapping[str, Any], model_params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    kwargs = {
        "dtype": str(model_params.get("dtype", "bfloat16")),
        "seed": seed,
        "trust_remote_code": bool(model_params.get("trust_remote_code", False)),
    }
    kwargs.update(dict(vllm_params.get("engine") or {}))
    return kwargs


@contextlib.contextmanager
def _engine(vllm: Any, model_dir: Path | str, tokenizer_dir: Path | str, **kwargs: Any) -> Iterator[Any]:
    """A vLLM engine that is torn down (GPU memory released) when the block ends, so the next one fits."""
    engine = vllm.LLM(model=str(model_dir), tokenizer=str(tokenizer_dir), **kwargs)
    try:
        yield engine
    finally:
        del engine
        with contextlib.suppress(Exception):
            from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

            destroy_model_parallel()
            destroy_distributed_environment()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _replies(
    engine: Any,
    token_ids: list[list[int]],
    sampling: Any,
    tokenizer: Any,
    lora_request: Any = None,
) -> list[str]:
    outputs = engine.generate(
        [{"prompt_token_ids": ids} for ids in token_ids], sampling, lora_request=lora_request, use_tqdm=True
    )
    return [tokenizer.decode(list(out.outputs[0].token_ids), skip_special_tokens=True).strip() for out in outputs]


def _merged_copy(
    base_dir: Path | str,
    adapters: Sequence[Path | str],
    model_params: Mapping[str, Any],
    tokenizer: Any,
    out_dir: Path,
) -> Path:
    """The base weights with ``adapters`` merged in, saved (safetensors) for a vLLM engine; built on the CPU."""
    from empo_kedro.training.modeling import load_causal_lm, merge_adapters

    model = merge_adapters(load_causal_lm(base_dir, {**model_params, "device": "cpu", "quantization": None}), adapters)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    del model
    gc.collect()
    return out_dir


def vllm_variant_replies(
    base_dir: Path | str,
    sft_adapter: Path | str,
    dpo_adapter: Path | str,
    prompts: pd.DataFrame,
    tokenizer: Any,
    generation: Mapping[str, Any],
    vllm_params: Mapping[str, Any],
    model_params: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Base, SFT and DPO replies to the same prompts, greedy, as :func:`generation.variant_replies` frames them."""
    import vllm  # lazy: an optional extra, GPU only (the pre-run check says so when it is missing)
    from vllm.lora.request import LoRARequest

    scratch = Path(vllm_params.get("scratch_dir") or "data/06_models/vllm_scratch")
    max_rank = int(vllm_params.get("max_lora_rank", 512))
    mode = resolve_adapter_mode(str(vllm_params.get("adapters", "auto")), [sft_adapter, dpo_adapter], max_rank)
    token_ids = prompt_token_ids(tokenizer, prompts["prompt"].tolist())
    sampling = _sampling_params(vllm, generation, seed)
    engine_kwargs = _engine_kwargs(vllm_params, model_params, seed)
    replies: dict[str, list[str]] = {}
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        if mode == "lora":
            stacked = stack_lora_adapters([sft_adapter, dpo_adapter], scratch / "sft_dpo_stacked")
            rank_slot = vllm_rank_slot(
                stacked_rank([stacked])[0],
                vllm_params.get("supported_ranks") or (1, 8, 16, 32, 64, 128, 256, 320, 512),
            )
            with _engine(
                vllm, base_dir, sft_adapter, enable_lora=True, max_loras=1, max_lora_rank=rank_slot, **engine_kwargs
            ) as engine:
                requests = {
                    BASE: None,
                    SFT: LoRARequest(SFT, 1, str(sft_adapter)),
                    DPO: LoRARequest(DPO, 2, str(stacked)),
                }
                for variant, request in requests.items():
                    replies[variant] = _replies(engine, token_ids, sampling, tokenizer, request)
                    logger.info(
                        "vLLM: generated %d replies with %s (LoRA request: %s)",
                        len(token_ids),
                        variant,
                        request is not None,
                    )
        else:
            stacks = {BASE: [], SFT: [sft_adapter], DPO: [sft_adapter, dpo_adapter]}
            for variant, adapters in stacks.items():
                model_dir = (
                    _merged_copy(base_dir, adapters, model_params, tokenizer, scratch / variant)
                    if adapters
                    else Path(base_dir)
                )
                with _engine(vllm, model_dir, sft_adapter, **engine_kwargs) as engine:
                    replies[variant] = _replies(engine, token_ids, sampling, tokenizer)
                logger.info("vLLM: generated %d replies with %s (merged weights)", len(token_ids), variant)
                if adapters:
                    shutil.rmtree(model_dir, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    frames = []
    for variant in (BASE, SFT, DPO):
        frame = prompts.copy()
        frame["variant"], frame["response"] = variant, replies[variant]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
