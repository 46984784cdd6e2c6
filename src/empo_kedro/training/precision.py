"""Precision chosen by the hardware: bf16 where the device computes it natively, fp32 elsewhere.

Every bf16 switch of the project (``base_model.eval_autocast``, ``sft/dpo.speed.frozen_weights_dtype``,
``sft/dpo.training.bf16``, ``evaluation.epitome.scorer.bf16``) takes ``auto``. Why: on a GPU with bf16 and on CPUs
with AMX or AVX512-BF16, bf16 runs ~2-5x faster than fp32; on CPUs without them (AVX2 only) torch emulates bf16 and
its matmuls run 7-70x *slower* than fp32 (``shared/notes/measurements.md``). What torch reports about the CPU is
confirmed by a sub-second matmul probe, since a flag alone does not say which kernels torch's build will use.
An explicit value (``bfloat16`` / ``null``, ``true`` / ``false``) always wins over the probe.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

AUTO = "auto"
BF16 = "bfloat16"
# Set to 1 or 0 to skip the probe and declare native bf16 present or absent (tests, diagnosis of a new machine).
FORCE_ENV = "EMPO_NATIVE_BF16"
# The probe: square matmuls of this size, each dtype timed for about this long.
PROBE_SIZE = 512
PROBE_SECONDS = 0.1
# bf16 counts as native when its matmul throughput is at least this share of fp32's. Native bf16 measured 1.6-7x
# fp32 on the machines seen here, emulated bf16 0.01-0.15x, so the threshold sits far from both.
MIN_BF16_SPEED_RATIO = 0.8
PROBE_MIN_ROUNDS = 3
CLEARLY_EMULATED_RATIO = 0.2  # one round this slow is enough to call it emulated (an emulated matmul takes ~0.5 s)


@dataclass(frozen=True)
class Bf16Support:
    """Whether a device type computes bf16 natively, and why we think so (logged and tracked)."""

    native: bool
    reason: str


def cpu_bf16_flags() -> list[str]:
    """The bf16 instruction sets torch reports for this CPU (private torch helpers, so guarded)."""
    flags = []
    for name, probe in (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported")):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                flags.append(name)
        except Exception:  # a torch build without the helper or a CPU it cannot query: treat as absent
            logger.debug("torch.cpu.%s failed", probe, exc_info=True)
    return flags


def matmul_speed_ratio(device_type: str = "cpu", size: int = PROBE_SIZE, seconds: float = PROBE_SECONDS) -> float:
    """bf16 matmul speed over fp32's on ``device_type``: the fastest of several single matmuls of each dtype, timed
    alternately for about ``2 * seconds`` (at least ``PROBE_MIN_ROUNDS`` rounds).

    Best times, not average throughput: another job on the cores slows some matmuls of both dtypes, and the fastest
    of each still compares the kernels (an average over 0.1 s per dtype read 0.72x beside a training job on a CPU
    where bf16 runs 2.2x fp32, and two processes of one run then chose different precisions). A first round that
    is clearly emulated (bf16 many times slower) stops the probe early, since each such matmul is slow.
    """
    operands = {
        dtype: tuple(torch.randn(size, size, device=device_type).to(dtype) for _ in range(2))
        for dtype in (torch.float32, torch.bfloat16)
    }
    for a, b in operands.values():
        a @ b  # warm-up: kernel selection and allocation
    best = dict.fromkeys(operands, math.inf)
    rounds, started = 0, time.perf_counter()
    while rounds < PROBE_MIN_ROUNDS or time.perf_counter() - started < 2 * seconds:
        for dtype, (a, b) in operands.items():
            best[dtype] = min(best[dtype], _matmul_seconds(a, b))
        rounds += 1
        if rounds == 1 and best[torch.float32] / best[torch.bfloat16] < CLEARLY_EMULATED_RATIO:
            break
    return best[torch.float32] / best[torch.bfloat16]


def _matmul_seconds(a: torch.Tensor, b: torch.Tensor) -> float:
    tick = time.perf_counter()
    a @ b
    return time.perf_counter() - tick


@functools.cache
def bf16_support(device_type: str) -> Bf16Support:
    """Does ``device_type`` (``cpu`` | ``cuda`` | ...) run bf16 natively? Decided once per process."""
    forced = os.environ.get(FORCE_ENV)
    if forced in {"0", "1"}:
        return Bf16Support(forced == "1", f"{FORCE_ENV}={forced}")
    if device_type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return Bf16Support(True, f"CUDA device {torch.cuda.get_device_name()} supports bf16")
        return Bf16Support(False, "CUDA device without bf16 support")
    if device_type != "cpu":
        return Bf16Support(False, f"no bf16 check for device type '{device_type}'")
    flags = cpu_bf16_flags()
    if not flags:
        return Bf16Support(
            False, "CPU reports neither AMX nor AVX512-BF16 (bf16 would be emulated, many times slower than fp32)"
        )
    ratio = matmul_speed_ratio("cpu")
    if ratio < MIN_BF16_SPEED_RATIO:
        return Bf16Support(False, f"CPU reports {'+'.join(flags)} but a bf16 matmul ran at {ratio:.2f}x fp32")
    return Bf16Support(True, f"CPU has {'+'.join(flags)}; bf16 matmul ran at {ratio:.1f}x fp32")


def _device_type(device: str | torch.device) -> str:
    return torch.device(device).type if not isinstance(device, torch.device) else device.type


def resolve_dtype_switch(value: str | None, device: str | torch.device) -> str | None:
    """A dtype switch (``auto`` | ``bfloat16`` | ``float16`` | null) as the dtype name to use, or None (fp32)."""
    if value == AUTO:
        return BF16 if bf16_support(_device_type(device)).native else None
    return value or None


def resolve_bf16_flag(value: bool | str | None, device: str | torch.device) -> bool:
    """A bf16 on/off switch (``auto`` | true | false) as a bool."""
    if value == AUTO:
        return bf16_support(_device_type(device)).native
    return bool(value)


def resolve_training_block(training: Mapping[str, Any], device: str | torch.device) -> dict[str, Any]:
    """A TRL ``training`` block with ``bf16: auto`` replaced by what this device supports."""
    resolved = dict(training)
    if resolved.get("bf16") == AUTO:
        resolved["bf16"] = resolve_bf16_flag(AUTO, device)
    return resolved


# Every switch as (dotted parameter path, kind): "dtype" switches name a dtype or null, "flag" switches are bools.
PRECISION_SWITCHES = (
    ("base_model.eval_autocast", "dtype"),
    ("sft.speed.frozen_weights_dtype", "dtype"),
    ("sft.training.bf16", "flag"),
    ("dpo.speed.frozen_weights_dtype", "dtype"),
    ("dpo.training.bf16", "flag"),
    ("evaluation.epitome.scorer.bf16", "flag"),
)


def _lookup(params: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = params
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value


def resolved_precision(params: Mapping[str, Any]) -> dict[str, Any]:
    """What every precision switch present in ``params`` resolves to on this machine, as ``resolved.<path>`` keys,
    plus ``resolved.bf16_native`` and ``resolved.bf16_reason`` (tracked with the run)."""
    from empo_kedro.training.config import resolve_device

    device = resolve_device((params.get("base_model") or {}).get("device", "auto"))
    support = bf16_support(_device_type(device))
    resolved: dict[str, Any] = {
        "resolved.device": device,
        "resolved.bf16_native": support.native,
        "resolved.bf16_reason": support.reason,
    }
    for path, kind in PRECISION_SWITCHES:
        present, value = _lookup(params, path)
        if present:
            value = resolve_dtype_switch(value, device) if kind == "dtype" else resolve_bf16_flag(value, device)
            resolved[f"resolved.{path}"] = value if value is not None else "float32"
    return resolved


def resolved_eval_autocast(model_params: Mapping[str, Any]) -> str | None:
    """``base_model.eval_autocast`` as it resolves on the configured device (part of evaluation cache keys)."""
    from empo_kedro.training.config import resolve_device

    return resolve_dtype_switch(model_params.get("eval_autocast"), resolve_device(model_params.get("device", "auto")))


DTYPE_SWITCH_VALUES = (AUTO, "bfloat16", "float16", "float32", None)
FLAG_SWITCH_VALUES = (AUTO, True, False)


def validate_precision_switches(params: Mapping[str, Any], blocks: set[str]) -> None:
    """Every precision switch under ``blocks`` (top-level names such as ``dpo``) holds an allowed value."""
    from empo_kedro.training.config import TrainingConfigError

    for path, kind in PRECISION_SWITCHES:
        present, value = _lookup(params, path)
        if not present or path.split(".")[0] not in blocks:
            continue
        allowed = DTYPE_SWITCH_VALUES if kind == "dtype" else FLAG_SWITCH_VALUES
        if value not in allowed or (kind == "flag" and not isinstance(value, (bool, str))):
            shown = ["null" if option is None else str(option).lower() for option in allowed]
            raise TrainingConfigError(f"{path} must be one of {shown}, got {value!r}")
