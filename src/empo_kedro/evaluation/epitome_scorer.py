"""Former home of the EPITOME scorer, now the package :mod:`empo_kedro.evaluation.epitome`; this module only re-exports
its names for the tests' import path (``tests/evaluation/test_epitome.py``). New code imports from the package."""

from empo_kedro.evaluation.epitome import (  # noqa: F401
    LEVELS,
    MECHANISMS,
    NUM_LEVELS,
    EpitomeModel,
    EpitomeScorer,
    EpitomeScorerParams,
    default_encoder_path,
    encode_pairs,
    evaluate,
    level_metrics,
    train_epitome_scorer,
)
from empo_kedro.evaluation.epitome.training import _tune_logit_bias  # noqa: F401
