"""data_engineering + sft + the EPITOME scorer and emotion classifier nodes of evaluation:
run once before `kedro run --pipeline=sweep`.

A module of its own (not a sum in the registry) because Kedro imports only the pipelines a run names.
"""

from kedro.pipeline import Pipeline

from empo_kedro.pipelines import data_engineering, evaluation, sft

SCORER_NODES = (
    "train_epitome_scorer",
    "log_epitome_scorer_metrics",
    "train_emotion_classifier",
    "log_emotion_classifier_metrics",
)


def create_pipeline(**kwargs) -> Pipeline:
    return (
        data_engineering.create_pipeline()
        + sft.create_pipeline()
        + evaluation.create_pipeline().only_nodes(*SCORER_NODES)
    )
