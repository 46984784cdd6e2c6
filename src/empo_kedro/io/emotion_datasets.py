"""Kedro dataset for a trained emotion classifier folder (safetensors + JSON + tokenizer), written atomically."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from empo_kedro.evaluation.emotion_classifier import EmotionClassifier
from empo_kedro.io.model_datasets import replace_dir_atomically


class EmotionClassifierDataset(AbstractDataset[EmotionClassifier, EmotionClassifier]):
    """The folder :meth:`EmotionClassifier.save` writes; a half-written folder never replaces a good one."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> EmotionClassifier:
        return EmotionClassifier.load(self._path)

    def save(self, data: EmotionClassifier) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        build_dir = Path(tempfile.mkdtemp(prefix=f".{self._path.name}.new-", dir=self._path.parent))
        try:
            data.save(build_dir)
            replace_dir_atomically(build_dir, self._path)
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
