"""Atomic file datasets: a failing save leaves the previous file intact and no partial or temporary file behind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError
from kedro_datasets.json import JSONDataset
from matplotlib.figure import Figure

from empo_kedro.io.atomic_datasets import (
    AtomicCSVDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
    AtomicParquetDataset,
    AtomicTextDataset,
)
from tests.conftest import REPO_ROOT

UNENCODABLE = {"ok": list(range(50)), "bad": {1, 2}}  # json.dump has written the first key when it meets the set


def test_plain_json_dataset_leaves_a_truncated_file_which_is_why_the_atomic_one_exists(tmp_path: Path):
    target = tmp_path / "report.json"
    with pytest.raises(DatasetError):
        JSONDataset(filepath=str(target)).save(UNENCODABLE)
    with pytest.raises(json.JSONDecodeError):
        json.loads(target.read_text())


def test_failing_json_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "08_reporting" / "report.json"
    dataset = AtomicJSONDataset(filepath=str(target))
    dataset.save({"version": 1})
    with pytest.raises(DatasetError, match="not JSON serializable"):
        dataset.save(UNENCODABLE)
    assert dataset.load() == {"version": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_failing_first_save_leaves_nothing(tmp_path: Path):
    target = tmp_path / "pairs.parquet"
    mixed = pd.DataFrame({"column": [1, "two", object()]})  # pyarrow cannot convert this column
    with pytest.raises(DatasetError):
        AtomicParquetDataset(filepath=str(target)).save(mixed)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "dataset_class, data, save_args",
    [
        (AtomicParquetDataset, pd.DataFrame({"a": [1, 2]}), None),
        (AtomicCSVDataset, pd.DataFrame({"a": [1, 2]}), {"index": False}),
        (AtomicTextDataset, "# comparison\n", None),
    ],
)
def test_saves_round_trip_and_overwrite(tmp_path: Path, dataset_class, data, save_args):
    kwargs = {"save_args": save_args} if save_args else {}
    target = tmp_path / "out" / "file"
    dataset = dataset_class(filepath=str(target), **kwargs)
    dataset.save(data)
    dataset.save(data * 2 if isinstance(data, str) else data + 1)
    loaded = dataset.load()
    if isinstance(data, str):
        assert loaded == data * 2
    else:
        assert loaded["a"].tolist() == [2, 3]
    assert [p.name for p in target.parent.iterdir()] == ["file"]


def test_figure_is_written_atomically(tmp_path: Path):
    target = tmp_path / "plot.png"
    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    AtomicMatplotlibDataset(filepath=str(target)).save(figure)
    assert target.read_bytes().startswith(b"\x89PNG") and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_inside_an_mlflow_artifact_dataset_the_real_file_is_logged(tmp_path: Path, monkeypatch):
    import mlflow
    from kedro_mlflow.io.artifacts import MlflowArtifactDataset

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    target = tmp_path / "report.json"
    dataset = MlflowArtifactDataset(
        dataset={"type": "empo_kedro.io.atomic_datasets.AtomicJSONDataset", "filepath": str(target)}
    )
    experiment = mlflow.create_experiment("atomic", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as run:
        dataset.save({"rows": 3})
        with pytest.raises(DatasetError):
            dataset.save(UNENCODABLE)
    assert json.loads(target.read_text()) == {"rows": 3}
    logged = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert logged == ["report.json"]


NON_ATOMIC_FILE_TYPES = {
    "pandas.ParquetDataset",
    "pandas.CSVDataset",
    "json.JSONDataset",
    "text.TextDataset",
    "matplotlib.MatplotlibDataset",
}


def test_catalog_writes_no_file_through_a_non_atomic_dataset():
    catalog = yaml.safe_load((REPO_ROOT / "conf" / "base" / "catalog.yml").read_text())
    types = {
        name: (entry.get("dataset") or entry)["type"]
        for name, entry in catalog.items()
        if isinstance(entry, dict) and "type" in entry
    }
    assert not {name: t for name, t in types.items() if t in NON_ATOMIC_FILE_TYPES}
