"""score_predictions through Kedro: the missing-scorer hint, and one run on an EmPO-format file."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from empo_kedro.pipeline_registry import register_pipelines
from empo_kedro.run_checks import MissingUpstreamError
from tests.conftest import run_kedro
from tests.evaluation.prediction_files import ROWS, empo_frame, write_empo

QUICK_SCORER = {"evaluation": {"epitome": {"scorer": {"epochs": 1}}}}
LEVELS = {f"{side}_{m}_scores": [0, 1, 2, 1] for side in ("pred", "gt") for m in ("ER", "IP", "EX")}


def test_score_predictions_is_not_part_of_the_default_run(kedro_project: Path):
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(kedro_project)
    pipelines = register_pipelines()
    assert "score_predictions" in pipelines
    default_nodes = {n.name for n in pipelines["__default__"].nodes}
    assert not {n.name for n in pipelines["score_predictions"].nodes} & default_nodes


def test_without_a_scorer_it_says_to_train_one_first(kedro_project: Path):
    path = write_empo(kedro_project / "preds.txt")
    with pytest.raises(
        MissingUpstreamError,
        match=r"'epitome_scorer'.*kedro run --pipeline=evaluation` first \(or just the node that "
        r"writes it: `kedro run --pipeline=evaluation --nodes=train_epitome_scorer`\)",
    ):
        run_kedro(kedro_project, "score_predictions", runtime_params={"predictions_path": str(path)})
    with pytest.raises(MissingUpstreamError, match=r"'predictions' \(.*nope\.csv.*\): it is an input: check its path"):
        run_kedro(kedro_project, "score_predictions", runtime_params={"predictions_path": "nope.csv"})


def test_an_empo_file_is_scored_reported_and_logged(kedro_project: Path):
    """The scorer trained alone (the hinted node), then an EmPO-format file with the original levels scored."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(kedro_project)  # this test alone (-k) must not rely on an earlier test having bootstrapped
    with KedroSession.create(project_path=kedro_project, runtime_params=QUICK_SCORER) as session:
        session.run(pipeline_names=["evaluation"], node_names=["train_epitome_scorer", "log_epitome_scorer_metrics"])
    scorer_report = json.loads((kedro_project / "data" / "08_reporting" / "epitome_scorer.json").read_text())
    held_out = scorer_report["heldout_test"]
    assert set(held_out) == {"ER", "IP", "EX"} and {"recall_level_1", "macro_f1_gap"} <= set(held_out["IP"])
    assert sum(map(sum, scorer_report["heldout_confusion"]["EX"])) == scorer_report["n_pairs"]["test"]
    client = mlflow.MlflowClient()
    (scorer_run,) = client.search_runs([client.get_experiment_by_name("empo_kedro").experiment_id])
    logged = scorer_run.data.metrics
    assert logged["epitome_scorer.IP_macro_f1"] == pytest.approx(held_out["IP"]["macro_f1"])
    assert "epitome_scorer.EX_macro_f1_gap" in logged
    assert "epitome_scorer.json" in [a.path for a in client.list_artifacts(scorer_run.info.run_id)]
    path = write_empo(kedro_project / "preds_zephyr.txt", empo_frame(LEVELS))
    run_kedro(
        kedro_project,
        "score_predictions",
        runtime_params={**QUICK_SCORER, "predictions_path": str(path), "system_name": "empo-zephyr"},
    )

    reporting = kedro_project / "data" / "08_reporting"
    table = pd.read_csv(reporting / "system_empo-zephyr.csv")
    report = json.loads((reporting / "system_empo-zephyr.json").read_text())
    scores = pd.read_parquet(kedro_project / "data" / "07_model_output" / "system_scores" / "empo-zephyr.parquet")
    assert table["variant"].tolist() == ["empo-zephyr"] and table["n_prompts"].item() == len(ROWS)
    assert report["predictions"]["format"] == "empo" and report["predictions"]["scored_rows"] == len(ROWS)
    # The agreement in the report is that of the per-reply levels against the file's levels.
    er = report["agreement_with_published_levels"]["generated"]["ER"]
    assert er["n"] == len(ROWS) and er["accuracy"] == (scores["level_ER"] == LEVELS["pred_ER_scores"]).mean()
    assert (reporting / "system_empo-zephyr.md").read_text().startswith("# empo-zephyr: scored like")

    client = mlflow.MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("empo_kedro").experiment_id])
    parent = next(r for r in runs if r.data.tags.get("pipeline") == "score_predictions")
    assert parent.info.run_name == "score_predictions-empo-zephyr" and parent.data.tags["system"] == "empo-zephyr"
    assert parent.data.params["predictions_path"] == str(path)
    child = next(r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id)
    assert child.info.run_name == "eval-empo-zephyr"
    assert {f"eval/{c}" for c in table.columns if c != "variant"} <= set(child.data.metrics)
    assert "agreement/reference_EX_kappa" in child.data.metrics
    assert {"agreement/generated_IP_qwk", "agreement/generated_IP_mean_level_bias"} <= set(child.data.metrics)
