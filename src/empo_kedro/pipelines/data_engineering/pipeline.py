"""Wiring of the data_engineering pipeline."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.make_dialogues,
                inputs=["empathetic_dialogues", "params:ed_emotion_labels", "params:data_engineering"],
                outputs=["dialogues", "dialogue_drops", "ed_read_reports"],
                name="build_dialogues",
            ),
            Node(
                nodes.make_sft_conversations,
                inputs=["dialogues", "params:system_prompt"],
                outputs="sft_conversations",
                name="build_sft_conversations",
            ),
            Node(
                nodes.load_opposite_map,
                inputs=["params:data_engineering.preferences", "params:emotion_maps", "params:ed_emotion_labels"],
                outputs="emotion_map",
                name="load_opposite_emotion_map",
            ),
            Node(
                nodes.make_preference_pairs,
                inputs=[
                    "dialogues",
                    "emotion_map",
                    "params:data_engineering.preferences",
                    "params:system_prompt",
                    "params:seed",
                ],
                outputs=["preference_pairs", "pair_drops"],
                name="build_preference_pairs",
            ),
            Node(
                nodes.make_data_report,
                inputs=[
                    "ed_read_reports",
                    "dialogue_drops",
                    "pair_drops",
                    "dialogues",
                    "preference_pairs",
                    "emotion_map",
                    "params:data_engineering.preferences",
                ],
                outputs="data_report",
                name="report_data",
            ),
        ],
        tags="data_engineering",
    )
