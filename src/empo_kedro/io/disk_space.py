"""A full disk while saving: say which file and how much space is left, instead of a deep OSError.

The atomic saves (``atomic_datasets``, ``model_datasets``) already keep the previous file and remove their
temporary file on any error; :func:`disk_full_names` turns the no-space error into a :class:`DiskFullError` that
names the target, the free space on its filesystem and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

from empo_kedro.errors import UserFacingError

# "No space left on device" and "Disk quota exceeded": both mean the write needs space that is not there.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
GIB = 1024**3


class DiskFullError(UserFacingError, OSError):
    """A save ran out of disk space; the message names the target and the free space."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC


def is_disk_full(error: BaseException | None) -> bool:
    """True when the error, or one it was raised from, is a no-space OSError."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def free_space(path: Path) -> str:
    """``"1.25 GiB free of 100.00 GiB"`` for the filesystem that holds ``path`` (or its nearest existing parent)."""
    existing = Path(path).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return f"{usage.free / GIB:.2f} GiB free of {usage.total / GIB:.2f} GiB"


@contextlib.contextmanager
def disk_full_names(
    target: Path | str, previous_kept: str = "the previous version, if any, is unchanged"
) -> Iterator[None]:
    """Re-raise a no-space error inside the block as a :class:`DiskFullError` naming ``target``."""
    try:
        yield
    except DiskFullError:
        raise
    except BaseException as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(
            f"No space left on the device while writing {target} ({free_space(Path(target))} there); "
            f"{previous_kept} and no temporary file was left. Free some space and run the same command again.",
        ) from error
