"""The EPITOME scorer's tunables as one typed block, checked once.

The values below are the ones in ``conf/base/parameters_evaluation.yml`` (``evaluation.epitome.scorer``), which stays
the place defaults live: ``tests/evaluation/test_epitome_params.py`` fails when a field is missing from the YAML or
its default differs. The defaults exist here so callers outside Kedro (tests, ``benchmarks/epitome_scorer.py``) can
pass a few keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from empo_kedro.evaluation.epitome_schema import LEVELS, MECHANISMS, NUM_LEVELS  # noqa: F401 (re-exported)

POOLINGS = ("mean", "cls")
# "cross": one pass over "[CLS] seeker [SEP] response [SEP]" (every layer attends across both posts);
# "epitome": the original EPITOME layout (Sharma et al. 2020): seeker post and response through the encoder
# separately (shared weights), one attention layer from the response tokens to the seeker tokens, heads on the
# response.
LAYOUTS = ("cross", "epitome")
# fewest tokens the response keeps beside a seeker post of max_seeker_tokens (and the special tokens)
MIN_RESPONSE_TOKENS = 8


@dataclass(frozen=True)
class EpitomeScorerParams:
    """Tunables of :func:`~empo_kedro.evaluation.epitome.training.train_epitome_scorer`.

    - ``mechanisms``: mechanism keys; the pairs need ``level_<key>`` (and, for the rationale head,
      ``rationales_<key>``).
    - ``max_length``: max tokens of the encoded pair, special tokens included; ``max_seeker_tokens``: max tokens kept
      from the seeker post (its start); the response gets the rest.
    - ``layout``: "cross" (one cross-encoder pass over the pair) or "epitome" (two streams with response-to-seeker
      attention, as the original EPITOME models; :class:`~empo_kedro.evaluation.epitome.model.EpitomeModel`).
    - ``pooling``: "mean" (masked mean of all tokens; of the response's in the "epitome" layout) or "cls";
      ``dropout``: before the heads.
    - ``epochs``: maximum training epochs (the LR schedule spans them); ``early_stopping_patience``: stop after this
      many epochs without a better validation score (the best epoch's weights are kept).
    - ``batch_size``: training batch size; ``eval_batch_size``: validation and default for ``predict``.
    - ``learning_rate`` / ``head_learning_rate``: AdamW learning rates of the encoder / of the fresh heads;
      ``weight_decay``: not on biases and LayerNorm; ``warmup_ratio``: linear warm-up share of the planned steps, then
      linear decay; ``max_grad_norm``: gradient clipping (0 or None disables).
    - ``class_weight_power``: class weights of the level cross-entropy are ``(n / (3 * n_c)) ** power`` from the
      training labels (0 = unweighted, 1 = inverse frequency).
    - ``rationale_loss_weight``: weight of the token-level rationale tagging loss (0 disables the rationale head).
    - ``freeze_embeddings``: freeze the word-embedding matrix (half of MiniLM's parameters).
    - ``bf16``: bfloat16 autocast for matmuls in training where the device has native bf16 (``auto``,
      :mod:`empo_kedro.training.precision`), or always (true) / never (false); inference always runs in fp32.
    - ``val_fraction``: share of the pairs held out for early stopping when no validation frame is passed, grouped by
      ``group_column`` (one seeker post on one side; ignored when the column is absent).
    - ``length_bucket_factor``: training batches are drawn from shuffled chunks of ``factor * batch_size`` rows sorted
      by length (less padding); 1 disables bucketing.
    - ``tune_logit_bias``: after training, pick per-mechanism additive offsets for the level-1 and level-2 logits on
      the validation split (grid ``logit_bias_grid``, maximising macro-F1, ties -> smallest offsets), used only when
      they beat the unbiased macro-F1 by ``logit_bias_min_gain``; stored with the model and applied by ``predict``.
    - ``max_train_seconds``: optional wall-clock budget (training stops after the epoch that exceeds it);
      ``num_threads``: ``torch.set_num_threads`` for training if set; ``device``: "auto" (CUDA if available), "cpu",
      "cuda", ...; ``progress_bar``: tqdm bar over training batches (epoch summaries are always logged).
    """

    mechanisms: tuple[str, ...] = MECHANISMS
    max_length: int = 192
    max_seeker_tokens: int = 64
    layout: str = "cross"
    pooling: str = "mean"
    dropout: float = 0.1
    epochs: int = 8
    early_stopping_patience: int = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float | None = 1.0
    class_weight_power: float = 0.5
    rationale_loss_weight: float = 1.0
    freeze_embeddings: bool = True
    bf16: bool | str = "auto"
    val_fraction: float = 0.1
    group_column: str = "sp_id"
    length_bucket_factor: int = 50
    tune_logit_bias: bool = True
    logit_bias_grid: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
    logit_bias_min_gain: float = 0.01
    max_train_seconds: float | None = None
    num_threads: int | None = None
    device: str = "auto"
    progress_bar: bool = False

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"params['pooling'] must be 'mean' or 'cls', got {self.pooling!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"params['layout'] must be one of {list(LAYOUTS)}, got {self.layout!r}")
        if self.max_seeker_tokens < 1 or self.max_length < self.max_seeker_tokens + MIN_RESPONSE_TOKENS:
            raise ValueError(
                "params need max_seeker_tokens >= 1 and max_length >= max_seeker_tokens + 8, got "
                f"max_length={self.max_length}, max_seeker_tokens={self.max_seeker_tokens}"
            )

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any] | None) -> EpitomeScorerParams:
        """The block from a parameters mapping; an unknown key (a YAML typo) is named in the error."""
        params = dict(params or {})
        known = sorted(field.name for field in dataclasses.fields(cls))
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"Unknown EPITOME scorer params {unknown}; known keys: {known}")
        for name in ("mechanisms", "logit_bias_grid"):
            if name in params:
                params[name] = tuple(params[name])
        return cls(**params)

    @property
    def uses_rationales(self) -> bool:
        """The rationale tagging head is trained (and needs ``rationales_<m>`` columns)."""
        return float(self.rationale_loss_weight) > 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples), as recorded in the training metrics."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(self).items()
        }


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; any other name is a torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
