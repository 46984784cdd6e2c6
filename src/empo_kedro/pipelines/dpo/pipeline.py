"""Wiring of the dpo pipeline."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.train_dpo_adapter,
                inputs=[
                    "base_model",
                    "sft_adapter",
                    "preference_pairs",
                    "params:base_model",
                    "params:dpo",
                    "params:seed",
                ],
                outputs=["dpo_adapter", "dpo_metrics"],
                name="train_dpo_adapter",
            ),
            Node(
                nodes.register_tuned_models,
                inputs=[
                    "base_model",
                    "sft_adapter",
                    "dpo_adapter",
                    "params:base_model",
                    "params:registry",
                    "params:system_prompt",
                ],
                outputs="registered_models",
                name="register_tuned_models",
            ),
        ],
        tags="dpo",
    )
