"""CPU speed-ups for LoRA training that keep what is learned the same up to numerical precision.

Each one was kept because ``benchmarks/training_speed.py`` measured it (see the README's performance section):

- TRL's fused LM head scores *every* position when Triton is not available (to keep tile shapes fixed for
  compiled backends). On a CPU nothing is compiled, and projecting prompt positions through a 49k-token vocabulary
  only to mask them out costs more than the rest of the step; ``labelled_positions_only`` scores only the
  completion positions, as TRL already does on CUDA.
- Frozen weights held in bf16 (LoRA weights stay fp32): under autocast, fp32 weights that do not require grad are
  re-cast to bf16 on every call, which on a 135M model is a tenth of the step.
- Length-bucketed batches: pairs of similar length share a batch, so little compute goes to padding.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel

from empo_kedro.training.trl_private import LABELLED_POSITIONS_ONLY, speedup_supported

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def labelled_positions_only() -> Iterator[None]:
    """While active, TRL's fused LM head projects only positions with a label (as it does on CUDA).

    Does nothing (after one warning) if the installed TRL lacks the private name it replaces (``trl_private``).
    """
    import trl.trainer.utils as trl_utils

    if not speedup_supported(LABELLED_POSITIONS_ONLY):
        yield
        return
    original = trl_utils._use_triton
    trl_utils._use_triton = lambda device: True  # only read there to choose compact (labelled-only) scoring
    try:
        yield
    finally:
        trl_utils._use_triton = original


def speed_context(params: Mapping[str, Any]) -> contextlib.AbstractContextManager:
    """The scoring context a training run's ``speed`` parameters ask for (compact LM head unless turned off)."""
    speed = params.get("speed") or {}
    return labelled_positions_only() if speed.get("labelled_positions_only", True) else contextlib.nullcontext()


def frozen_dtype_of(params: Mapping[str, Any]) -> torch.dtype | None:
    """``speed.frozen_weights_dtype`` as a torch dtype (None: leave the weights as loaded); ``auto`` is bf16 where
    the training device computes it natively (:mod:`empo_kedro.training.precision`)."""
    from empo_kedro.training.config import resolve_device, torch_dtype
    from empo_kedro.training.precision import resolve_dtype_switch

    name = resolve_dtype_switch(
        (params.get("speed") or {}).get("frozen_weights_dtype"), resolve_device(params.get("device", "auto"))
    )
    return torch_dtype(name) if name else None


def cast_frozen_weights(model: PreTrainedModel, dtype: torch.dtype | None) -> PreTrainedModel:
    """Cast the frozen weights of the linear layers to ``dtype`` before a LoRA adapter is attached; None leaves the
    model as it is.

    Under autocast these are exactly the weights every call would round to bf16 anyway, so holding them in bf16 only
    saves the per-call cast. Everything autocast keeps in fp32 stays fp32: embeddings (and a tied LM head), so the
    residual stream stays fp32; norm weights; buffers such as the rotary ``inv_freq`` (``model.to(dtype)`` rounded
    all of them, which made training differ from stock bf16 mixed precision by more than rounding). PEFT keeps
    adapter weights in fp32 (``autocast_adapter_dtype``); merge adapters into the base *before* this, in fp32.
    """
    if dtype is None:
        return model
    output_embeddings = model.get_output_embeddings()
    skip = {id(output_embeddings.weight)} if output_embeddings is not None else set()
    frozen = [
        module.weight
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
        and module.weight.is_floating_point()
        and id(module.weight) not in skip
        and module.weight.dtype != dtype
    ]
    if not frozen:
        return model
    logger.info(
        "Frozen linear weights cast to %s for training (embeddings, norms, buffers and adapter weights stay float32)",
        dtype,
    )
    for weight in frozen:
        weight.data = weight.data.to(dtype)
    return model


def compile_decoder_layers(model: PreTrainedModel) -> int:
    """``torch.compile`` each decoder layer in place (regional compilation, dynamic shapes); returns how many.

    The layers share one code object, so one compiled graph per call shape serves all of them and compile time does
    not grow with depth; dynamic shapes keep length-bucketed batches from recompiling per length. Compiling the whole
    model instead would trace TRL's and the prompt-sharing wrapper's data-dependent Python and break the graph there.
    Off by default (``speed.torch_compile``): measured without a steady-state gain on the CPU (docs/performance.md).
    """
    layer_classes = set(getattr(model, "_no_split_modules", None) or ())
    layers = [module for module in model.modules() if type(module).__name__ in layer_classes]
    for layer in layers:
        layer.compile(dynamic=True)
    logger.info("torch.compile: %d decoder layers (%s) compiled on first use", len(layers), ", ".join(layer_classes))
    return len(layers)


def length_bucketed_order(
    lengths: Sequence[int], batch_size: int, window_batches: int, rng: np.random.Generator
) -> np.ndarray:
    """A permutation whose consecutive ``batch_size`` blocks hold items of similar length.

    Items are shuffled, cut into windows of ``window_batches`` batches, sorted by length inside each window, and the
    batches of a window are shuffled again, so the order stays random at the scale of a window while padding drops.
    """
    if batch_size < 1 or window_batches < 1:
        raise ValueError(f"batch_size and window_batches must be >= 1, got {batch_size} and {window_batches}")
    lengths = np.asarray(lengths)
    shuffled = rng.permutation(len(lengths))
    window = batch_size * window_batches
    order: list[np.ndarray] = []
    for start in range(0, len(shuffled), window):
        members = shuffled[start : start + window]
        members = members[np.argsort(lengths[members], kind="stable")]
        batches = [members[i : i + batch_size] for i in range(0, len(members), batch_size)]
        order.extend(batches[i] for i in rng.permutation(len(batches)))
    return np.concatenate(order) if order else np.empty(0, dtype=int)


def padding_fraction(lengths: Sequence[int], batch_size: int) -> float:
    """Share of padded positions when consecutive ``batch_size`` items are padded to their longest."""
    lengths = np.asarray(lengths)
    if len(lengths) == 0:
        return 0.0
    padded = sum(
        int(lengths[i : i + batch_size].max()) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    return 1.0 - float(lengths.sum()) / padded
