"""The sweep's folder of finished trials: one sub-folder per trial id with its adapter and its result.

A trial is finished when ``<root>/<trial_id>/trial.json`` exists; the JSON and the adapter folder are each written
atomically (temporary sibling, then rename), so a sweep killed at any moment leaves only whole trials behind and
the next run continues with the others. Trainer checkpoints of a trial in progress live in
``<root>/.checkpoints/<trial_id>`` (resumed by the same trial, removed when it is done). SFT's results on the
selection split and the final comparison are cached under ``<root>/reference/`` and ``<root>/final/``, keyed by
everything they depend on.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from empo_kedro.io.atomic import write_json_atomically
from empo_kedro.io.model_datasets import ADAPTER_METADATA, AdapterDataset, AdapterHandle, TrainedAdapter

TRIAL_RESULT = "trial.json"
TRIAL_ADAPTER = "adapter"
CHECKPOINTS = ".checkpoints"


def _read_json(path: Path) -> dict | None:
    """A JSON object, or None when the file is absent or unreadable (then the trial is simply run again)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class TrialStore:
    """A handle on the sweep folder (see the module docstring)."""

    root: Path

    def trial_dir(self, trial_id: str) -> Path:
        return self.root / trial_id

    def adapter_path(self, trial_id: str) -> Path:
        return self.trial_dir(trial_id) / TRIAL_ADAPTER

    def checkpoint_dir(self, trial_id: str) -> Path:
        return self.root / CHECKPOINTS / trial_id

    def result(self, trial_id: str) -> dict | None:
        """The saved result of a finished trial, or None."""
        return _read_json(self.trial_dir(trial_id) / TRIAL_RESULT)

    def adapter(self, trial_id: str) -> AdapterHandle | None:
        """The trial's trained adapter when it is complete and intact, else None."""
        path = self.adapter_path(trial_id)
        if not (path / ADAPTER_METADATA).is_file():
            return None
        try:
            return AdapterDataset(str(path)).load()
        except DatasetError:
            return None

    def save_adapter(self, trial_id: str, adapter: TrainedAdapter) -> AdapterHandle:
        dataset = AdapterDataset(str(self.adapter_path(trial_id)))
        dataset.save(adapter)
        return dataset.load()

    def save_result(self, trial_id: str, result: dict) -> None:
        write_json_atomically(self.trial_dir(trial_id) / TRIAL_RESULT, result)

    def clear_checkpoints(self, trial_id: str) -> None:
        shutil.rmtree(self.checkpoint_dir(trial_id), ignore_errors=True)

    def cached(self, kind: str, key: str) -> dict | None:
        """A cached result (``reference``: SFT on the selection split; ``final``: the final comparison)."""
        return _read_json(self.root / kind / f"{key}.json")

    def save_cached(self, kind: str, key: str, data: dict) -> None:
        write_json_atomically(self.root / kind / f"{key}.json", data)


class SweepTrialStore(AbstractDataset[None, TrialStore]):
    """Loads a :class:`TrialStore` on a folder (created when absent); the sweep writes trials through it.

    Example catalog entry::

        sweep_trial_store:
          type: empo_kedro.io.sweep_store.SweepTrialStore
          path: data/06_models/sweep
    """

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> TrialStore:
        self._path.mkdir(parents=True, exist_ok=True)
        return TrialStore(self._path)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is written trial by trial through the handle that load() returns")

    def _exists(self) -> bool:
        return True  # an empty store is a valid start: no trial finished yet

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
