"""The sweep with a tiny grid: nested trial runs, the best trial named on the parent run, resume after an interrupted
sweep, and results.md whose numbers are the MLflow ones. On the tiny local base model: what is checked is the sweep's
bookkeeping, not the model (the real SmolLM2 runs the whole chain in the end-to-end test)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow

from empo_kedro.reporting.results import describe_difference, describe_win_rate, num
from empo_kedro.tracking.reply_tables import REPLY_TABLE
from tests.conftest import run_kedro

SETUP = {
    "sft": {"max_train_conversations": 16, "max_eval_conversations": 8, "training": {"max_steps": 1}},
    "evaluation": {"epitome": {"scorer": {"epochs": 1}}},
}
# Two trials that differ only in the rejected turns, so the random-rejected ablation of the best one is the other.
SWEEP = {
    "sweep": {
        "space": {"dpo": {"training": {"beta": [0.1]}}, "strategy": ["plutchik_extended", "random"]},
        "fixed": {
            "dpo": {
                "max_train_prompts": 8,
                "epochs": 1,
                "max_eval_pairs": 4,
                "training": {"max_steps": 1, "learning_rate": 5e-4},
            }
        },
        "selection": {"n_prompts": 4},
        "final": {"n_prompts": 6, "n_samples": 2, "mmlu": True, "kl_n_texts": 2},
    },
    "evaluation": {
        "generation": {"max_new_tokens": 8},
        "bootstrap": {"n_resamples": 100},
        "retention": {"kl": {"n_texts": 2}, "mmlu": {"limit": 3}},
    },
}


def sweep_runs(client: mlflow.MlflowClient) -> list:
    experiment = client.get_experiment_by_name("empo_kedro").experiment_id
    return client.search_runs([experiment], "tags.pipeline = 'sweep'", order_by=["attributes.start_time DESC"])


def nested(client: mlflow.MlflowClient, role: str) -> list:
    experiment = client.get_experiment_by_name("empo_kedro").experiment_id
    return client.search_runs([experiment], f"tags.`sweep.role` = '{role}'")


def test_sweep_selects_on_valid_resumes_and_reports_the_mlflow_numbers(kedro_project_with_tiny_base: Path):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="sweep_setup", runtime_params=SETUP)
    run_kedro(project, pipeline="sweep", runtime_params=SWEEP)

    client = mlflow.MlflowClient()
    [parent] = sweep_runs(client)
    trials = nested(client, "trial")
    assert len(trials) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parent.info.run_id}
    assert {r.data.params["strategy"] for r in trials} == {"plutchik_extended", "random"}
    assert all(r.data.params["dpo.training.beta"] == "0.1" and r.data.tags["split"] == "valid" for r in trials)
    assert all(
        {"eval/diff_mean", "eval/bertscore_f1", "eval/kl_to_base", "train/train_loss"} <= set(r.data.metrics)
        for r in trials
    )
    assert len(client.get_metric_history(trials[0].info.run_id, "dpo/loss")) == 1
    by_trial = {r.data.tags["sweep.trial_id"]: r for r in trials}
    best = parent.data.tags["sweep.best_trial"]
    assert parent.data.tags["sweep.best_run_id"] == by_trial[best].info.run_id
    assert parent.data.tags["sweep.best.strategy"] == by_trial[best].data.params["strategy"]
    # The ablation (best settings, other rejected turns) was in the grid: reused, not trained again.
    assert parent.data.tags["sweep.ablation_trial"] == next(t for t in by_trial if t != best)
    assert nested(client, "ablation") == []
    final = {r.data.tags["variant"]: r for r in nested(client, "final")}
    ablation = f"dpo_{parent.data.tags['sweep.ablation_strategy']}"
    assert set(final) == {"base", "sft", "dpo", ablation, "sft_len", "reference"}
    assert all(r.data.tags["split"] == "test" for r in final.values())
    assert {
        "final/dpo-sft/diff_mean/low",
        "final/dpo-sft/mmlu_correct/high",
        "final/dpo-sft_len/diff_mean/diff",
        "final_length_adjusted/dpo-sft/diff_mean/low",
        "final_lc_win_rate/dpo-sft/diff_mean/diff",
        f"final_seeds/dpo-{ablation}/emotion_p_opposite/high",
        "seeds/dpo/diff_mean/mean",
        "emotion_classifier/top1_accuracy",
        "scorer/IP/macro_f1",
    } <= set(parent.data.metrics)
    assert all("eval/mmlu_accuracy" in final[v].data.metrics for v in ("base", "sft", "dpo", ablation))
    assert {"eval/emotion_p_true", "eval/emotion_p_opposite"} <= set(final["reference"].data.metrics)
    assert final["sft_len"].data.metrics["eval/length_words"] > 0
    for variant in ("base", "sft", "dpo", "sft_len"):  # each variant's replies as an MLflow table
        table = mlflow.load_table(REPLY_TABLE, run_ids=[final[variant].info.run_id])
        assert len(table) == 6 and table["reply"].notna().all()
    champion = client.get_model_version_by_alias("empo-dpo", "champion")  # the chosen trial, registered
    registered = json.loads((project / "data" / "08_reporting" / "sweep_champion.json").read_text())
    assert registered["trial_id"] == best and registered["dpo"]["version"] == str(champion.version)

    # An interrupted sweep: the trial that was not the best never finished. The rerun trains only that one.
    store = project / "data" / "06_models" / "sweep"
    other = parent.data.tags["sweep.ablation_trial"]
    best_weights = store / best / "adapter" / "adapter_model.safetensors"
    best_mtime = best_weights.stat().st_mtime_ns
    shutil.rmtree(store / other)
    run_kedro(project, pipeline="sweep", runtime_params=SWEEP)
    rerun = sweep_runs(client)[0]
    assert rerun.info.run_id != parent.info.run_id
    assert best_weights.stat().st_mtime_ns == best_mtime
    assert len(nested(client, "trial")) == 3  # the best trial's run is reused, not logged again
    record = json.loads((project / "data" / "08_reporting" / "sweep_trials.json").read_text())
    assert {t["trial_id"]: t["reused"] for t in record["trials"]} == {best: True, other: False}
    assert rerun.data.tags["sweep.best_run_id"] == parent.data.tags["sweep.best_run_id"]

    # results.md from MLflow: every number it shows is the logged one. The default environment writes it under its
    # data root; only the `shared` environment writes the committed docs/.
    run_kedro(project, pipeline="results")
    results_dir = project / "data" / "08_reporting" / "results"
    document = (results_dir / "results.md").read_text()
    assert (results_dir / "results_sweep.png").stat().st_size > 0
    assert not (project / "docs").exists()
    assert rerun.info.run_id in document
    final_of_rerun = f"tags.`sweep.role` = 'final' and tags.`mlflow.parentRunId` = '{rerun.info.run_id}'"
    final = {r.data.tags["variant"]: r for r in client.search_runs([rerun.info.experiment_id], final_of_rerun)}
    final_section = document.split("## Final comparison")[1].split("### Paired")[0]
    rows = {line.split("|")[1].strip(): line for line in final_section.splitlines() if line.startswith("| ")}
    for variant, run in final.items():
        if variant in ("sft_len", "reference"):  # no KL or MMLU: the same weights as SFT / human replies
            continue
        for metric in ("diff_mean", "bertscore_f1", "kl_to_base"):
            assert f"| {num(run.data.metrics[f'eval/{metric}'])} |" in rows[variant]
    for trial in record["trials"]:
        metrics = client.get_run(trial["mlflow_run_id"]).data.metrics
        [line] = [line for line in document.splitlines() if f"`{trial['trial_id'][:8]}`" in line]
        assert f"| {num(metrics['eval/diff_mean'])} |" in line
    for metric in ("diff_mean", "mmlu_correct"):
        ci = {bound: rerun.data.metrics[f"final/dpo-sft/{metric}/{bound}"] for bound in ("diff", "low", "high")}
        assert describe_difference("dpo", "sft", metric, ci["diff"], ci["low"], ci["high"]) in document
    lc = {
        bound: rerun.data.metrics[f"final_lc_win_rate/dpo-sft/diff_mean/{bound}"]
        for bound in ("diff", "low", "high", "win_rate")
    }
    assert describe_win_rate("dpo", "sft", lc["diff"], lc["low"], lc["high"], lc["win_rate"]) in document
    for heading in (
        "### Length control",
        "### Emotion fit (the mechanism)",
        "### The EPITOME scorer",
        "### Across training seeds",
        "Detectable difference",
    ):
        assert heading in document
