"""Atomic versions of the kedro-datasets file datasets the project writes (parquet, CSV, JSON, text, PNG).

kedro-datasets opens the target file and streams into it, so a crash or a failing serialiser (``json.dump`` of a
value it cannot encode, pyarrow on a mixed column) leaves a truncated file that the next run reads as complete.
These subclasses write to a hidden temporary file in the same folder and ``os.replace`` it onto the target only
once it is complete; on any error the temporary file is removed and the previous file, if any, is untouched (a
full disk is reported as a ``DiskFullError`` naming the file and the free space).
Remote filesystems (s3, gcs, ...) keep their own put semantics. Use them in ``catalog.yml`` like the originals::

    preference_pairs:
      type: empo_kedro.io.atomic_datasets.AtomicParquetDataset
      filepath: data/03_primary/preference_pairs.parquet
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import get_filepath_str
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.text import TextDataset

from empo_kedro.io.atomic import temporary_sibling
from empo_kedro.io.disk_space import disk_full_names

LOCAL_PROTOCOL = "file"


class AtomicSaveMixin:
    """Redirects the parent's save to a temporary sibling file, then renames it onto the target."""

    _atomic_save_path: PurePosixPath | None = None

    def _saves_atomically(self, data: Any) -> bool:
        return self._protocol == LOCAL_PROTOCOL  # type: ignore[attr-defined]

    def save(self, data: Any) -> None:
        if not self._saves_atomically(data):
            self._parent_save(data)
            return
        target = self._get_save_path()
        temporary = temporary_sibling(target)
        self._atomic_save_path = temporary
        try:
            with disk_full_names(get_filepath_str(target, LOCAL_PROTOCOL)):
                self._parent_save(data)
                os.replace(get_filepath_str(temporary, LOCAL_PROTOCOL), get_filepath_str(target, LOCAL_PROTOCOL))
        except BaseException:
            Path(get_filepath_str(temporary, LOCAL_PROTOCOL)).unlink(missing_ok=True)
            raise
        finally:
            self._atomic_save_path = None

    def _parent_save(self, data: Any) -> None:
        """The parent's save body: Kedro wraps every class's save (logging, error wrapping), ours already is."""
        save = super().save  # type: ignore[misc]
        unwrapped = getattr(save, "__wrapped__", None)
        if unwrapped is not None:
            unwrapped(self, data)
        else:
            save(data)

    def _get_save_path(self) -> PurePosixPath:
        if self._atomic_save_path is not None:
            return self._atomic_save_path
        return super()._get_save_path()  # type: ignore[misc]


class AtomicParquetDataset(AtomicSaveMixin, ParquetDataset):
    """``pandas.ParquetDataset`` whose local saves are atomic."""


class AtomicCSVDataset(AtomicSaveMixin, CSVDataset):
    """``pandas.CSVDataset`` whose local saves are atomic."""


class AtomicJSONDataset(AtomicSaveMixin, JSONDataset):
    """``json.JSONDataset`` whose local saves are atomic."""


class AtomicTextDataset(AtomicSaveMixin, TextDataset):
    """``text.TextDataset`` whose local saves are atomic."""


class AtomicMatplotlibDataset(AtomicSaveMixin, MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` whose single-figure local saves are atomic (a list or dict of figures is a
    folder of files and keeps the parent's behaviour)."""

    def _saves_atomically(self, data: Any) -> bool:
        return super()._saves_atomically(data) and not isinstance(data, (list, dict))
