"""Checks of training parameters, so a bad value stops the run before any model is loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from empo_kedro.errors import UserFacingError


class TrainingConfigError(UserFacingError, ValueError):
    """A training parameter is out of range or unknown."""


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_dtype(name: str) -> torch.dtype:
    """``float32`` | ``bfloat16`` | ``float16`` as a torch dtype."""
    if name not in DTYPES:
        raise TrainingConfigError(f"base_model.dtype must be one of {sorted(DTYPES)}, got '{name}'")
    return DTYPES[name]


def resolve_device(name: str) -> str:
    """``auto`` picks CUDA when present, else the CPU."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingConfigError(f"base_model.device is '{name}' but no CUDA device is available")
    return name


def validate_lora(lora: Mapping[str, Any], where: str) -> None:
    """LoRA rank and alpha must be positive, dropout in [0, 1)."""
    if int(lora.get("r", 0)) < 1:
        raise TrainingConfigError(f"{where}.lora.r must be >= 1, got {lora.get('r')}")
    if float(lora.get("alpha", 0)) <= 0:
        raise TrainingConfigError(f"{where}.lora.alpha must be > 0, got {lora.get('alpha')}")
    if not 0 <= float(lora.get("dropout", 0.0)) < 1:
        raise TrainingConfigError(f"{where}.lora.dropout must be in [0, 1), got {lora.get('dropout')}")


def validate_dpo(params: Mapping[str, Any]) -> None:
    """beta must be positive and the number of epochs (draws) at least one."""
    validate_lora(params["lora"], "dpo")
    beta = float(params["training"].get("beta", 0.1))
    if beta <= 0:
        raise TrainingConfigError(f"dpo.training.beta must be > 0, got {beta}")
    if int(params["epochs"]) < 1:
        raise TrainingConfigError(f"dpo.epochs must be >= 1, got {params['epochs']}")


def make_trainer_config(config_class: type, training: Mapping[str, Any], where: str, **fixed: Any):
    """Build a TRL config from the parameters, naming any key the config does not know."""
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(training) - known)
    if unknown:
        raise TrainingConfigError(f"{where}.training: unknown {config_class.__name__} keys {unknown}")
    overlap = sorted(set(training) & set(fixed))
    if overlap:
        raise TrainingConfigError(f"{where}.training: {overlap} are set by the project, remove them")
    return config_class(**dict(training), **fixed)
