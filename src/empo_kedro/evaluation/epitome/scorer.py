"""A trained EPITOME scorer: level probabilities per mechanism, metrics against true levels, and persistence
(safetensors + JSON only; no pickle, no ``torch.load``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_model, save_model
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from tqdm.auto import tqdm

from empo_kedro.evaluation.epitome.encoding import collate, encode_pairs
from empo_kedro.evaluation.epitome.model import EpitomeModel, build_model
from empo_kedro.evaluation.epitome.params import LEVELS, NUM_LEVELS, resolve_device

logger = logging.getLogger(__name__)

CONFIG_FILE = "epitome_scorer.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_CONFIG_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
FORMAT_VERSION = 1


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
            "macro_f1": float(f1_score(y_true, y_pred, labels=list(LEVELS), average="macro", zero_division=0)),
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
                batch = collate([items[i] for i in idx], self.tokenizer.pad_token_id or 0)
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
                f"{cfg_path}: unsupported format_version {cfg.get('format_version')!r} (expected {FORMAT_VERSION})"
            )
        encoder_config = AutoConfig.from_pretrained(str(directory / ENCODER_CONFIG_DIR))
        model = build_model(encoder_config, cfg)
        missing, unexpected = load_model(model, str(directory / WEIGHTS_FILE), strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{directory / WEIGHTS_FILE} does not match the scorer config: "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
            )
        tokenizer = AutoTokenizer.from_pretrained(str(directory / TOKENIZER_DIR))
        model.to(resolve_device(device))
        return cls(model, tokenizer, cfg)


def evaluate(
    scorer: EpitomeScorer,
    seeker_posts: Sequence[str],
    responses: Sequence[str],
    true_levels: Mapping[str, Sequence[int]],
    batch_size: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Module-level alias of :meth:`EpitomeScorer.evaluate`."""
    return scorer.evaluate(seeker_posts, responses, true_levels, batch_size)
