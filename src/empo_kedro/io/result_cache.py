"""A folder of JSON results keyed by everything they depend on (per-variant generations of the evaluation), so that
a rerun after a kill reuses what was finished. Each file is written atomically; an unreadable one is recomputed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from empo_kedro.io.sweep_store import _read_json, write_json_atomically


@dataclass(frozen=True)
class ResultCache:
    """``cached(kind, key)`` / ``save_cached(kind, key, data)``: the same interface as the sweep's TrialStore."""

    root: Path

    def cached(self, kind: str, key: str) -> dict | None:
        return _read_json(self.root / kind / f"{key}.json")

    def save_cached(self, kind: str, key: str, data: dict) -> None:
        write_json_atomically(self.root / kind / f"{key}.json", data)


class ResultCacheDataset(AbstractDataset[None, ResultCache]):
    """Loads a :class:`ResultCache` on a folder (created when absent).

    Example catalog entry::

        generation_cache:
          type: empo_kedro.io.result_cache.ResultCacheDataset
          path: data/07_model_output/generation_cache
    """

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> ResultCache:
        self._path.mkdir(parents=True, exist_ok=True)
        return ResultCache(self._path)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is written entry by entry through the handle that load() returns")

    def _exists(self) -> bool:
        return True  # an empty cache is a valid start

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
