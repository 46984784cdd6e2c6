"""The sft and dpo pipelines through Kedro: the missing-upstream error, and one end-to-end run on SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from empo_kedro.run_checks import MissingUpstreamError
from tests.conftest import run_kedro

# A few steps on a few conversations: the real model, the real pipeline, minutes not hours.
QUICK_TRAINING = {
    "sft": {"max_train_conversations": 16, "max_eval_conversations": 8, "training": {"max_steps": 2}},
    "dpo": {"max_train_prompts": 8, "max_eval_pairs": 8, "training": {"max_steps": 2, "learning_rate": 5e-4}},
    "evaluation": {
        "n_prompts": 6,
        "generation": {"max_new_tokens": 12},
        "bootstrap": {"n_resamples": 200},
        "epitome": {"scorer": {"epochs": 1}},
        "retention": {"mmlu": {"limit": 3}, "kl": {"n_texts": 4}},
    },
}


def test_dpo_without_an_sft_adapter_says_which_pipeline_to_run_first(kedro_project: Path):
    with pytest.raises(MissingUpstreamError, match=r"'sft_adapter'.*kedro run --pipeline=sft"):
        run_kedro(kedro_project, pipeline="dpo")
    assert not (kedro_project / "data" / "06_models" / "dpo").exists()


@pytest.mark.slow
def test_data_sft_dpo_end_to_end_on_the_embedded_model(kedro_project_with_base_model: Path):
    project = kedro_project_with_base_model
    for pipeline in ("data_engineering", "sft", "dpo", "evaluation"):
        run_kedro(project, pipeline=pipeline, runtime_params=QUICK_TRAINING)

    models = project / "data" / "06_models"
    sft_weights = (models / "sft" / "adapter_model.safetensors").read_bytes()
    assert sft_weights != (models / "dpo" / "adapter_model.safetensors").read_bytes()
    assert json.loads((models / "dpo" / "empo_adapter.json").read_text())["merged_parents"] == [str(models / "sft")]

    client = mlflow.MlflowClient()
    all_runs = client.search_runs([client.get_experiment_by_name("empo_kedro").experiment_id])
    runs = {r.data.tags["pipeline"]: r for r in all_runs if "pipeline" in r.data.tags}
    assert {"data_engineering", "sft", "dpo", "evaluation"} <= set(runs)
    dpo_run = runs["dpo"]
    assert dpo_run.data.params["dpo.training.beta"] == "0.05"
    assert dpo_run.data.tags["strategy"] == "plutchik_extended"
    assert len(client.get_metric_history(dpo_run.info.run_id, "dpo/loss")) == 2
    assert len(client.get_metric_history(runs["sft"].info.run_id, "sft/loss")) == 2
    assert "dpo_final.eval_rewards/margins" in dpo_run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(dpo_run.info.run_id, "adapters/dpo")}
    assert "adapters/dpo/adapter_model.safetensors" in artifacts

    # Evaluation: the table, the CIs, plots, and one nested run per variant with the same metric names.
    reporting = project / "data" / "08_reporting"
    table = pd.read_csv(reporting / "comparison.csv")
    assert table["variant"].tolist() == ["base", "sft", "dpo", "sft_len", "reference"]  # sft_len: SFT at DPO's length
    assert {"diff_mean", "bertscore_f1", "mmlu_accuracy", "kl_to_base", "distinct_2"} <= set(table.columns)
    assert table.loc[table.variant == "base", "kl_to_base"].item() == 0
    assert (reporting / "comparison.png").stat().st_size > 0 and (reporting / "comparison.md").is_file()
    variant_runs = [r for r in all_runs if "variant" in r.data.tags]
    assert sorted(r.data.tags["variant"] for r in variant_runs) == ["base", "dpo", "reference", "sft", "sft_len"]
    model_runs = [r for r in variant_runs if r.data.tags["variant"] != "reference"]  # reference: emotion-fit ceiling
    base_metrics = set(next(r for r in model_runs if r.data.tags["variant"] == "base").data.metrics)
    trained = [r for r in model_runs if r.data.tags["variant"] in ("sft", "dpo")]
    assert all(base_metrics <= set(r.data.metrics) for r in trained)  # the same names (tuned runs add checks)
    sft_len = next(r for r in model_runs if r.data.tags["variant"] == "sft_len")  # scored replies, no MMLU/KL
    assert {"eval/diff_mean", "eval/bertscore_f1", "eval/length_words"} <= set(sft_len.data.metrics)
    for run in model_runs:  # each variant's replies as an MLflow table
        assert len(mlflow.load_table("replies.json", run_ids=[run.info.run_id])) == 6

    # Use the model: registered after dpo (offline), the same reply in-process; the export and its GGUF file.
    assert client.get_experiment_by_name("empo_kedro").tags["mlflow.experimentKind"] == "custom_model_development"
    assert [a.path for a in client.list_artifacts(dpo_run.info.run_id, "dpo_samples")]
    chat = mlflow.pyfunc.load_model("models:/empo-dpo/latest")
    answer = chat.predict({"messages": [{"role": "user", "content": "I lost my wallet."}], "max_tokens": 8})
    assert answer["choices"][0]["message"]["content"].strip()
    run_kedro(project, pipeline="export")
    export_report = json.loads((reporting / "export_report.json").read_text())
    assert export_report["gguf_same_greedy_replies"] and export_report["max_logit_gap"] <= 1e-3


def test_unreachable_tracking_server_fails_before_anything_runs(kedro_project: Path, monkeypatch):
    from empo_kedro.tracking.server import TrackingServerUnreachable

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # discard port: nothing listens there
    with pytest.raises(TrackingServerUnreachable, match="127.0.0.1:9 is unreachable"):
        run_kedro(kedro_project, pipeline="data_engineering")
    assert not (kedro_project / "data" / "02_intermediate" / "dialogues.parquet").exists()
