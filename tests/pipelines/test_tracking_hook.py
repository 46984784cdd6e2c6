"""The tracking hook logs the configuration the nodes ran with, overrides included."""

from __future__ import annotations

from pathlib import Path

import mlflow
from kedro.framework.hooks import hook_impl

from empo_kedro.tracking.hooks import _lookup

OVERRIDE = {"data_engineering": {"preferences": {"n_epochs": 1}}}  # `--params data_engineering.preferences.n_epochs=1`


class NodeParameters:
    """Records every ``params:`` input a node receives."""

    def __init__(self) -> None:
        self.received: dict = {}

    @hook_impl
    def before_node_run(self, node, inputs) -> None:
        self.received.update({name: value for name, value in inputs.items() if name.startswith("params:")})


def test_the_logged_parameters_are_the_ones_the_nodes_received(kedro_project: Path):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    spy = NodeParameters()
    bootstrap_project(kedro_project)
    with KedroSession.create(project_path=kedro_project, runtime_params=OVERRIDE) as session:
        session._hook_manager.register(spy)
        session.run(pipeline_names=["data_engineering"])
    [run] = mlflow.search_runs(search_all_experiments=True, output_format="list")
    logged = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config/parameters.json")

    assert spy.received["params:data_engineering.preferences"]["n_epochs"] == 1
    for name, value in spy.received.items():
        assert _lookup(logged, name.removeprefix("params:")) == value, name
    assert set(logged["data_engineering"]["preferences"]) == set(spy.received["params:data_engineering.preferences"])
