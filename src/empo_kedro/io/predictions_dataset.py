"""Kedro dataset for another system's predictions file (read-only), in any format of
:mod:`empo_kedro.evaluation.predictions`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from empo_kedro.evaluation.predictions import Predictions, read_predictions


class PredictionsDataset(AbstractDataset[None, Predictions]):
    """Loads a predictions file into :class:`~empo_kedro.evaluation.predictions.Predictions` (rows + read report).

    Example catalog entry::

        predictions:
          type: empo_kedro.io.predictions_dataset.PredictionsDataset
          path: ${runtime_params:predictions_path, ${globals:score_predictions.predictions_path}}
          format: auto   # auto | generations | plain | empo
    """

    def __init__(self, path: str, format: str = "auto", metadata: dict[str, Any] | None = None):  # noqa: A002
        self._path = Path(path)
        self._format = format
        self.metadata = metadata

    def load(self) -> Predictions:
        return read_predictions(self._path, self._format)

    def save(self, data: None) -> None:
        raise DatasetError("PredictionsDataset is read-only: a predictions file is an input")

    def _exists(self) -> bool:
        return self._path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "format": self._format}
