"""Wiring of the sft pipeline."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.provision_base_model,
                inputs="params:base_model",
                outputs="base_model",
                name="provision_base_model",
            ),
            Node(
                nodes.train_sft_adapter,
                inputs=["base_model", "sft_conversations", "params:base_model", "params:sft", "params:seed"],
                outputs=["sft_adapter", "sft_metrics"],
                name="train_sft_adapter",
            ),
        ],
        tags="sft",
    )
