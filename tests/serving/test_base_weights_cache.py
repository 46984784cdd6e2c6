"""Loading a chat model must not leave a new copy of the base weights behind each time (CI ran out of disk once)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from empo_kedro.serving import chat_model
from empo_kedro.serving.chat_model import ARTIFACT_CACHE_ENV, local_artifact_folder


def test_a_store_on_this_disk_is_read_in_place(mlflow_store: str, tmp_path: Path) -> None:
    weights = tmp_path / "to_log" / "base_model"
    weights.mkdir(parents=True)
    (weights / "model.safetensors").write_bytes(b"weights")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(weights), artifact_path="base_model")

    folder = local_artifact_folder(f"runs:/{run.info.run_id}/base_model")

    assert folder == Path(run.info.artifact_uri.removeprefix("file://")) / "base_model"
    assert (folder / "model.safetensors").read_bytes() == b"weights"


def test_a_remote_store_is_downloaded_once_per_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads: list[str] = []

    def fake_download(artifact_uri: str, dst_path: str) -> str:
        downloads.append(artifact_uri)
        target = Path(dst_path) / "base_model"
        target.mkdir()
        (target / "model.safetensors").write_bytes(b"remote weights")
        return str(target)

    monkeypatch.setenv(ARTIFACT_CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(chat_model.mlflow.artifacts, "download_artifacts", fake_download)
    uri = "s3://bucket/1/run/artifacts/base_model"

    first = local_artifact_folder(uri)
    second = local_artifact_folder(uri)

    assert downloads == [uri]
    assert first == second
    assert (first / "model.safetensors").read_bytes() == b"remote weights"
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []  # no staging left
