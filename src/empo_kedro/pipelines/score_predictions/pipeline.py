"""Wiring of the score_predictions pipeline (run by name only: not part of the default run)."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.select_system_replies,
                inputs=[
                    "predictions",
                    "params:system_name",
                    "params:predictions_path",
                    "params:predictions_format",
                    "params:score_predictions",
                ],
                outputs=["system_replies", "system_read_report"],
                name="select_system_replies",
            ),
            Node(
                nodes.score_system_replies,
                inputs=["system_replies", "epitome_scorer", "params:evaluation"],
                outputs=["system_reply_scores", "system_scorer_info"],
                name="score_system_replies",
            ),
            Node(
                nodes.report_system,
                inputs=[
                    "system_reply_scores",
                    "system_read_report",
                    "system_scorer_info",
                    "params:system_name",
                    "params:evaluation",
                ],
                outputs=["system_table", "system_report", "system_markdown"],
                name="report_system",
            ),
        ],
        tags="score_predictions",
    )
