"""Two `kedro run` on one project: the second refuses (naming the holder) or waits; a dead holder's lock is cleared."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from empo_kedro.run_lock import ProjectLock, is_stale
from tests.pipelines.test_resume_and_multiprocess import subprocess_env

LOCK = Path("data") / ".kedro_run.lock"
DIALOGUES = Path("data") / "02_intermediate" / "dialogues.parquet"
RUN_TIMEOUT_S = 300


def kedro(project: Path, *args: str, log_name: str) -> subprocess.Popen:
    log = open(project / log_name, "w")  # noqa: SIM115 (closed with the process by the caller's wait)
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--pipeline=data_engineering", *args],
        cwd=project,
        env=subprocess_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition, what: str, process: subprocess.Popen | None = None, timeout_s: float = RUN_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process is None or process.poll() is None, f"the run exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.2)


@pytest.fixture
def frozen_holder(kedro_project: Path):
    """A real `kedro run` that has taken the lock, frozen (SIGSTOP) so that it holds it; killed at the end."""
    holder = kedro(kedro_project, log_name="holder.log")
    try:
        wait_for(lambda: (kedro_project / LOCK).is_file(), "lock file", holder)
        os.kill(holder.pid, signal.SIGSTOP)
        yield holder
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()


def test_second_run_refuses_naming_the_holder_then_waits_and_clears_a_dead_holders_lock(
    kedro_project: Path, frozen_holder
):
    project = kedro_project
    holder = json.loads((project / LOCK).read_text())
    assert holder["pid"] == frozen_holder.pid and holder["pipeline"] == "data_engineering"
    (project / DIALOGUES).unlink(missing_ok=True)  # the frozen holder may not have written it; nobody else may

    refused = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipeline=data_engineering"],
        cwd=project,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert refused.returncode != 0
    assert "Another kedro run holds this project" in refused.stderr, refused.stderr[-3000:]
    assert f"pid {frozen_holder.pid}" in refused.stderr and "pipeline 'data_engineering'" in refused.stderr
    assert f"started {holder['started']}" in refused.stderr
    assert "Traceback" not in refused.stderr and not (project / DIALOGUES).exists()
    assert json.loads((project / LOCK).read_text()) == holder  # the holder's lock is untouched

    waiting = kedro(project, "--params", "run_lock.on_busy=wait,run_lock.poll_s=0.5", log_name="waiting.log")
    log = project / "waiting.log"
    wait_for(lambda: "waiting for it" in log.read_text(), "'waiting for it' message", waiting)
    assert f"pid {frozen_holder.pid}" in log.read_text() and not (project / DIALOGUES).exists()

    os.killpg(frozen_holder.pid, signal.SIGKILL)  # the holder dies without releasing its lock
    frozen_holder.wait()
    assert waiting.wait(timeout=RUN_TIMEOUT_S) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "is stale" in text and "clearing it" in text
    assert (project / DIALOGUES).is_file() and not (project / LOCK).exists()


def test_lock_is_taken_once_released_and_a_reused_pid_is_stale(tmp_path: Path):
    lock = ProjectLock(tmp_path / "data" / ".kedro_run.lock")
    assert lock.try_acquire("sft") is None
    record = json.loads(lock.path.read_text())
    assert record["pid"] == os.getpid() and not is_stale(record)
    assert not is_stale({**record, "host": "another-host", "pid": 2**22 + 1})  # other hosts cannot be checked
    assert is_stale({**record, "pid_start_ticks": record["pid_start_ticks"] + 1})  # same pid, another process
    lock.release()
    assert not lock.path.exists() and list(lock.path.parent.iterdir()) == []  # no temporary files either
