"""Wiring of the results pipeline (kedro run --pipeline=results, or make results)."""

from kedro.pipeline import Node, Pipeline

from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.write_results,
                inputs="params:results",
                outputs=["results_document", "results_plot"],
                name="write_results",
            )
        ],
        tags="results",
    )
