"""Typed parameter blocks: built once by the pre-run check from the YAML, unknown and missing keys named with their
dotted path, handed to the nodes, and logged to MLflow as the same flat params as the YAML dicts."""

from __future__ import annotations

import copy
import json
import pickle
import warnings
from pathlib import Path

import pytest

from empo_kedro.params import (
    BLOCKS,
    DataEngineeringParams,
    DpoParams,
    LoraParams,
    ParameterError,
    PreferencesParams,
    build_blocks,
)
from tests.conftest import REPO_ROOT, run_kedro

ENVS = sorted(
    path.name for path in (REPO_ROOT / "conf").iterdir() if path.is_dir() and any(path.glob("parameters*.yml"))
)


def load_parameters(env: str | None = None, conf: Path = REPO_ROOT / "conf"):
    from kedro.config import OmegaConfigLoader

    from empo_kedro.settings import CONFIG_LOADER_ARGS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loader = OmegaConfigLoader(
            str(conf), **{**CONFIG_LOADER_ARGS, "default_run_env": env or "local"}, runtime_params={}
        )
        return loader["parameters"]


@pytest.mark.parametrize("env", ENVS)
def test_the_shipped_parameters_of_every_environment_build_every_typed_block(env: str):
    params = load_parameters(env)
    blocks = build_blocks(params, set(BLOCKS))
    assert set(blocks) == set(BLOCKS)
    for name, block in blocks.items():
        assert isinstance(block, BLOCKS[name])
        assert block == params[name] and list(block) == list(params[name])  # same keys, values and order
    assert isinstance(blocks["dpo"].lora, LoraParams) and blocks["dpo"].lora.r == params["dpo"]["lora"]["r"]


def test_an_unknown_key_is_named_with_its_dotted_path():
    params = copy.deepcopy(load_parameters())
    params["dpo"]["lora"]["rank"] = 8
    with pytest.raises(ParameterError, match=r"Unknown parameter\(s\) dpo\.lora\.rank;.*\['r', 'alpha'"):
        build_blocks(params, {"dpo"})


def test_a_params_override_with_an_unknown_key_stops_the_run_naming_it(kedro_project: Path):
    from empo_kedro.errors import find_user_facing

    # as `kedro run --params data_engineering.preferences.n_epoch=3` (the CLI nests dotted keys)
    with pytest.raises(Exception) as raised:
        run_kedro(
            kedro_project, "data_engineering", runtime_params={"data_engineering": {"preferences": {"n_epoch": 3}}}
        )
    # Kedro 1.7 builds the node's type-hinted block first (its ParameterValidationError, shown concisely too)
    assert "preferences.n_epoch" in str(find_user_facing(raised.value) or raised.value)
    assert not (kedro_project / "data" / "02_intermediate").exists() or not any(
        (kedro_project / "data" / "02_intermediate").iterdir()
    )


def test_a_missing_key_is_named_with_its_dotted_path():
    params = copy.deepcopy(load_parameters())
    del params["data_engineering"]["preferences"]["prompt_turns"]
    with pytest.raises(ParameterError, match=r"Missing parameter\(s\) data_engineering\.preferences\.prompt_turns"):
        build_blocks(params, {"data_engineering"})
    with pytest.raises(ParameterError, match="Missing parameter block 'sweep'"):
        build_blocks({}, {"sweep"})


def test_a_block_is_read_only_and_survives_kedros_deepcopy_and_pickle():
    block = build_blocks(load_parameters(), {"dpo"})["dpo"]
    for copied in (copy.deepcopy(block), pickle.loads(pickle.dumps(block))):
        assert type(copied) is DpoParams and copied == block and list(copied) == list(block)
        assert copied.lora == block.lora and type(copied["lora"]) is LoraParams
    with pytest.raises(AttributeError):
        block.epochs = 3
    with pytest.raises(AttributeError):
        block["epochs"] = 3
    assert json.dumps(block) == json.dumps(load_parameters()["dpo"])  # fingerprints and checkpoint keys unchanged


def test_the_pre_run_check_hands_every_node_of_data_engineering_its_typed_block(kedro_project: Path):
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from empo_kedro.run_checks import ParameterCheck

    bootstrap_project(kedro_project)
    with KedroSession.create(project_path=kedro_project) as session:
        catalog = session.load_context().catalog
        pipeline = pipelines["data_engineering"]
        ParameterCheck().before_pipeline_run({}, pipeline, catalog)
        received = {name: catalog.load(name) for name in pipeline.inputs() if name.startswith("params:")}
    assert type(received["params:data_engineering"]) is DataEngineeringParams
    assert type(received["params:data_engineering.preferences"]) is PreferencesParams
    assert received["params:data_engineering.preferences"].strategy == "plutchik_extended"
    assert received["params:seed"] == 42  # untyped top-level values reach the nodes as the YAML has them


def test_mlflow_logs_the_typed_blocks_as_the_same_flat_params(kedro_project: Path):
    import mlflow

    run_kedro(kedro_project, "data_engineering")
    client = mlflow.MlflowClient()
    (run,) = [
        run for experiment in client.search_experiments() for run in client.search_runs([experiment.experiment_id])
    ]
    logged = run.data.params
    expected = load_parameters(conf=kedro_project / "conf")["data_engineering"]
    assert logged["data_engineering.min_turns"] == str(expected["min_turns"])
    for key, value in expected["preferences"].items():
        assert logged[f"data_engineering.preferences.{key}"] == str(value)
    assert not [key for key, value in logged.items() if "Params(" in value]  # no block logged as one repr string
