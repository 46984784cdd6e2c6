"""Scoring a system's predictions like our variants: row selection, agreement with the file's EPITOME levels
(known answers), the report, and the MLflow run beside the variants' runs."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from empo_kedro.evaluation.agreement import level_agreement, published_diff_epitome, published_level_agreement
from empo_kedro.evaluation.comparison import PER_PROMPT_METRICS
from empo_kedro.evaluation.predictions import PredictionsFormatError, read_predictions
from empo_kedro.evaluation.system_scoring import (
    ScoringParameterError,
    check_system_name,
    select_system_rows,
)
from empo_kedro.pipelines.score_predictions import nodes
from tests.evaluation.prediction_files import ROWS, empo_frame, write_empo, write_generations, write_plain_csv

SELECT = {"variant": None, "empty_responses": "score", "max_skipped_fraction": 0.1}


class LookupScorer:
    """A stand-in EPITOME scorer: the levels of each reply text are given; any other text gets level 0."""

    def __init__(self, levels: dict[str, tuple[int, int, int]]):
        self.levels = levels
        self.config = {"encoder_source": "lookup table", "seed": 0}

    def predict(self, seeker_posts, responses, batch_size=None):
        rows = np.array([self.levels.get(r, (0, 0, 0)) for r in responses], dtype=np.int64).reshape(-1, 3)
        return {m: rows[:, i] for i, m in enumerate(("ER", "IP", "EX"))}


def score_and_report(tmp_path, encoder_dir, predictions, lookup, system, path, file_format):
    """The three system nodes in one MLflow run (a fresh store under ``tmp_path``): select, score with a lookup
    scorer, report. Returns the table, the report, its markdown and the parent run."""
    params = {
        "epitome": {"batch_size": 4},
        "bertscore": {"encoder": str(encoder_dir), "num_layers": 2, "batch_size": 4},
        "distinct_orders": [1, 2],
    }
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("t")
    with mlflow.start_run() as parent:
        replies, read = nodes.select_system_replies(predictions, system, path, file_format, SELECT)
        scores, info = nodes.score_system_replies(replies, LookupScorer(lookup), params)
        table, report, markdown = nodes.report_system(scores, read, info, system, params)
    return table, report, markdown, parent


def test_agreement_known_answers():
    exact = level_agreement([0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 1])
    # p_o = 5/6; marginals (2, 2, 2) and (2, 3, 1): p_e = 12/36, kappa = (5/6 - 1/3) / (2/3) = 0.75
    assert exact["accuracy"] == pytest.approx(5 / 6) and exact["cohen_kappa"] == pytest.approx(0.75)
    assert exact["confusion"] == [[2, 0, 0], [0, 2, 1], [0, 0, 1]]  # rows: theirs, columns: ours
    with_missing = level_agreement([2, 0, 1, 1], [2, None, 1, pd.NA])
    assert with_missing["n"] == 2 and with_missing["n_missing"] == 2 and with_missing["accuracy"] == 1.0
    assert level_agreement([1, 1, 1], [1, 1, 1])["cohen_kappa"] is None  # undefined, not a fake 0 or 1
    assert level_agreement([0, 1], [1, 0])["cohen_kappa"] == pytest.approx(-1.0)


def test_published_diff_epitome_uses_the_files_levels():
    scores = pd.DataFrame(
        {f"published_level_{m}{s}": v for m in ("ER", "IP", "EX") for s, v in (("", [2, 0]), ("_reference", [0, 0]))}
    )
    assert published_diff_epitome(scores)["diff_ER"] == 2.0  # ((2-0)^2 + 0) / 2
    assert published_diff_epitome(scores.drop(columns=["published_level_EX"])) is None
    assert published_level_agreement(pd.DataFrame({"level_ER": [1]})) == {}


def test_system_rows_pick_the_variant_and_apply_the_empty_reply_policy(tmp_path):
    generations = read_predictions(write_generations(tmp_path / "g.parquet"))
    rows, report = select_system_rows(generations, "sft", SELECT)
    assert len(rows) == 4 and set(rows["variant"]) == {"sft"} and report["variant"] == "sft"
    assert rows["response"].str.endswith("(sft)").all()
    rows, _ = select_system_rows(generations, "our-dpo", {**SELECT, "variant": "dpo"})
    assert set(rows["variant"]) == {"our-dpo"} and rows["response"].str.endswith("(dpo)").all()
    with pytest.raises(ScoringParameterError, match=r"variants \['base', 'sft', 'dpo'\].*score_predictions.variant"):
        select_system_rows(generations, "zephyr", SELECT)

    rows_with_empty = [(c, "" if i == 1 else g, r, e) for i, (c, g, r, e) in enumerate(ROWS)]
    predictions = read_predictions(write_plain_csv(tmp_path / "p.csv", rows_with_empty))
    scored, report = select_system_rows(predictions, "x", SELECT)
    assert len(scored) == 4 and report["empty_responses_in_selection"] == 1
    dropped, report = select_system_rows(predictions, "x", {**SELECT, "empty_responses": "skip"})
    assert len(dropped) == 3 and report["scored_rows"] == 3 and report["empty_responses_policy"] == "skip"
    with pytest.raises(ScoringParameterError, match="empty_responses must be one of"):
        select_system_rows(predictions, "x", {**SELECT, "empty_responses": "maybe"})
    with pytest.raises(ScoringParameterError, match="has no 'variant' column"):
        select_system_rows(predictions, "x", {**SELECT, "variant": "dpo"})


def test_too_many_unusable_records_stop_the_run(tmp_path):
    rows = [*ROWS[:3], (ROWS[3][0], ROWS[3][1], "", ROWS[3][3])]  # 1 of 4 records without a reference
    predictions = read_predictions(write_plain_csv(tmp_path / "p.csv", rows))
    with pytest.raises(PredictionsFormatError, match=r"1 of 4 records unusable \(25%.*max_skipped_fraction=0.1"):
        select_system_rows(predictions, "x", SELECT)
    assert len(select_system_rows(predictions, "x", {**SELECT, "max_skipped_fraction": 0.3})[0]) == 3


@pytest.mark.parametrize("name", ["../evil", "with space", "", "a/b"])
def test_system_names_must_be_plain_file_names(name):
    with pytest.raises(ScoringParameterError, match="cannot name the report files"):
        check_system_name(name)


def test_empo_file_scored_with_known_agreement_and_logged_beside_the_variants(tmp_path, tiny_encoder_dir):
    # Our (stand-in) scorer's levels for the four generated and four true replies of the file.
    generated = {"ER": [2, 0, 1, 0], "IP": [0, 1, 1, 2], "EX": [0, 2, 0, 2]}
    reference = {"ER": [2, 1, 0, 0], "IP": [0, 0, 0, 1], "EX": [2, 0, 2, 0]}
    lookup = {
        **{g: tuple(generated[m][i] for m in ("ER", "IP", "EX")) for i, (_, g, _, _) in enumerate(ROWS)},
        **{r: tuple(reference[m][i] for m in ("ER", "IP", "EX")) for i, (_, _, r, _) in enumerate(ROWS)},
    }
    # The file's original levels: ER generated differs in one row, IP reference in one of three readable rows.
    levels = {
        "pred_ER_scores": [2, 0, 1, 1],
        "pred_IP_scores": generated["IP"],
        "pred_EX_scores": generated["EX"],
        "gt_ER_scores": reference["ER"],
        "gt_IP_scores": [0, 0, 1, "?"],
        "gt_EX_scores": reference["EX"],
    }
    predictions = read_predictions(write_empo(tmp_path / "preds.txt", empo_frame(levels)))
    table, report, markdown, parent = score_and_report(
        tmp_path, tiny_encoder_dir, predictions, lookup, "empo-zephyr", "preds.txt", "auto"
    )

    agreement = report["agreement_with_published_levels"]
    # ER generated: ours [2,0,1,0] vs theirs [2,0,1,1]: p_o = 3/4, p_e = (2*1 + 1*2 + 1*1)/16 = 5/16 -> kappa 7/11.
    assert agreement["generated"]["ER"]["accuracy"] == 0.75
    assert agreement["generated"]["ER"]["cohen_kappa"] == pytest.approx(7 / 11)
    assert agreement["generated"]["IP"]["accuracy"] == agreement["generated"]["IP"]["cohen_kappa"] == 1.0
    # IP reference: ours [0,0,0] vs theirs [0,0,1] on the 3 readable rows: p_o = 2/3, p_e = 2/3 -> kappa 0.
    assert agreement["reference"]["IP"] == {
        "n": 3,
        "n_missing": 1,
        "accuracy": pytest.approx(2 / 3),
        "cohen_kappa": pytest.approx(0.0),
        "quadratic_kappa": pytest.approx(0.0),
        "mean_level_ours": 0.0,
        "mean_level_theirs": pytest.approx(1 / 3),
        "mean_level_bias": pytest.approx(-1 / 3),
        "confusion": [[2, 0, 0], [1, 0, 0], [0, 0, 0]],
    }
    # Our diff-EPITOME from the lookup levels: ER gaps (0, 1, 1, 0) -> 0.5.
    assert report["metrics"]["diff_ER"] == 0.5 and report["metrics"]["level_ER"] == 0.75
    assert report["published_diff_epitome"]["diff_ER"] == pytest.approx((0 + 1 + 1 + 1) / 4)
    assert table["variant"].tolist() == ["empo-zephyr"]
    assert {*PER_PROMPT_METRICS, "distinct_1", "distinct_2"} <= set(table.columns)
    assert "mmlu_accuracy" in report["not_measured"] and "mmlu_accuracy" not in table
    assert "| generated | ER          |   4 |         0 |     0.75   |        0.6364 |" in markdown
    assert "Not measured: mmlu_accuracy" in markdown and report["predictions"]["requested"]["path"] == "preds.txt"
    json.dumps(report)  # the report is plain JSON

    client = mlflow.MlflowClient()
    assert client.get_run(parent.info.run_id).data.tags["system"] == "empo-zephyr"
    (child,) = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert child.info.run_name == "eval-empo-zephyr" and child.data.tags["variant"] == "empo-zephyr"
    assert child.data.tags["predictions_format"] == "empo"
    assert child.data.metrics["eval/diff_ER"] == 0.5  # the same names as eval-base / eval-sft / eval-dpo
    assert child.data.metrics["agreement/generated_ER_kappa"] == pytest.approx(7 / 11)
    assert "agreement/reference_IP_accuracy" in child.data.metrics


KNOWN_LEVELS_FILE = Path(__file__).parent / "fixtures" / "empo_known_levels.txt"
# Our (stand-in) scorer's levels for the six generated and six true replies of KNOWN_LEVELS_FILE, in file order.
KNOWN_OURS = {
    "generated": {"ER": [0, 1, 1, 2, 2, 1], "IP": [0, 0, 1, 1, 2, 2], "EX": [0, 2, 0, 2, 1, 0]},
    "reference": {"ER": [1, 0, 2, 0, 1, 0], "IP": [0, 1, 0, 0, 2, 1], "EX": [0, 0, 0, 0, 0, 0]},
}


def test_synthetic_empo_file_gives_the_hand_computed_kappa_qwk_and_mean_level_bias(tmp_path, tiny_encoder_dir):
    """A checked-in EmPO-format file (``~``-separated, index column, multi-line prompts) whose original levels are
    known; every figure below is worked out by hand in the comments."""
    predictions = read_predictions(KNOWN_LEVELS_FILE)
    rows = predictions.frame
    lookup = {}
    for side, column in (("generated", "response"), ("reference", "reference")):
        for i, text in enumerate(rows[column]):
            lookup[text] = tuple(KNOWN_OURS[side][m][i] for m in ("ER", "IP", "EX"))
    _, report, markdown, parent = score_and_report(
        tmp_path, tiny_encoder_dir, predictions, lookup, "known", "known.txt", "empo"
    )
    agreement = report["agreement_with_published_levels"]

    # ER generated: theirs [0,0,1,1,2,2], ours [0,1,1,2,2,1]. Confusion (rows theirs) [[1,1,0],[0,1,1],[0,1,1]]:
    # p_o = 3/6; marginals theirs (2,2,2), ours (1,3,2): p_e = 12/36, kappa = (1/2 - 1/3) / (2/3) = 1/4.
    # QWK = 1 - sum(w O) / sum(w E), w = (i-j)^2, E_ij = r_i c_j / n: sum(w O) = 1 + 1 + 1 = 3,
    # sum(w E) = (1/3) (1*5 + 3*2 + 2*5) = 7 -> QWK = 4/7. Mean levels 7/6 vs 1 -> bias +1/6.
    er = agreement["generated"]["ER"]
    assert er["cohen_kappa"] == pytest.approx(0.25) and er["quadratic_kappa"] == pytest.approx(4 / 7)
    assert er["mean_level_bias"] == pytest.approx(1 / 6) and er["confusion"] == [[1, 1, 0], [0, 1, 1], [0, 1, 1]]
    # IP generated: theirs [0,0,0,1,?,2] -> 5 pairs both have; ours there [0,0,1,1,2]. p_o = 4/5; marginals theirs
    # (3,1,1), ours (2,2,1): p_e = 9/25, kappa = (20 - 9) / (25 - 9) = 11/16. sum(w O) = 1,
    # sum(w E) = (3*(2 + 4) + 1*(2 + 1) + 1*(8 + 2)) / 5 = 31/5 -> QWK = 26/31.
    # Bias on the pairs both have: 4/5 - 3/5 = 1/5 (over all six of ours it would be 6/6 - 3/5 = 2/5).
    ip = agreement["generated"]["IP"]
    assert ip["n"] == 5 and ip["n_missing"] == 1
    assert ip["cohen_kappa"] == pytest.approx(11 / 16) and ip["quadratic_kappa"] == pytest.approx(26 / 31)
    assert ip["mean_level_ours"] == pytest.approx(0.8) and ip["mean_level_bias"] == pytest.approx(0.2)
    # EX generated and ER/IP reference: identical levels -> kappa = QWK = 1, bias 0.
    for side, m in (("generated", "EX"), ("reference", "ER"), ("reference", "IP")):
        assert agreement[side][m]["cohen_kappa"] == agreement[side][m]["quadratic_kappa"] == pytest.approx(1.0)
        assert agreement[side][m]["mean_level_bias"] == 0.0
    # EX reference: both all level 0 -> both kappas undefined (None), bias 0.
    ex_ref = agreement["reference"]["EX"]
    assert ex_ref["cohen_kappa"] is None and ex_ref["quadratic_kappa"] is None and ex_ref["mean_level_bias"] == 0.0

    assert "quadratic_kappa" in markdown and "mean_level_bias" in markdown
    assert "| generated | ER          |   6 |         0 |        0.5 |        0.25   |            0.5714 |" in markdown
    assert markdown.split("| generated | IP  ")[1].split("\n")[0].rstrip().endswith("|            0.2    |")
    client = mlflow.MlflowClient()
    (child,) = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    logged = child.data.metrics
    assert logged["agreement/generated_ER_qwk"] == pytest.approx(4 / 7)
    assert logged["agreement/generated_IP_mean_level_bias"] == pytest.approx(0.2)
    assert logged["agreement/generated_IP_kappa"] == pytest.approx(11 / 16)
    assert "agreement/reference_EX_qwk" not in logged  # undefined: not logged as a fake number
