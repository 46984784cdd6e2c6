"""Wiring of the evaluation pipeline."""

from kedro.pipeline import Node, Pipeline

from . import nodes

MODELS = ["base_model", "sft_adapter", "dpo_adapter"]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.make_eval_prompts,
                inputs=["dialogues", "params:evaluation", "params:system_prompt", "params:seed"],
                outputs="eval_prompts",
                name="select_eval_prompts",
            ),
            Node(
                nodes.generate_variant_replies,
                inputs=[
                    *MODELS,
                    "eval_prompts",
                    "generation_cache",
                    "params:base_model",
                    "params:evaluation",
                    "params:seed",
                ],
                outputs="generations",
                name="generate_replies",
            ),
            Node(
                nodes.train_epitome,
                inputs=["epitome_pairs", "params:evaluation.epitome", "params:seed"],
                outputs=["epitome_scorer", "epitome_scorer_report"],
                name="train_epitome_scorer",
            ),
            Node(
                nodes.epitome_metrics,
                inputs="epitome_scorer_report",
                outputs="epitome_scorer_metrics",
                name="log_epitome_scorer_metrics",
            ),
            Node(
                nodes.train_emotion,
                inputs=["dialogues", "params:ed_emotion_labels", "params:evaluation.emotion", "params:seed"],
                outputs=["emotion_classifier", "emotion_classifier_report"],
                name="train_emotion_classifier",
            ),
            Node(
                nodes.emotion_metrics,
                inputs="emotion_classifier_report",
                outputs="emotion_classifier_metrics",
                name="log_emotion_classifier_metrics",
            ),
            Node(
                nodes.score_replies,
                inputs=[
                    "generations",
                    "epitome_scorer",
                    "emotion_classifier",
                    "params:data_engineering.preferences.strategy",
                    "params:emotion_maps",
                    "params:ed_emotion_labels",
                    "params:evaluation",
                ],
                outputs="reply_scores",
                name="score_replies",
            ),
            Node(
                nodes.measure_retention,
                inputs=[*MODELS, "params:base_model", "params:evaluation.retention", "params:seed"],
                outputs=["retention", "retention_items"],
                name="measure_retention",
            ),
            Node(
                nodes.compare_variants,
                inputs=[
                    "reply_scores",
                    "retention",
                    "retention_items",
                    "dpo_adapter",
                    "params:evaluation",
                    "params:seed",
                    "eval_prompts",
                ],
                outputs=[
                    "comparison_table",
                    "comparison_markdown",
                    "comparison_ci",
                    "robustness_ci",
                    "comparison_plot",
                    "dpo_training_curves",
                ],
                name="compare_variants",
            ),
        ],
        tags="evaluation",
    )
