"""The exported model folder: merged safetensors + tokenizer (+ a GGUF file), written atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from empo_kedro.io.atomic import write_dir_atomically
from empo_kedro.io.model_datasets import LocalModel, ModelFolderError

EXPORT_METADATA = "empo_export.json"


@dataclass
class ExportedModel:
    """What the export node returns: the merged model, its tokenizer, how to write the GGUF file, provenance."""

    model: Any
    tokenizer: Any
    gguf: dict = field(default_factory=dict)  # {} for none; else file_name, dtype, tokenizer_pre
    metadata: dict = field(default_factory=dict)


class ExportedModelDataset(AbstractDataset[ExportedModel, LocalModel]):
    """Saves a folder ``AutoModelForCausalLM.from_pretrained`` loads (and ``gguf_file=`` for the GGUF); loads a
    handle with the export's metadata.

    Example catalog entry::

        exported_model:
          type: empo_kedro.io.export_datasets.ExportedModelDataset
          path: data/06_models/export
    """

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def save(self, data: ExportedModel) -> None:
        from empo_kedro.export.gguf_file import write_gguf

        def write(build_dir: Path) -> None:
            data.model.save_pretrained(build_dir)
            data.tokenizer.save_pretrained(build_dir)
            metadata = dict(data.metadata)
            if data.gguf:
                write_gguf(
                    data.model,
                    data.tokenizer,
                    build_dir / data.gguf["file_name"],
                    data.gguf["dtype"],
                    data.gguf["tokenizer_pre"],
                    name=data.gguf.get("name", "empo"),
                )
                metadata["gguf_file"] = data.gguf["file_name"]
            (build_dir / EXPORT_METADATA).write_text(json.dumps(metadata, indent=1, default=str))

        write_dir_atomically(self._path, write)

    def load(self) -> LocalModel:
        metadata_path = self._path / EXPORT_METADATA
        if not metadata_path.is_file():
            raise ModelFolderError(f"No exported model at {self._path}. Run `kedro run --pipeline=export` first.")
        return LocalModel(path=self._path, provenance=json.loads(metadata_path.read_text()))

    def _exists(self) -> bool:
        return (self._path / EXPORT_METADATA).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
