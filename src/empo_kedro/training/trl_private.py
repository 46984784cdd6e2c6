"""The private TRL names the CPU speed-ups lean on, checked before a speed-up is switched on.

TRL is pinned exactly (pyproject.toml, constraints.txt), but an upgrade can rename or reshape any of these. A
speed-up whose names are missing or changed is switched off with one warning naming what is missing: training then
runs TRL's own (slower) code, never a crash and never a silent fallback.

- ``labelled_positions_only`` replaces ``trl.trainer.utils._use_triton``, which TRL's fused LM head reads to choose
  compact scoring; replacing a name the head no longer reads would silently do nothing, so that is checked too.
- ``prompt_sharing`` calls ``trl.kernels.ChunkedLogProbFunction`` with positional arguments, passes
  ``trl.trainer.utils._CHUNKED_LOGPROB_CHUNK_SIZE``, returns ``trl.trainer.utils.FusedCausalLMOutput`` and takes
  over calls made with TRL's ``fused_lm_head`` keyword.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

LABELLED_POSITIONS_ONLY = "labelled_positions_only"
PROMPT_SHARING = "prompt_sharing"

# ChunkedLogProbFunction.forward's parameters after ``ctx``, in the order prefix_sharing passes them.
CHUNKED_LOGPROB_ARGS = (
    "hidden",
    "weight",
    "bias",
    "targets",
    "temperature",
    "chunk_size",
    "final_logit_softcapping",
    "logit_scale",
    "outputs",
)
# FusedCausalLMOutput fields prefix_sharing fills.
FUSED_OUTPUT_FIELDS = (
    "loss",
    "log_probs",
    "entropy",
    "log_sum_sq_probs",
    "mean_logits",
    "is_top1",
    "label_mask",
    "aux_loss",
)

_warned: set[str] = set()


def _attribute(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _check_labelled_positions_only() -> list[str]:
    problems = []
    use_triton = _attribute("trl.trainer.utils", "_use_triton")
    if not callable(use_triton):
        problems.append("trl.trainer.utils._use_triton is missing")
    fused_head = _attribute("trl.trainer.utils", "add_fused_lm_head")
    if fused_head is None:
        problems.append("trl.trainer.utils.add_fused_lm_head is missing")
    elif "_use_triton(" not in _source(fused_head):
        problems.append("add_fused_lm_head no longer reads _use_triton")
    return problems


def _check_prompt_sharing() -> list[str]:
    problems = []
    chunk_size = _attribute("trl.trainer.utils", "_CHUNKED_LOGPROB_CHUNK_SIZE")
    if not isinstance(chunk_size, int):
        problems.append("trl.trainer.utils._CHUNKED_LOGPROB_CHUNK_SIZE is missing or not an int")
    function = _attribute("trl.kernels", "ChunkedLogProbFunction")
    forward = getattr(function, "forward", None)
    if forward is None:
        problems.append("trl.kernels.ChunkedLogProbFunction is missing")
    else:
        names = tuple(inspect.signature(forward).parameters)[1:]
        if names != CHUNKED_LOGPROB_ARGS:
            problems.append(f"ChunkedLogProbFunction.forward takes {names}, expected {CHUNKED_LOGPROB_ARGS}")
    output = _attribute("trl.trainer.utils", "FusedCausalLMOutput")
    if output is None or not dataclasses.is_dataclass(output):
        problems.append("trl.trainer.utils.FusedCausalLMOutput is missing")
    else:
        missing = set(FUSED_OUTPUT_FIELDS) - {field.name for field in dataclasses.fields(output)}
        if missing:
            problems.append(f"FusedCausalLMOutput lacks {sorted(missing)}")
    fused_head = _attribute("trl.trainer.utils", "add_fused_lm_head")
    if fused_head is None or "fused_lm_head=False" not in _source(fused_head):
        problems.append("add_fused_lm_head no longer installs a forward with the fused_lm_head keyword")
    trainer = _attribute("trl", "DPOTrainer")
    if trainer is None or "fused_lm_head=True" not in _source(trainer):
        problems.append("DPOTrainer no longer calls the model with fused_lm_head=True")
    return problems


CHECKS: dict[str, Callable[[], list[str]]] = {
    LABELLED_POSITIONS_ONLY: _check_labelled_positions_only,
    PROMPT_SHARING: _check_prompt_sharing,
}


def missing_names(speedup: str) -> list[str]:
    """What the installed TRL lacks for ``speedup`` (empty: the speed-up can run)."""
    return CHECKS[speedup]()


def speedup_supported(speedup: str) -> bool:
    """True if the installed TRL has what ``speedup`` needs; else warn once (per speed-up) and return False."""
    problems = missing_names(speedup)
    if problems and speedup not in _warned:
        _warned.add(speedup)
        logger.warning(
            "Speed-up '%s' switched off: the installed TRL does not match what it relies on (%s); "
            "training runs TRL's own code for it",
            speedup,
            "; ".join(problems),
        )
    return not problems
