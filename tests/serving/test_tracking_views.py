"""What the MLflow UI shows: the experiment opens as model training, each variant run holds its replies as a table,
and DPO's evaluation steps log sample replies."""

from __future__ import annotations

import json

import mlflow
import pandas as pd

from empo_kedro.tracking.experiment import EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND, main, mark_model_training
from empo_kedro.tracking.reply_tables import REPLY_TABLE
from empo_kedro.tracking.variant_runs import log_variant_runs
from tests.serving.conftest import MODEL_PARAMS


def scored_replies() -> tuple[pd.DataFrame, pd.DataFrame]:
    prompts = pd.DataFrame(
        {
            "conv_id": ["c1", "c2"],
            "prompt": [
                [{"role": "system", "content": "S"}, {"role": "user", "content": "I failed."}],
                [{"role": "system", "content": "S"}, {"role": "user", "content": "I won!"}],
            ],
        }
    )
    rows = []
    for variant in ("base", "sft", "dpo"):
        for conv, context in (("c1", "I failed."), ("c2", "I won!")):
            rows.append(
                {
                    "conv_id": conv,
                    "emotion": "sad",
                    "context": context,
                    "reference": "Oh no.",
                    "response": f"{variant} says {conv}",
                    "variant": variant,
                    "level_ER": 1,
                    "level_IP": 0,
                    "level_EX": 2,
                    "diff_ER": 1.0,
                    "diff_IP": 0.0,
                    "diff_EX": 4.0,
                    "diff_mean": 5 / 3,
                    "bertscore_f1": 0.5,
                    "length_words": 3,
                }
            )
    return pd.DataFrame(rows), prompts


def test_each_variant_run_holds_its_replies_as_an_mlflow_table(mlflow_store):
    scores, prompts = scored_replies()
    table = scores.groupby("variant", sort=False)[["diff_mean", "bertscore_f1"]].mean()
    with mlflow.start_run():
        run_ids = log_variant_runs(table, {"backbone": "x"}, replies=scores, prompts=prompts)
    client = mlflow.MlflowClient()
    for variant, run_id in zip(("base", "sft", "dpo"), run_ids, strict=True):
        assert REPLY_TABLE in [a.path for a in client.list_artifacts(run_id)]
        logged = mlflow.load_table(REPLY_TABLE, run_ids=[run_id])
        assert logged["reply"].tolist() == [f"{variant} says c1", f"{variant} says c2"]
        assert logged["prompt"].tolist() == ["user: I failed.", "user: I won!"]
        assert {"context", "reference", "emotion", "level_ER", "diff_mean", "bertscore_f1"} <= set(logged.columns)


def test_the_experiment_is_marked_as_model_training_and_the_ui_url_is_printed(mlflow_store, capsys):
    experiment = mlflow.get_experiment_by_name("serving-test")
    mark_model_training(experiment.experiment_id)
    assert mlflow.get_experiment(experiment.experiment_id).tags[EXPERIMENT_KIND_TAG] == "custom_model_development"
    mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, "genai_development")
    mark_model_training(experiment.experiment_id)  # a kind chosen in the UI is kept
    assert mlflow.get_experiment(experiment.experiment_id).tags[EXPERIMENT_KIND_TAG] == "genai_development"
    main(["--name", "serving-test", "--port", "5123"])
    assert f"http://127.0.0.1:5123/#/experiments/{experiment.experiment_id}/runs" in capsys.readouterr().out
    assert MODEL_TRAINING_KIND == "custom_model_development"


def test_dpo_logs_sample_replies_at_each_evaluation(tiny_stack, mlflow_store, tmp_path):
    from empo_kedro.training.dpo import train_dpo
    from empo_kedro.training.modeling import load_adapted_model, load_tokenizer

    pairs = pd.DataFrame(
        [
            {
                "conv_id": f"c{i}",
                "split": split,
                "epoch": 0,
                "chosen": "I am so sorry.",
                "rejected": "Great!",
                "prompt": [{"role": "user", "content": f"My cat {i} died."}],
            }
            for i, split in enumerate(["train"] * 4 + ["valid"] * 3)
        ]
    )
    params = {
        "train_split": "train",
        "eval_split": "valid",
        "epochs": 1,
        "max_eval_pairs": None,
        "device": "cpu",
        "lora": {"r": 2, "alpha": 4},
        "sample_replies": {"n_prompts": 2, "generation": {"max_new_tokens": 3, "do_sample": False}},
        "training": {
            "max_steps": 2,
            "per_device_train_batch_size": 2,
            "eval_strategy": "steps",
            "eval_steps": 1,
            "logging_steps": 1,
            "save_strategy": "no",
            "max_length": 512,
            "bf16": False,
            "learning_rate": 1e-3,
        },
    }
    model = load_adapted_model(tiny_stack["base"], MODEL_PARAMS, merged_parents=[tiny_stack["sft"]])
    with mlflow.start_run() as run:
        train_dpo(model, load_tokenizer(tiny_stack["sft"]), pairs, params, 0, tmp_path / "out")
    client = mlflow.MlflowClient()
    steps = sorted(a.path for a in client.list_artifacts(run.info.run_id, "dpo_samples"))
    assert steps == ["dpo_samples/step_00001.json", "dpo_samples/step_00002.json"]
    table = json.loads(open(client.download_artifacts(run.info.run_id, steps[0], str(tmp_path))).read())
    assert table["columns"] == ["step", "prompt", "reply", "reference"] and len(table["data"]) == 2
