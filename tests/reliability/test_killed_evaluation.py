"""The evaluation killed after some variants replied: the rerun reuses their cached replies, generates only the
missing variants, and gives the same comparison numbers as an evaluation run in one go. On the tiny local base
model: what is reused does not depend on the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import yaml

from empo_kedro.evaluation.generation import GENERATION_CACHE_KIND
from tests.conftest import run_kedro
from tests.pipelines.test_resume_and_multiprocess import DPO_QUICK, SFT_QUICK, Recorded, kill_kedro_run_once_cached

DPO = {**DPO_QUICK, "training": {**DPO_QUICK["training"], "max_steps": 2}}
# A short evaluation: a few prompts and tokens, a small bootstrap, one scorer epoch, three MMLU questions.
EVALUATION = {
    "evaluation": {
        "n_prompts": 6,
        "generation": {"max_new_tokens": 12},
        "bootstrap": {"n_resamples": 200},
        "robustness": {"n_resamples": 100, "lc_n_resamples": 20},
        "epitome": {"scorer": {"epochs": 1}},
        "retention": {"mmlu": {"limit": 3}, "kl": {"n_texts": 4}},
    }
}
VARIANTS = ("base", "sft", "dpo", "sft_len")  # each one's replies cached on its own
TIMEOUT_S = 600


def comparison(project: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    reporting = project / "data" / "08_reporting"
    return pd.read_csv(reporting / "comparison.csv"), pd.read_csv(reporting / "comparison_ci.csv")


def test_evaluation_killed_after_generating_reuses_the_cached_replies(kedro_project_with_tiny_base: Path):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="data_engineering")
    run_kedro(project, pipeline="sft", runtime_params={"sft": SFT_QUICK})
    run_kedro(project, pipeline="dpo", runtime_params={"dpo": DPO})
    # The same parameters for the killed subprocess and the in-process reruns: the default run environment.
    (project / "conf" / "local" / "parameters_evaluation.yml").write_text(yaml.safe_dump(EVALUATION))
    cache = project / "data" / "07_model_output" / "generation_cache"
    generations = cache / GENERATION_CACHE_KIND

    # Killed as soon as a first variant has replied (a fraction of a second on the tiny model).
    kill_kedro_run_once_cached(project, "evaluation", generations, n_files=1, timeout_s=TIMEOUT_S)
    done_before_kill = {json.loads(path.read_text())["variant"] for path in generations.glob("*.json")}
    assert 1 <= len(done_before_kill) < len(VARIANTS), done_before_kill
    assert not (project / "data" / "08_reporting" / "comparison.csv").exists()

    with Recorded("empo_kedro.evaluation") as log:
        run_kedro(project, pipeline="evaluation")
    reused = {m.split()[2] for m in log.messages if "already generated, reusing them" in m}  # "Replies of <variant>"
    assert reused == done_before_kill, log.messages
    assert {json.loads(path.read_text())["variant"] for path in generations.glob("*.json")} == set(VARIANTS)
    resumed_table, resumed_ci = comparison(project)
    resumed_replies = pd.read_parquet(project / "data" / "07_model_output" / "generations.parquet")

    # The same evaluation in one go, nothing cached.
    shutil.rmtree(cache)
    run_kedro(project, pipeline="evaluation")
    in_one_go_table, in_one_go_ci = comparison(project)
    pd.testing.assert_frame_equal(resumed_table, in_one_go_table)
    pd.testing.assert_frame_equal(resumed_ci, in_one_go_ci)
    in_one_go_replies = pd.read_parquet(project / "data" / "07_model_output" / "generations.parquet")
    pd.testing.assert_frame_equal(resumed_replies, in_one_go_replies)
