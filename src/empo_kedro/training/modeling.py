"""Loading models the same way everywhere: one copy of the base weights, adapters merged or attached."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from empo_kedro.training.base_model.chat_template import chat_template_with_generation_markers, has_generation_markers
from empo_kedro.training.config import resolve_device, torch_dtype

logger = logging.getLogger(__name__)


def load_tokenizer(path: Path | str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer saved beside a model or adapter, with a pad token (generation pads on the left)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def ensure_generation_markers(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """TRL's assistant-only loss needs ``{% generation %}`` markers; add them where the template lacks them."""
    template = tokenizer.chat_template
    if not template:
        raise ValueError("The tokenizer has no chat template: SFT on conversations needs one")
    if not has_generation_markers(template):
        tokenizer.chat_template = chat_template_with_generation_markers(template)
    return tokenizer


def load_causal_lm(path: Path | str, model_params: Mapping[str, Any]) -> PreTrainedModel:
    """Load a safetensors causal LM with the dtype/device/quantization named in ``base_model`` parameters."""
    device = resolve_device(model_params.get("device", "auto"))
    kwargs: dict[str, Any] = {
        "dtype": torch_dtype(model_params.get("dtype", "float32")),
        "use_safetensors": True,
        "trust_remote_code": bool(model_params.get("trust_remote_code", False)),
    }
    quantization = model_params.get("quantization")
    if quantization:
        if device == "cpu":
            raise ValueError(f"base_model.quantization '{quantization}' needs a CUDA device")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=quantization == "4bit", load_in_8bit=quantization == "8bit"
        )
        kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    if not quantization:
        model.to(device)
    return model


def merge_adapters(model: PreTrainedModel, adapter_paths: Sequence[Path | str]) -> PreTrainedModel:
    """Fold each adapter into the weights in turn (the SFT adapter under a DPO one), keeping a single model copy."""
    for adapter_path in adapter_paths:
        model = PeftModel.from_pretrained(model, str(adapter_path)).merge_and_unload()
        logger.info("Merged adapter %s into the base weights", adapter_path)
    return model


def load_adapted_model(
    base_path: Path | str,
    model_params: Mapping[str, Any],
    merged_parents: Sequence[Path | str] = (),
    adapter_path: Path | str | None = None,
    is_trainable: bool = False,
) -> PreTrainedModel | PeftModel:
    """Base weights, parents merged in, and optionally the final adapter attached (so it can be disabled)."""
    model = merge_adapters(load_causal_lm(base_path, model_params), merged_parents)
    if adapter_path is not None:
        model = PeftModel.from_pretrained(model, str(adapter_path), is_trainable=is_trainable)
    return model


def lora_config(lora: Mapping[str, Any]) -> LoraConfig:
    """A causal-LM LoRA config from the ``lora`` parameter block."""
    target = lora.get("target_modules", "all-linear")
    return LoraConfig(
        r=int(lora["r"]),
        lora_alpha=float(lora["alpha"]),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=target if isinstance(target, str) else list(target),
        bias="none",
        task_type="CAUSAL_LM",
    )


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Trainable and total parameter counts (for the run's params)."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}
