"""Each Kedro environment writes under its own output root (``data_root`` in conf/<env>/globals.yml), its MLflow
runs say which root and environment they used, and `make results` renders the sweep of its own environment."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import mlflow
import pytest

from empo_kedro.tracking.hooks import DATA_ROOT_TAG, ENV_TAG
from empo_kedro.tracking.sweep_results import ResultsError, find_sweep_run
from tests.conftest import REPO_ROOT, run_kedro

# Catalog entries that are inputs or caches shared on purpose (not outputs of one environment).
SHARED_ENTRIES = {"empathetic_dialogues", "epitome_pairs", "base_model"}


def _config(env: str | None, conf: Path = REPO_ROOT / "conf") -> dict:
    from kedro.config import OmegaConfigLoader

    from empo_kedro.settings import CONFIG_LOADER_ARGS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loader = OmegaConfigLoader(str(conf), env=env, **CONFIG_LOADER_ARGS)
        return {"catalog": loader["catalog"], "parameters": loader["parameters"], "globals": loader["globals"]}


def _output_paths(catalog: dict) -> dict[str, str]:
    """Every file or folder path of the catalog's outputs (wrapped MLflow artifact datasets unwrapped)."""
    paths = {}
    for name, entry in catalog.items():
        entry = entry.get("dataset", entry)
        path = entry.get("filepath") or entry.get("path")
        if path and name not in SHARED_ENTRIES:
            paths[name] = path
    return paths


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(("env", "root"), [(None, "data"), ("shared", "data/shared")])
def test_every_output_and_output_folder_parameter_is_under_the_environments_data_root(env, root):
    config = _config(env)
    assert config["globals"]["data_root"] == root
    outputs = _output_paths(config["catalog"])
    assert {"dialogues", "sft_adapter", "comparison_table", "sweep_trial_store", "results_document"} <= set(outputs)
    results = {"results_document", "results_plot"}
    assert all(Path(path).is_relative_to(root) for name, path in outputs.items() if name not in results), outputs
    for block in ("sft", "dpo"):
        assert Path(config["parameters"][block]["output_dir"]).is_relative_to(root)
    assert Path(config["parameters"]["predictions_path"]).is_relative_to(root)
    assert config["parameters"]["results"]["sweep_data_root"] == root


def test_only_the_shared_environment_writes_the_committed_docs():
    assert (
        _config(None)["catalog"]["results_document"]["dataset"]["filepath"] == "data/08_reporting/results/results.md"
    )
    assert _config("shared")["catalog"]["results_document"]["dataset"]["filepath"] == "docs/results.md"


def test_a_new_environment_that_sets_only_its_data_root_gets_its_own_outputs_and_results(tmp_path: Path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "base").symlink_to(REPO_ROOT / "conf" / "base", target_is_directory=True)
    (conf / "trial").mkdir()
    (conf / "trial" / "globals.yml").write_text("data_root: data/trial\n")
    config = _config("trial", conf)
    assert all(Path(path).is_relative_to("data/trial") for path in _output_paths(config["catalog"]).values())
    results_plot = config["catalog"]["results_plot"]["dataset"]["filepath"]
    assert results_plot == "data/trial/08_reporting/results/results_sweep.png"


def test_data_engineering_in_two_environments_does_not_mix_outputs(kedro_project: Path):
    """`--env shared` (here on the sample, as its ED folder) then the default: each under its root, runs tagged."""
    data = kedro_project / "data"
    raw = _digests(data / "01_raw")
    run_kedro(
        kedro_project,
        pipeline="data_engineering",
        env="shared",
        runtime_params={
            "ed_dir": str(data / "01_raw" / "empatheticdialogues"),
            "data_engineering": {"preferences": {"strategy": "random"}},
        },
    )
    shared_outputs = _digests(data / "shared")
    assert {
        "03_primary/preference_pairs.parquet",
        "05_model_input/sft_conversations.parquet",
        "08_reporting/data_report.json",
    } <= set(shared_outputs)
    assert sorted(p.name for p in data.iterdir()) == ["01_raw", "shared"]  # nothing written beside data/shared

    run_kedro(kedro_project, pipeline="data_engineering")
    assert (data / "03_primary" / "preference_pairs.parquet").is_file()
    assert _digests(data / "shared") == shared_outputs  # the default run left the shared env's files alone
    assert _digests(data / "01_raw") == raw
    default_pairs = hashlib.sha256((data / "03_primary" / "preference_pairs.parquet").read_bytes()).hexdigest()
    assert default_pairs != shared_outputs["03_primary/preference_pairs.parquet"]  # random vs Plutchik rejected turns

    runs = mlflow.MlflowClient().search_runs(
        [mlflow.MlflowClient().get_experiment_by_name("empo_kedro").experiment_id], order_by=["attributes.start_time"]
    )
    assert [(r.data.tags.get(ENV_TAG), r.data.tags.get(DATA_ROOT_TAG)) for r in runs] == [
        ("shared", "data/shared"),
        ("local", "data"),
    ]


def _finished_sweep(client: mlflow.MlflowClient, experiment: str, data_root: str | None) -> str:
    tags = {"sweep.final_done": "true", **({DATA_ROOT_TAG: data_root} if data_root else {})}
    run = client.create_run(experiment, tags=tags)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def test_results_render_the_newest_sweep_of_their_own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("empo_kedro", artifact_location=str(tmp_path / "artifacts"))
    shared = _finished_sweep(client, experiment, "data/shared")
    untagged = _finished_sweep(client, experiment, None)
    toy = _finished_sweep(client, experiment, "data")  # the newest: the README's tiny default

    assert find_sweep_run(client, None, "data/shared").info.run_id == shared
    assert find_sweep_run(client, None, "data").info.run_id == toy
    assert find_sweep_run(client, None, None).info.run_id == toy
    assert find_sweep_run(client, untagged, "data/shared").info.run_id == untagged  # a named run wins
    with pytest.raises(ResultsError, match=r"outputs under 'data/trial'.*results.sweep_run_id.*data_root=data/shared"):
        find_sweep_run(client, None, "data/trial")


def test_make_results_in_the_default_environment_ignores_the_shared_sweep(kedro_project: Path):
    """Through Kedro: the results node receives this environment's data root and never renders another's sweep."""
    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlruns' / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("empo_kedro", artifact_location=str(kedro_project / "mlruns" / "artifacts"))
    shared = _finished_sweep(client, experiment, "data/shared")
    with pytest.raises(Exception, match=rf"outputs under 'data'.*{shared} \(data_root=data/shared\)"):
        run_kedro(kedro_project, pipeline="results")
    assert not (kedro_project / "docs").exists() and not (kedro_project / "data" / "08_reporting" / "results").exists()
