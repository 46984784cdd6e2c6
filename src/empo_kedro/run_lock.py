"""One `kedro run` per project at a time: a lock file under data/ taken before anything runs.

Two runs in one checkout (a sweep and a default run, say) would write the same parquet files, adapters and
checkpoints. The first run writes ``run_lock.path`` (pid, host, pipeline, start time, command); a second run either
stops at once naming the holder (``on_busy: refuse``) or waits for it (``on_busy: wait``, up to
``wait_timeout_s``). A lock whose process is gone (same host, pid dead or reused) is stale: it is cleared with a
warning. Under ``accelerate launch`` only process 0 takes the lock: the other processes belong to the same run.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from empo_kedro.distributed import is_main_process
from empo_kedro.errors import UserFacingError

logger = logging.getLogger(__name__)

ON_BUSY_CHOICES = ("refuse", "wait")


class ProjectBusyError(UserFacingError, RuntimeError):
    """Another `kedro run` holds this project's lock."""


def _process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), to tell a live pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22 of stat, counted after the command name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def holder_record(pipeline: str) -> dict[str, Any]:
    """What the lock file says about the run that holds it."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "pipeline": pipeline,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pid_start_ticks": _process_start_ticks(os.getpid()),
        "command": " ".join(sys.argv),
        "token": uuid.uuid4().hex,
    }


def describe_holder(holder: dict[str, Any]) -> str:
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, pipeline '{holder.get('pipeline')}', "
        f"started {holder.get('started')}"
    )


def is_stale(holder: dict[str, Any]) -> bool:
    """True when the holder ran on this host and its process is gone (or its pid now belongs to another process).

    A lock from another host is never called stale: its process cannot be checked from here.
    """
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return True
    recorded, current = holder.get("pid_start_ticks"), _process_start_ticks(pid)
    return recorded is not None and current is not None and recorded != current


def _read(path: Path) -> dict[str, Any] | None:
    """The lock's record, ``{}`` when it exists but cannot be read, None when there is no lock."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


class ProjectLock:
    """The lock file itself: :meth:`try_acquire` (atomic, via a hard link of a complete file) and :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.record: dict[str, Any] | None = None

    def try_acquire(self, pipeline: str) -> dict[str, Any] | None:
        """Take the lock and return None, or return the live holder's record. Stale locks are cleared."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = holder_record(pipeline)
        temporary = self.path.parent / f".{self.path.name}.{record['token'][:8]}.tmp"
        temporary.write_text(json.dumps(record, indent=1))
        try:
            while True:
                try:
                    os.link(temporary, self.path)  # fails if the lock exists; the lock is never half-written
                except FileExistsError:
                    holder = _read(self.path)
                    if holder is None:
                        continue  # released in between: try again
                    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
                        logger.info("Project lock %s was left by this process; taking it over", self.path)
                        self._break(holder)
                        continue
                    if holder and is_stale(holder):
                        logger.warning(
                            "Project lock %s is stale (%s: the process is gone); clearing it",
                            self.path,
                            describe_holder(holder),
                        )
                        self._break(holder)
                        continue
                    return holder or {"pid": "?", "host": "?", "pipeline": "?", "started": "? (unreadable lock)"}
                self.record = record
                return None
        finally:
            temporary.unlink(missing_ok=True)

    def _break(self, holder: dict[str, Any]) -> None:
        """Remove the lock only if it still holds ``holder`` (another run may have replaced it meanwhile)."""
        aside = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.stale"
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        if _read(aside) != holder:  # not the lock we judged: put it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)

    def release(self) -> None:
        """Remove the lock if this process still holds it."""
        if self.record is None:
            return
        holder = _read(self.path)
        if holder and holder.get("token") == self.record["token"]:
            self.path.unlink(missing_ok=True)
        self.record = None


def acquire(lock: ProjectLock, pipeline: str, on_busy: str, wait_timeout_s: float | None, poll_s: float) -> None:
    """Take the lock, or refuse / wait as configured; the error names the holder and how to clear the lock."""
    if on_busy not in ON_BUSY_CHOICES:
        raise ProjectBusyError(f"Parameter run_lock.on_busy = {on_busy!r}: expected one of {list(ON_BUSY_CHOICES)}")
    started = time.monotonic()
    announced = None
    while (holder := lock.try_acquire(pipeline)) is not None:
        waited = time.monotonic() - started
        busy = f"Another kedro run holds this project ({lock.path}: {describe_holder(holder)})"
        if on_busy == "refuse" or (wait_timeout_s is not None and waited >= wait_timeout_s):
            waited_note = f" after waiting {waited:.0f} s" if on_busy == "wait" else ""
            raise ProjectBusyError(
                f"{busy}{waited_note}; nothing was run. Wait for it to finish, or run with "
                f"--params run_lock.on_busy=wait to queue behind it. If that process is gone on another host, "
                f"delete {lock.path}."
            )
        if holder != announced:
            logger.warning("%s; waiting for it (run_lock.on_busy=wait)", busy)
            announced = holder
        time.sleep(poll_s)


class ProjectLockHook:
    """Kedro hook: take the project lock before the pipeline runs (process 0 only), release it when it ends."""

    def __init__(self) -> None:
        self._lock: ProjectLock | None = None
        self._project_path = Path.cwd()
        atexit.register(self._release)

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], catalog) -> None:
        if not is_main_process():
            return
        settings = catalog.load("parameters").get("run_lock")
        if not settings or not settings.get("enabled", True):
            return
        path = Path(settings["path"])
        self._release()
        self._lock = ProjectLock(path if path.is_absolute() else self._project_path / path)
        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
        acquire(
            self._lock, "+".join(names), settings["on_busy"], settings.get("wait_timeout_s"), float(settings["poll_s"])
        )

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
