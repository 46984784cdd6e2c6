"""A team MLflow server: runs, params, metric histories and artifacts of a real pipeline arrive through HTTP."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from empo_kedro.tracking.uri import resolve_artifact_location
from tests.conftest import run_kedro
from tests.ecosystem.servers import mlflow_server

# Two optimizer steps on a handful of conversations: enough for a loss history, seconds on a CPU.
TINY_SFT = {"sft": {"max_train_conversations": 8, "max_eval_conversations": 4, "training": {"max_steps": 2}}}


@pytest.mark.parametrize(
    ("tracking_uri", "expected"),
    [
        ("sqlite:////project/mlruns/mlflow.db", "mlruns/artifacts"),
        ("file:///project/mlruns", "mlruns/artifacts"),
        ("/project/mlruns", "mlruns/artifacts"),
        ("http://mlflow.team:5000", None),
        ("https://mlflow.team", None),
        ("databricks", None),
    ],
)
def test_local_stores_keep_artifacts_in_the_project_and_servers_choose_their_own(tracking_uri, expected):
    assert resolve_artifact_location(tracking_uri, "mlruns/artifacts") == expected


def test_runs_params_metric_histories_and_artifacts_reach_a_team_server(
    kedro_project_with_tiny_base: Path, tmp_path: Path, monkeypatch
):
    project = kedro_project_with_tiny_base
    with mlflow_server(tmp_path / "server") as (uri, server_artifacts):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        run_kedro(project, pipeline="data_engineering")
        run_kedro(project, pipeline="sft", runtime_params=TINY_SFT)

        client = mlflow.MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("empo_kedro")
        assert experiment.artifact_location.startswith("mlflow-artifacts:")  # the server's store, not a client path
        runs = {run.data.tags["pipeline"]: run for run in client.search_runs([experiment.experiment_id])}
        assert set(runs) == {"data_engineering", "sft"}
        assert all(run.info.status == "FINISHED" for run in runs.values())

        data_run, sft_run = runs["data_engineering"], runs["sft"]
        assert data_run.data.params["data_engineering.preferences.strategy"] == "plutchik_extended"
        assert sft_run.data.params["sft.training.max_steps"] == "2"
        losses = client.get_metric_history(sft_run.info.run_id, "sft/loss")
        assert [m.step for m in losses] == [1, 2]
        assert any(key.startswith("sft_final.") for key in sft_run.data.metrics)

        assert {a.path for a in client.list_artifacts(data_run.info.run_id)} >= {"data_report.json", "config"}
        adapter = {a.path for a in client.list_artifacts(sft_run.info.run_id, "adapters/sft")}
        assert "adapters/sft/adapter_model.safetensors" in adapter
        report = Path(client.download_artifacts(data_run.info.run_id, "data_report.json", str(tmp_path)))
        assert report.read_bytes() == (project / "data" / "08_reporting" / "data_report.json").read_bytes()

    # The bytes live on the server's side; nothing was written to the project's local artifact folder.
    assert list(server_artifacts.rglob("adapter_model.safetensors"))
    assert not (project / "mlruns" / "artifacts").exists()
