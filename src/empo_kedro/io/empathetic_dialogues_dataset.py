"""Kedro dataset for an EmpatheticDialogues release folder (read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from empo_kedro.data.ed_reader import EdRelease, read_ed_release

DEFAULT_SPLIT_FILES = {"train": "train.csv", "valid": "valid.csv", "test": "test.csv"}


class EmpatheticDialoguesDataset(AbstractDataset[None, EdRelease]):
    """Loads ``train.csv``/``valid.csv``/``test.csv`` of the original FAIR release into an :class:`EdRelease`.

    Example catalog entry::

        empathetic_dialogues:
          type: empo_kedro.io.empathetic_dialogues_dataset.EmpatheticDialoguesDataset
          path: ${runtime_params:ed_dir, ${globals:ed_dir}}
    """

    def __init__(self, path: str, split_files: dict[str, str] | None = None, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self._split_files = dict(split_files or DEFAULT_SPLIT_FILES)
        self.metadata = metadata

    def load(self) -> EdRelease:
        return read_ed_release(self._path, self._split_files)

    def save(self, data: None) -> None:
        raise DatasetError("EmpatheticDialoguesDataset is read-only: the ED release is an input")

    def _exists(self) -> bool:
        return all((self._path / name).is_file() for name in self._split_files.values())

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "split_files": self._split_files}
