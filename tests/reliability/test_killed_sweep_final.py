"""A sweep killed during its final comparison: the rerun reuses the trials, the SFT reference and every variant's
finished generations, and gives the same comparison numbers as a final comparison run in one go. On the tiny local
base model: what is reused does not depend on the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from empo_kedro.evaluation.generation import GENERATION_CACHE_KIND
from tests.conftest import run_kedro
from tests.pipelines.test_resume_and_multiprocess import Recorded, kill_kedro_run_once_cached
from tests.pipelines.test_sweep_pipeline import SETUP, SWEEP

# The sweep of test_sweep_pipeline, with a smaller final comparison (no MMLU) to keep this test short.
KILLED_SWEEP = {
    **SWEEP,
    "sweep": {**SWEEP["sweep"], "final": {"n_prompts": 4, "n_samples": 2, "mmlu": False, "kl_n_texts": 2}},
}
TIMEOUT_S = 600


def test_sweep_killed_in_its_final_comparison_reuses_every_finished_piece(kedro_project_with_tiny_base: Path):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="sweep_setup", runtime_params=SETUP)
    # The same parameters for the killed subprocess and the in-process reruns: the default run environment.
    (project / "conf" / "local" / "parameters_sweep.yml").write_text(yaml.safe_dump(KILLED_SWEEP))
    store = project / "data" / "06_models" / "sweep"
    generations = store / GENERATION_CACHE_KIND

    # Killed as soon as base and SFT have replied on the test split.
    kill_kedro_run_once_cached(project, "sweep", generations, n_files=2, timeout_s=TIMEOUT_S)
    done_before_kill = sorted(path.name for path in generations.glob("*.json"))
    assert len(done_before_kill) < 4 and not list((store / "final").glob("*.json"))

    with Recorded("empo_kedro.sweep.trials") as trials_log, Recorded("empo_kedro.evaluation.generation") as gen_log:
        run_kedro(project, pipeline="sweep")
    assert sum("already done, reusing it" in m for m in trials_log.messages) == 3, trials_log.messages  # + ablation
    assert any("SFT reference on 'valid' already scored, reusing" in m for m in trials_log.messages)
    assert not any(m.startswith("Sweep: training") for m in trials_log.messages)
    reused = [m for m in gen_log.messages if "already generated, reusing them" in m]
    assert len(reused) == len(done_before_kill), gen_log.messages
    resumed = json.loads((project / "data" / "08_reporting" / "sweep_final.json").read_text())

    # The same final comparison in one go (trials reused, nothing of the final cached).
    shutil.rmtree(generations)
    shutil.rmtree(store / "final")
    run_kedro(project, pipeline="sweep")
    in_one_go = json.loads((project / "data" / "08_reporting" / "sweep_final.json").read_text())
    assert not in_one_go["reused"]
    assert resumed["table"] == in_one_go["table"] and resumed["cis"] == in_one_go["cis"]
    assert resumed["samples"] == in_one_go["samples"]
