"""Kedro datasets for the EPITOME release folder (read-only) and for a trained EPITOME scorer folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from empo_kedro.data.epitome import read_epitome_dir
from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.io.atomic import write_dir_atomically


class EpitomeDataset(AbstractDataset[None, pd.DataFrame]):
    """The three EPITOME mechanism files of a folder, joined on ``id`` (one row per seeker/response pair)."""

    def __init__(self, path: str, files: dict[str, str] | None = None, metadata: dict | None = None):
        self._path = Path(path)
        self._files = files
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_epitome_dir(self._path, self._files)

    def save(self, data: None) -> None:
        raise DatasetError("EpitomeDataset is read-only: the EPITOME release is an input")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "files": self._files}


class EpitomeScorerDataset(AbstractDataset[EpitomeScorer, EpitomeScorer]):
    """A trained EPITOME scorer (safetensors weights + JSON config + tokenizer), written atomically."""

    def __init__(self, path: str, device: str = "cpu", metadata: dict | None = None):
        self._path = Path(path)
        self._device = device
        self.metadata = metadata

    def load(self) -> EpitomeScorer:
        return EpitomeScorer.load(self._path, device=self._device)

    def save(self, data: EpitomeScorer) -> None:
        write_dir_atomically(self._path, data.save)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
