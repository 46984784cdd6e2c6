"""A disk that fills up under chosen files: writes to a matching path write part of their bytes, then fail with
ENOSPC, as a real full filesystem does."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileOpener

PARTIAL_BYTES = 64


def no_space(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@contextlib.contextmanager
def full_disk_under(monkeypatch: pytest.MonkeyPatch, matches: Callable[[str], bool]) -> Iterator[list[str]]:
    """Fail every write to a path that ``matches`` (fsspec file writes: parquet, CSV, JSON; peft's safetensors
    writes: adapters and checkpoints) after writing a few bytes. Yields the paths that were refused."""
    import peft.peft_model

    refused: list[str] = []
    write, save_file = LocalFileOpener.write, peft.peft_model.safe_save_file

    def fsspec_write(self, data, *args, **kwargs):
        if matches(str(self.path)):
            refused.append(str(self.path))
            write(self, data[:PARTIAL_BYTES])
            raise no_space(self.path)
        return write(self, data, *args, **kwargs)

    def safetensors_save(tensors, filename, *args, **kwargs):
        if matches(str(filename)):
            refused.append(str(filename))
            Path(filename).write_bytes(b"\0" * PARTIAL_BYTES)
            raise no_space(filename)
        return save_file(tensors, filename, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(LocalFileOpener, "write", fsspec_write)
        patch.setattr(peft.peft_model, "safe_save_file", safetensors_save)
        yield refused
