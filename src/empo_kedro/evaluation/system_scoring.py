"""Score another system's predictions like our variants: pick its rows, summarise them in the comparison-table
layout, add the agreement with the file's original EPITOME levels, and write the report.

MMLU and the KL to the base need the model itself, so a system known only by its predictions file has neither;
the report says so instead of leaving the columns silently empty.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.agreement import published_diff_epitome, published_level_agreement
from empo_kedro.evaluation.comparison import comparison_table
from empo_kedro.evaluation.epitome_schema import MECHANISMS
from empo_kedro.evaluation.predictions import Predictions, PredictionsFormatError

logger = logging.getLogger(__name__)

SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
EMPTY_RESPONSE_POLICIES = ("score", "skip")
EMPTY_RESPONSE_VERBS = {"score": "scored", "skip": "dropped"}
# level_agreement key -> MLflow metric name suffix.
AGREEMENT_METRIC_NAMES = {
    "accuracy": "accuracy",
    "cohen_kappa": "kappa",
    "quadratic_kappa": "qwk",
    "mean_level_bias": "mean_level_bias",
}
NOT_MEASURED = {
    "mmlu_accuracy": "needs the model: not measured for a predictions file",
    "kl_to_base": "needs the model and our base: not measured for a predictions file",
}


class ScoringParameterError(UserFacingError, ValueError):
    """A score_predictions parameter that cannot be used (system name, variant, policy)."""


def check_system_name(name: Any) -> str:
    """The system name as text; it names report files and an MLflow run, so it must be a plain file name."""
    text = str(name)
    if not SYSTEM_NAME.match(text):
        raise ScoringParameterError(
            f"system_name {text!r} cannot name the report files: use letters, digits and . _ + - "
            "(at most 100, starting with a letter or digit), e.g. --params system_name=empo-zephyr-dpo"
        )
    return text


def _select_variant(
    frame: pd.DataFrame, variant: str | None, system_name: str, path: str
) -> tuple[pd.DataFrame, str | None]:
    """Rows of one variant when the file holds several (our generations): the named one, else the system's name."""
    if "variant" not in frame.columns:
        if variant is not None:
            raise ScoringParameterError(f"score_predictions.variant is {variant!r} but {path} has no 'variant' column")
        return frame, None
    variants = list(dict.fromkeys(frame["variant"]))
    wanted = variant if variant is not None else system_name
    if wanted in variants:
        return frame[frame["variant"] == wanted], wanted
    if variant is None and len(variants) == 1:
        return frame, variants[0]
    raise ScoringParameterError(
        f"{path} holds the variants {variants}; choose one with --params score_predictions.variant=NAME "
        f"(or a system_name that is one of them), not {wanted!r}"
    )


def select_system_rows(
    predictions: Predictions, system_name: str, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows to score, named after the system, and the read report with what was dropped and why.

    ``params``: ``variant`` (null: the system name), ``empty_responses`` (``score``: an empty reply is scored as
    the failure it is, as our evaluation does; ``skip``: dropped, as the EmPO authors' scripts do) and
    ``max_skipped_fraction`` (more unusable records than this stops the run: a wrong format, not noise).
    """
    report = predictions.report
    path = report.file
    policy = params["empty_responses"]
    if policy not in EMPTY_RESPONSE_POLICIES:
        raise ScoringParameterError(
            f"score_predictions.empty_responses must be one of {list(EMPTY_RESPONSE_POLICIES)}, got {policy!r}"
        )
    skipped_fraction = len(report.skipped) / max(1, report.records)
    if skipped_fraction > params["max_skipped_fraction"]:
        raise PredictionsFormatError(
            f"{path}: {len(report.skipped)} of {report.records} records unusable ({skipped_fraction:.0%}, more than "
            f"score_predictions.max_skipped_fraction={params['max_skipped_fraction']}): {report.skipped_by_reason()}"
            f"; e.g. {report.as_dict(3)['skipped_examples']}. Is the format right (score_predictions format: "
            f"{report.format})?"
        )
    frame, variant = _select_variant(predictions.frame, params.get("variant"), system_name, path)
    n_empty = int(frame["empty_response"].sum())
    if policy == "skip" and n_empty:
        frame = frame[~frame["empty_response"]]
        logger.warning("%s: %d rows with an empty generated reply dropped (empty_responses: skip)", path, n_empty)
    elif n_empty:
        logger.warning("%s: %d rows with an empty generated reply are scored (empty_responses: score)", path, n_empty)
    if frame.empty:
        raise PredictionsFormatError(f"{path}: no row left to score (variant {variant}, empty_responses: {policy})")
    frame = frame.assign(variant=system_name).reset_index(drop=True)
    read = {
        **report.as_dict(),
        "variant": variant,
        "empty_responses_policy": policy,
        "empty_responses_in_selection": n_empty,
        "scored_rows": len(frame),
    }
    logger.info("Scoring %d replies of %s from %s", len(frame), system_name, path)
    return frame, read


def _clean(value: Any) -> Any:
    """JSON-safe numbers (NaN -> None)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _agreement_markdown(agreement: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    rows = [
        {
            "reply": side,
            "mechanism": m,
            "n": a["n"],
            "missing": a["n_missing"],
            "accuracy": a["accuracy"],
            "cohen_kappa": a["cohen_kappa"],
            "quadratic_kappa": a["quadratic_kappa"],
            "mean_level_ours": a["mean_level_ours"],
            "mean_level_theirs": a["mean_level_theirs"],
            "mean_level_bias": a["mean_level_bias"],
        }
        for side, per_mechanism in agreement.items()
        for m, a in per_mechanism.items()
    ]
    return pd.DataFrame(rows).round(4).to_markdown(index=False)


def summarise_system(
    scores: pd.DataFrame,
    read_report: Mapping[str, Any],
    system_name: str,
    distinct_orders: Sequence[int],
    scorer_info: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """The system's row in the comparison-table layout, the full report (JSON) and its Markdown version."""
    table = comparison_table(scores, {}, distinct_orders)
    row = {k: _clean(v) for k, v in table.iloc[0].items()}
    backbone = scores["bertscore_backbone"].iloc[0]
    reference_levels = {f"level_{m}_reference": float(scores[f"level_{m}_reference"].mean()) for m in MECHANISMS}
    report: dict[str, Any] = {
        "system": system_name,
        "predictions": dict(read_report),
        "metrics": row,
        "reference_levels": reference_levels,
        "not_measured": NOT_MEASURED,
        "bertscore_backbone": backbone,
        "epitome_scorer": dict(scorer_info),
    }
    agreement = published_level_agreement(scores, MECHANISMS)
    if agreement:
        report["agreement_with_published_levels"] = agreement
        report["published_diff_epitome"] = published_diff_epitome(scores, MECHANISMS)
    markdown = _markdown(table, report)
    return table.reset_index(), report, markdown


def _markdown(table: pd.DataFrame, report: Mapping[str, Any]) -> str:
    read = report["predictions"]
    lines = [
        f"# {report['system']}: scored like base / SFT / DPO",
        "",
        f"Predictions: `{read['file']}` ({read['format']}{', variant ' + read['variant'] if read['variant'] else ''})"
        f"; {read['records']} records, {read['scored_rows']} scored, {read['skipped']} skipped"
        f"{' ' + str(read['skipped_by_reason']) if read['skipped'] else ''}, {read['empty_responses_in_selection']} "
        "empty replies "
        f"({EMPTY_RESPONSE_VERBS[read['empty_responses_policy']]}).",
    ]
    if read["skipped_examples"]:
        lines += ["", "Skipped records (first ones): " + "; ".join(f"`{e}`" for e in read["skipped_examples"][:5])]
    lines += [
        "",
        table.round(4).to_markdown(),
        "",
        f"BERTScore backbone: {report['bertscore_backbone']}; not comparable with scores from other backbones.",
        "diff_* = mean squared gap between the EPITOME level of the generated and the true reply (lower is better); "
        f"levels from our scorer ({report['epitome_scorer'].get('encoder_source', 'unknown encoder')}).",
        "Mean levels of the true replies: "
        + ", ".join(f"{k} {v:.4f}" for k, v in report["reference_levels"].items())
        + ".",
        "Not measured: " + "; ".join(f"{k} ({v})" for k, v in report["not_measured"].items()) + ".",
    ]
    if "agreement_with_published_levels" in report:
        lines += [
            "",
            "## Agreement with the file's original EPITOME levels",
            "",
            "Our scorer against the levels of the original EPITOME checkpoints in the file (`pred_*_scores` "
            "for the generated reply, `gt_*_scores` for the true reply). quadratic_kappa weighs a disagreement by "
            "the squared level gap (levels are ordinal); mean_level_bias = our mean level minus theirs on the pairs "
            "both have (diff-EPITOME depends on mean levels).",
            "",
            _agreement_markdown(report["agreement_with_published_levels"]),
        ]
        published = report["published_diff_epitome"]
        if published:
            ours = report["metrics"]
            lines += [
                "",
                "diff-EPITOME from the file's levels vs ours: "
                + ", ".join(
                    f"{k} {published[k]:.4f} vs {ours[k]:.4f}" for k in ("diff_ER", "diff_IP", "diff_EX", "diff_mean")
                )
                + ".",
            ]
    return "\n".join(lines) + "\n"


def agreement_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """The agreement figures as flat MLflow metric names (``agreement/<side>_<m>_<name>``, names in
    :data:`AGREEMENT_METRIC_NAMES`)."""
    metrics = {}
    for side, per_mechanism in report.get("agreement_with_published_levels", {}).items():
        for m, a in per_mechanism.items():
            for key, name in AGREEMENT_METRIC_NAMES.items():
                if a[key] is not None:
                    metrics[f"agreement/{side}_{m}_{name}"] = float(a[key])
    return metrics
