"""Nodes of the score_predictions pipeline: read another system's predictions, score them like our variants."""

from __future__ import annotations

import pandas as pd

from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.predictions import Predictions
from empo_kedro.evaluation.scoring import score_reply_frame
from empo_kedro.evaluation.system_scoring import (
    agreement_metrics,
    check_system_name,
    select_system_rows,
    summarise_system,
)
from empo_kedro.params import EvaluationParams, ScorePredictionsParams
from empo_kedro.tracking.system_runs import log_system_run

SCORER_INFO_KEYS = ("encoder_source", "seed", "mechanisms", "logit_bias")


def select_system_replies(
    predictions: Predictions,
    system_name: str,
    predictions_path: str,
    predictions_format: str,
    params: ScorePredictionsParams,
) -> tuple[pd.DataFrame, dict]:
    """The replies to score, named after the system, and the report of how the file was read.

    ``predictions_path`` and ``predictions_format`` (what the catalog read) are inputs so that the run records them.
    """
    replies, read_report = select_system_rows(predictions, check_system_name(system_name), params)
    return replies, {**read_report, "requested": {"path": str(predictions_path), "format": str(predictions_format)}}


def score_system_replies(
    replies: pd.DataFrame, scorer: EpitomeScorer, params: EvaluationParams
) -> tuple[pd.DataFrame, dict]:
    """The same per-reply scores as the evaluation of base/SFT/DPO, with the same scorer and settings."""
    info = {key: scorer.config[key] for key in SCORER_INFO_KEYS if key in scorer.config}
    return score_reply_frame(replies, scorer, params), info


def report_system(
    scores: pd.DataFrame, read_report: dict, scorer_info: dict, system_name: str, params: EvaluationParams
):
    """The system's table row, report (JSON, Markdown) and a nested MLflow run beside the variants' runs."""
    table, report, markdown = summarise_system(
        scores, read_report, check_system_name(system_name), params["distinct_orders"], scorer_info
    )
    log_system_run(
        table.set_index("variant"),
        {
            "backbone": report["bertscore_backbone"],
            "predictions_file": read_report["file"],
            "predictions_format": read_report["format"],
        },
        agreement_metrics(report),
    )
    return table, report, markdown
