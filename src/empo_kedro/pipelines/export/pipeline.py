"""Wiring of the export pipeline (run by name: kedro run --pipeline=export)."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.merge_tuned_model,
                inputs=["base_model", "sft_adapter", "dpo_adapter", "params:base_model", "params:export"],
                outputs="exported_model",
                name="merge_tuned_model",
            ),
            Node(
                nodes.check_exported_model,
                inputs=["exported_model", "params:export"],
                outputs="export_report",
                name="check_exported_model",
            ),
        ],
        tags="export",
    )
