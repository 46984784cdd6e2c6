"""Beyond one uninterrupted process: a killed `kedro run --pipeline=dpo` resumes from its last checkpoint, and
`accelerate launch` with two CPU processes writes one adapter and one MLflow run. On the tiny local base model
(what is checked does not depend on the model; tests/pipelines/test_training_pipelines.py runs the real one)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow

from empo_kedro.training.checkpoints import checkpoints_in, is_complete_checkpoint
from empo_kedro.training.precision import FORCE_ENV, bf16_support
from tests.conftest import run_kedro

# A few prompts, a small rank so that a checkpoint is quick to write. The tiny tokenizer's vocabulary is small (a
# conversation takes ~4x SmolLM2's tokens): 512 tokens keep the first reply, so that examples are not dropped.
MAX_LENGTH = 512
SFT_QUICK = {
    "max_train_conversations": 8,
    "max_eval_conversations": 4,
    "lora": {"r": 8},
    "training": {"max_steps": 2, "per_device_train_batch_size": 2, "max_length": MAX_LENGTH},
}
# On the tiny model a step takes milliseconds: enough steps that the run is still training when it is killed.
DPO_STEPS = 40
DPO_QUICK = {
    "max_train_prompts": 8,
    "max_eval_pairs": 2,
    "lora": {"r": 8},
    "training": {"max_steps": DPO_STEPS, "save_steps": 1, "per_device_train_batch_size": 2, "max_length": MAX_LENGTH},
}


def as_cli_params(prefix: str, params: dict) -> list[str]:
    """Nested parameters as `kedro run --params` items (``dpo.training.max_steps=6``)."""
    items = []
    for key, value in params.items():
        if isinstance(value, dict):
            items += as_cli_params(f"{prefix}.{key}", value)
        else:
            items.append(f"{prefix}.{key}={value}")
    return items


def subprocess_env() -> dict[str, str]:
    """One thread per process (2 shared cores); a wide console so that log lines are not wrapped; the precision this
    test process resolved, so that a subprocess and the in-process rerun it is compared with choose the same one
    whatever the load when each probes (the probe's own robustness is tested in tests/training/test_precision.py)."""
    native = "1" if bf16_support("cpu").native else "0"
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "COLUMNS": "250",
        FORCE_ENV: os.environ.get(FORCE_ENV, native),
    }


def kill_kedro_run_once_cached(
    project: Path, pipeline: str, cache_dir: Path, n_files: int, timeout_s: float, poll_s: float = 0.02
) -> Path:
    """Start ``kedro run --pipeline=<pipeline>`` in a subprocess, SIGKILL it as soon as ``cache_dir`` holds
    ``n_files`` JSON files (a crash at the worst moment: mid-run, nothing cleaned up), and return its log."""
    log_path = project / f"killed_{pipeline}.log"
    with log_path.open("w") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "kedro", "run", f"--pipeline={pipeline}"],
            cwd=project,
            env=subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout_s
    while len(list(cache_dir.glob("*.json"))) < n_files:
        assert run.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{pipeline} did not cache {n_files} files in {timeout_s} s"
        time.sleep(poll_s)
    run.send_signal(signal.SIGKILL)
    run.wait()
    return log_path


def tracked_runs(pipeline: str) -> list:
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("empo_kedro")
    return [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("pipeline") == pipeline]


class Recorded(logging.Handler):
    """Records one logger's messages; attached to the logger itself, since Kedro's logging set-up replaces the root
    logger's handlers (and with them pytest's caplog)."""

    def __init__(self, logger_name: str):
        super().__init__(logging.INFO)
        self.logger = logging.getLogger(logger_name)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self):
        self.logger.addHandler(self)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)


def test_killed_dpo_run_resumes_from_its_last_checkpoint(kedro_project_with_tiny_base: Path):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="data_engineering")
    run_kedro(project, pipeline="sft", runtime_params={"sft": SFT_QUICK})
    scratch = project / "data" / "06_models" / "checkpoints" / "dpo"
    adapter = project / "data" / "06_models" / "dpo"

    command = [
        sys.executable,
        "-m",
        "kedro",
        "run",
        "--pipeline=dpo",
        "--params",
        ",".join(as_cli_params("dpo", DPO_QUICK)),
    ]
    with open(project / "killed_run.log", "w") as log:
        killed = subprocess.Popen(command, cwd=project, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not any(is_complete_checkpoint(p) and int(p.name.split("-")[1]) >= 2 for p in checkpoints_in(scratch)):
            assert killed.poll() is None, (project / "killed_run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint-2 within 5 minutes"
            time.sleep(0.02)
        still_training = killed.poll() is None
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert still_training, "the run finished before it could be killed: raise DPO_STEPS"
    last = max(int(p.name.split("-")[1]) for p in checkpoints_in(scratch) if is_complete_checkpoint(p))
    assert 2 <= last < DPO_STEPS and not adapter.exists()

    with Recorded("empo_kedro.training.checkpoints") as log:
        run_kedro(project, pipeline="dpo", runtime_params={"dpo": DPO_QUICK})
    resumed = f"DPO: resuming from checkpoint-{last} on 1 process(es)"
    assert any(m.startswith(resumed) for m in log.messages), log.messages

    history = json.loads((adapter / "empo_adapter.json").read_text())["log_history"]
    assert [entry["step"] for entry in history if "loss" in entry] == list(range(1, DPO_STEPS + 1))
    finished = [r for r in tracked_runs("dpo") if r.info.status == "FINISHED"]
    assert len(finished) == 1  # the killed run is marked FAILED and linked to the run that finished its training
    [killed_run] = [r for r in tracked_runs("dpo") if r.info.status == "FAILED"]
    assert finished[0].data.tags["empo.resumed_from_run"] == killed_run.info.run_id
    assert finished[0].data.tags["empo.resumed_from_checkpoint"] == f"checkpoint-{last}"
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(finished[0].info.run_id, "dpo/loss")]
    assert sorted(steps) == list(range(1, DPO_STEPS + 1))  # the checkpoint's history replayed, then the steps left
    killed_steps = {m.step for m in mlflow.MlflowClient().get_metric_history(killed_run.info.run_id, "dpo/loss")}
    assert set(range(1, last + 1)) <= killed_steps
    assert checkpoints_in(scratch) == []


def test_two_cpu_processes_write_one_adapter_and_one_mlflow_run(kedro_project_with_tiny_base: Path):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="data_engineering")
    config = project / "conf" / "accelerate" / "multi_cpu_2proc.yaml"
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config),
        "--num_processes",
        "2",
        "-m",
        "kedro",
        "run",
        "--pipeline=sft",
        "--params",
        ",".join(as_cli_params("sft", SFT_QUICK)),
    ]
    result = subprocess.run(
        command, check=False, cwd=project, env=subprocess_env(), capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Process 1 of 2: trains its share" in output
    assert output.count("SFT: starting from step 0 on 2 process(es)") == 2  # both joined one process group

    models = project / "data" / "06_models"
    # No half-built siblings; .base.lock is the file lock that serialises building the base model (materialize.py).
    assert sorted(p.name for p in models.iterdir() if p.name != ".base.lock") == ["base", "checkpoints", "sft"]
    metadata = json.loads((models / "sft" / "empo_adapter.json").read_text())
    assert [entry["step"] for entry in metadata["log_history"] if "loss" in entry] == [1, 2]
    runs = tracked_runs("sft")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(runs[0].info.run_id, "sft/loss")]
    assert steps == [1, 2]  # logged once, by process 0
