"""The MLflow server dies during DPO training: the run saves a checkpoint at the step it could not log and stops
with a clear message; once the server is back, the rerun resumes from that checkpoint in a new MLflow run linked
to the first one, and the new run holds the whole loss curve. On the tiny local base model: the model plays no part."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import mlflow

from empo_kedro.tracking.resumed_runs import RESUMED_FROM_CHECKPOINT, RESUMED_FROM_RUN, RESUMED_IN_RUN
from empo_kedro.training.checkpoints import checkpoints_in, is_complete_checkpoint
from tests.conftest import run_kedro
from tests.ecosystem.servers import free_port, mlflow_server
from tests.pipelines.test_resume_and_multiprocess import (
    DPO_QUICK,
    SFT_QUICK,
    Recorded,
    as_cli_params,
    subprocess_env,
)

# On the tiny model a step takes milliseconds: enough steps that DPO is still training when the server goes away.
DPO_STEPS = 40
# No periodic checkpoints: the only one is the one saved when the server went away.
DPO = {**DPO_QUICK, "training": {**DPO_QUICK["training"], "max_steps": DPO_STEPS, "save_steps": 10 * DPO_STEPS}}
# MLflow retries each request with back-off (minutes by default); one quick retry keeps the test short.
FAST_FAILING_CLIENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
TIMEOUT_S = 420


def dpo_runs(client: mlflow.MlflowClient) -> list:
    experiment = client.get_experiment_by_name("empo_kedro")
    return client.search_runs([experiment.experiment_id], "tags.pipeline = 'dpo'") if experiment else []


def logged_dpo_steps(client: mlflow.MlflowClient) -> int:
    return max((len(client.get_metric_history(run.info.run_id, "dpo/loss")) for run in dpo_runs(client)), default=0)


def test_server_killed_during_dpo_training_loses_no_training(
    kedro_project_with_tiny_base: Path, tmp_path: Path, monkeypatch
):
    project = kedro_project_with_tiny_base
    server_root, port = tmp_path / "server", free_port()
    scratch = project / "data" / "06_models" / "checkpoints" / "dpo"
    log_path = project / "dpo_run.log"
    with mlflow_server(server_root, port) as (uri, _):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        run_kedro(project, pipeline="data_engineering")
        run_kedro(project, pipeline="sft", runtime_params={"sft": SFT_QUICK})
        client = mlflow.MlflowClient(tracking_uri=uri)
        command = [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--pipeline=dpo",
            "--params",
            ",".join(as_cli_params("dpo", DPO)),
        ]
        with log_path.open("w") as log:
            dpo = subprocess.Popen(
                command,
                cwd=project,
                env={**subprocess_env(), **FAST_FAILING_CLIENT},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + TIMEOUT_S
        while logged_dpo_steps(client) < 2:  # two steps reached the server: kill it mid-training
            assert dpo.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "DPO logged no 2 steps in time"
            time.sleep(0.05)
    # The server is gone (killed on leaving the block).
    assert dpo.wait(timeout=TIMEOUT_S) != 0
    output = log_path.read_text()
    assert "Error: MLflow tracking at" in output and "stopped answering at DPO step" in output, output[-4000:]
    assert "nothing trained is lost" in output
    saved = [p for p in checkpoints_in(scratch) if is_complete_checkpoint(p)]
    assert len(saved) == 1, output[-3000:]
    stopped_at = int(saved[0].name.split("-")[1])
    assert 2 <= stopped_at < DPO_STEPS and f"checkpoint-{stopped_at}" in output
    assert not (project / "data" / "06_models" / "dpo").exists()

    with mlflow_server(server_root, port) as (uri, _), Recorded("empo_kedro.training.checkpoints") as log:
        run_kedro(project, pipeline="dpo", runtime_params={"dpo": DPO})
        client = mlflow.MlflowClient(tracking_uri=uri)
        runs = {run.info.status: run for run in dpo_runs(client)}
        assert sorted(runs) == ["FAILED", "FINISHED"]
        first, resumed = runs["FAILED"], runs["FINISHED"]
        assert resumed.data.tags[RESUMED_FROM_RUN] == first.info.run_id
        assert resumed.data.tags[RESUMED_FROM_CHECKPOINT] == f"checkpoint-{stopped_at}"
        assert first.data.tags[RESUMED_IN_RUN] == resumed.info.run_id
        steps = [m.step for m in client.get_metric_history(resumed.info.run_id, "dpo/loss")]
    assert any(m.startswith(f"DPO: resuming from checkpoint-{stopped_at}") for m in log.messages), log.messages
    assert sorted(steps) == list(range(1, DPO_STEPS + 1))  # the whole curve: replayed, then trained on
    assert (project / "data" / "06_models" / "dpo" / "adapter_model.safetensors").is_file()
    assert checkpoints_in(scratch) == []
