"""Atomic writes and file digests shared by the datasets and the base-model build.

A file or folder is written beside its target (a hidden sibling) and renamed onto it only when complete, so a crash
never leaves a half-written output that the next run reads as whole. No project imports: every layer may use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HASH_CHUNK_BYTES = 8 * 1024 * 1024
TEMPORARY_SUFFIX = ".tmp"


def file_sha256(path: Path | str, chunk_bytes: int = HASH_CHUNK_BYTES) -> str:
    """sha256 of a file, read in chunks (model weights do not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique file name in ``path``'s folder (same filesystem, so the final rename is atomic)."""
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"


def write_json_atomically(path: Path, data: Any) -> None:
    """Write JSON to a hidden sibling, then rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        temporary.write_text(json.dumps(data, indent=1, default=str))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_dir_atomically(build_dir: Path, target: Path) -> None:
    """Swap a fully written folder into place; the old one is removed only after the swap."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(build_dir, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_dir_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """``write`` fills a hidden sibling folder, which then replaces ``target``; on any failure it is removed and
    ``target`` stays as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        write(build_dir)
        replace_dir_atomically(build_dir, target)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
