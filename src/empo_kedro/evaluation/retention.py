"""Knowledge-retention proxy: mean per-token KL(tuned || base) on held-out text.

Why: preference tuning (DPO) should change *how* the model answers without
drifting far from the reference model elsewhere. The KL between the tuned and
the base next-token distributions, averaged over the tokens of some texts, is
the standard cheap drift measure (it is what DPO's beta implicitly trades off).

Definition, for a text with (non-pad) tokens x_1..x_T and every position t:
``KL_t = sum_v p_tuned(v | x_<=t) * (log p_tuned(v | x_<=t) - log p_base(v | x_<=t))``
(full-vocabulary next-token distributions, computed in float32). The per-text
value is the mean over its T positions; ``kl_mean`` is the token-weighted mean
over all texts (every token counts once), ``kl_text_mean`` the mean of the
per-text values.

Padding never changes a result: only real positions are averaged and explicit
``position_ids`` (``cumsum(attention_mask) - 1``) are passed, so right and
left padding give the same per-text KL as running texts one by one.

Two ways to provide the models:

* :func:`mean_token_kl` — two model objects (any causal LMs sharing a vocab).
* :func:`mean_token_kl_with_adapter` — ONE ``peft`` model; base logits are
  computed inside ``peft_model.disable_adapter()``, so only one copy of the base
  weights is in memory. For a stacked adapter (DPO adapter on top of an
  SFT-merged base) the "base" is then the SFT-merged model.
* :func:`mean_token_kl_in_context` — the general form: base logits are
  computed inside any context manager factory you pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm


@contextmanager
def _eval_mode(*models: torch.nn.Module) -> Iterator[None]:
    """Put models in eval mode for the duration, restoring their previous mode."""
    previous = [m.training for m in models]
    try:
        for m in models:
            m.eval()
        yield
    finally:
        for m, was_training in zip(models, previous, strict=False):
            m.train(was_training)


def _model_device(model: torch.nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Float32 logits on the batch's device (the two models may live apart)."""
    device = _model_device(model)
    out = model(**{k: v.to(device) for k, v in batch.items()}, use_cache=False)
    return out.logits.float().to(batch["input_ids"].device)


def _per_token_kl(tuned_logits: torch.Tensor, base_logits: torch.Tensor) -> torch.Tensor:
    """KL(tuned || base) per position, shape (batch, seq)."""
    log_p = F.log_softmax(tuned_logits, dim=-1)
    log_q = F.log_softmax(base_logits, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def _kl_core(
    tuned_forward: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    base_forward: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    device: torch.device,
    add_special_tokens: bool,
) -> dict[str, Any]:
    if batch_size < 1 or max_length < 1:
        raise ValueError("batch_size and max_length must be >= 1")
    if tokenizer.pad_token_id is None:
        raise ValueError("tokenizer has no pad token; set tokenizer.pad_token first")
    texts = list(texts)
    kl_sum = np.zeros(len(texts), dtype=np.float64)
    n_tok = np.zeros(len(texts), dtype=np.int64)
    n_truncated = 0
    with torch.no_grad():
        for start in tqdm(range(0, len(texts), batch_size), desc="KL to base", unit="batch", leave=False):
            chunk = texts[start : start + batch_size]
            full = tokenizer(chunk, add_special_tokens=add_special_tokens)["input_ids"]
            n_truncated += sum(len(ids) > max_length for ids in full)
            enc = tokenizer(
                chunk,
                add_special_tokens=add_special_tokens,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            mask = enc["attention_mask"].to(device)
            batch = {
                "input_ids": enc["input_ids"].to(device),
                "attention_mask": mask,
                "position_ids": (mask.long().cumsum(-1) - 1).clamp(min=0),
            }
            kl = _per_token_kl(tuned_forward(batch), base_forward(batch))
            real = mask.bool()
            # where(), not multiply: fully-masked pad rows may hold NaN logits.
            kl = torch.where(real, kl, torch.zeros_like(kl))
            kl_sum[start : start + len(chunk)] = kl.sum(dim=-1).double().cpu().numpy()
            n_tok[start : start + len(chunk)] = real.sum(dim=-1).cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        per_text = np.where(n_tok > 0, kl_sum / np.maximum(n_tok, 1), np.nan)
    total = int(n_tok.sum())
    valid = n_tok > 0
    return {
        "kl_mean": float(kl_sum.sum() / total) if total else float("nan"),
        "kl_text_mean": float(per_text[valid].mean()) if valid.any() else float("nan"),
        "kl_per_text": per_text,
        "n_tokens_per_text": n_tok,
        "n_tokens": total,
        "n_texts": len(texts),
        "n_empty_texts": int((~valid).sum()),
        "n_truncated": int(n_truncated),
        "max_length": int(max_length),
    }


def mean_token_kl(
    base_model: torch.nn.Module,
    tuned_model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int = 8,
    max_length: int = 512,
    add_special_tokens: bool = True,
) -> dict[str, Any]:
    """Mean per-token KL(tuned || base) over ``texts`` for two model objects.

    Both models run under ``torch.no_grad`` in eval mode (their previous mode
    is restored afterwards) on the tuned model's device; inputs are truncated
    to ``max_length`` tokens (counted in ``n_truncated``). Texts that encode to
    no token get ``nan`` and are counted in ``n_empty_texts``.

    Returns dict with ``kl_mean`` (token-weighted), ``kl_text_mean``,
    ``kl_per_text`` (array), ``n_tokens_per_text``, ``n_tokens``, ``n_texts``,
    ``n_empty_texts``, ``n_truncated``, ``max_length``.
    """
    device = _model_device(tuned_model)
    with _eval_mode(base_model, tuned_model):
        return _kl_core(
            lambda b: _logits(tuned_model, b),
            lambda b: _logits(base_model, b),
            tokenizer,
            texts,
            batch_size,
            max_length,
            device,
            add_special_tokens,
        )


def mean_token_kl_in_context(
    model: torch.nn.Module,
    base_context: Callable[[], AbstractContextManager[Any]],
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int = 8,
    max_length: int = 512,
    add_special_tokens: bool = True,
) -> dict[str, Any]:
    """KL(tuned || base) where "base" is ``model`` run inside ``base_context()``.

    Why: keeps a single copy of the weights in memory. ``base_context`` is a
    zero-argument factory returning a fresh context manager (e.g.
    ``peft_model.disable_adapter``); it is entered once per batch. Same
    outputs as :func:`mean_token_kl`.
    """
    device = _model_device(model)

    def base_forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with base_context():
            return _logits(model, batch)

    with _eval_mode(model):
        return _kl_core(
            lambda b: _logits(model, b),
            base_forward,
            tokenizer,
            texts,
            batch_size,
            max_length,
            device,
            add_special_tokens,
        )


def mean_token_kl_with_adapter(
    peft_model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int = 8,
    max_length: int = 512,
    add_special_tokens: bool = True,
) -> dict[str, Any]:
    """KL(adapter-on || adapter-off) for a ``peft.PeftModel`` (one weight copy).

    The base distribution is computed inside ``peft_model.disable_adapter()``.
    """
    if not hasattr(peft_model, "disable_adapter"):
        raise TypeError(
            f"{type(peft_model).__name__} has no disable_adapter(); pass a peft.PeftModel "
            "or use mean_token_kl / mean_token_kl_in_context."
        )
    return mean_token_kl_in_context(
        peft_model,
        peft_model.disable_adapter,
        tokenizer,
        texts,
        batch_size,
        max_length,
        add_special_tokens,
    )


__all__ = [
    "mean_token_kl",
    "mean_token_kl_in_context",
    "mean_token_kl_with_adapter",
]
