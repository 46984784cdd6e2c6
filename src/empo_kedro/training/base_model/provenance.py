"""Integrity of a model folder: the sha256 and size of every file, recorded in ``provenance.json`` and checked on
load (also the record of library versions a base model was built with)."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from empo_kedro.errors import UserFacingError
from empo_kedro.io.atomic import file_sha256

PROVENANCE_FILE = "provenance.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")


class ModelIntegrityError(UserFacingError, ValueError):
    """A model folder is missing a file or a file's bytes differ from its recorded sha256."""


def file_records(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under ``folder`` except the provenance record itself."""
    records = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != PROVENANCE_FILE:
            records[rel] = {"sha256": file_sha256(path), "size": path.stat().st_size}
    return records


def verify_model_dir(path: Path, *, check_hashes: bool = True) -> dict:
    """Check that ``path`` is a complete model folder whose files match their recorded sha256; return the provenance.

    Why: a crash, a partial copy or a bit flip must never be mistaken for a usable base model. Raises
    :class:`ModelIntegrityError` naming the missing or corrupt file. ``check_hashes=False`` only checks presence and
    sizes (for multi-GB models where hashing on every call is too slow).
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelIntegrityError(f"model folder {path} does not exist")
    provenance_path = path / PROVENANCE_FILE
    if not provenance_path.is_file():
        raise ModelIntegrityError(f"model folder {path} has no {PROVENANCE_FILE} (incomplete or not built by us)")
    try:
        provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
        files = provenance["files"]
        if not isinstance(files, dict) or not files:
            raise TypeError("'files' must be a non-empty mapping")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{provenance_path} is unreadable or malformed: {exc}") from exc

    weights = [name for name in files if name.endswith(".safetensors")]
    if "config.json" not in files:
        raise ModelIntegrityError(f"model folder {path}: config.json is not recorded in {PROVENANCE_FILE}")
    if not weights:
        raise ModelIntegrityError(f"model folder {path}: no *.safetensors file is recorded in {PROVENANCE_FILE}")
    if not any(name in files for name in TOKENIZER_FILES):
        raise ModelIntegrityError(f"model folder {path}: no tokenizer file ({', '.join(TOKENIZER_FILES)}) is recorded")
    unrecorded = sorted(p.name for p in path.glob("*.safetensors") if p.name not in files)
    if unrecorded:
        raise ModelIntegrityError(f"model folder {path}: weight file(s) {unrecorded} are not in {PROVENANCE_FILE}")

    for name, record in files.items():
        file_path = path / name
        if not file_path.is_file():
            raise ModelIntegrityError(f"model folder {path}: missing file {name}")
        size = file_path.stat().st_size
        if size != record.get("size"):
            raise ModelIntegrityError(
                f"model folder {path}: corrupt file {name} (size {size} bytes, recorded {record.get('size')})"
            )
        if check_hashes:
            digest = file_sha256(file_path)
            if digest != record.get("sha256"):
                raise ModelIntegrityError(
                    f"model folder {path}: corrupt file {name} (sha256 {digest}, recorded {record.get('sha256')})"
                )
    return provenance


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a conversion depends on (recorded in the provenance)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("torch", "transformers", "tokenizers", "safetensors", "gguf", "jinja2", "empo_kedro"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions
