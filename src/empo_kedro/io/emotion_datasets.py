"""Kedro dataset for a trained emotion classifier folder (safetensors + JSON + tokenizer), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from empo_kedro.evaluation.emotion_classifier import EmotionClassifier
from empo_kedro.io.atomic import write_dir_atomically


class EmotionClassifierDataset(AbstractDataset[EmotionClassifier, EmotionClassifier]):
    """The folder :meth:`EmotionClassifier.save` writes; a half-written folder never replaces a good one."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> EmotionClassifier:
        return EmotionClassifier.load(self._path)

    def save(self, data: EmotionClassifier) -> None:
        write_dir_atomically(self._path, data.save)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
