"""The `paper` environment (conf/paper): its parameters pass the pre-run checks, its pipelines resolve with a tiny
model substituted by runtime parameters, and its vLLM generation backend is refused cleanly where it cannot run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from empo_kedro.evaluation.vllm_generation import GenerationBackendError
from empo_kedro.run_checks import GENERATE_NODE, check_parameters
from tests.conftest import run_kedro
from tests.tiny_models import make_tiny_causal_lm

SAMPLE_ED = "data/01_raw/empatheticdialogues"
TRAINING_PIPELINES = ("data_engineering", "sft", "dpo")


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return make_tiny_causal_lm(tmp_path / "models")


def paper_session(project: Path, runtime_params: dict):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    return KedroSession.create(project_path=project, env="paper", runtime_params=runtime_params)


def parameters_read(pipeline) -> set[str]:
    """What the ParameterCheck hook checks for a pipeline (the same rule as run_checks.ParameterCheck)."""
    read = {name.removeprefix("params:") for name in pipeline.inputs() if name.startswith("params:")}
    if any(node.name == GENERATE_NODE for node in pipeline.nodes):
        read.add("evaluation.generation")
    return read


def test_paper_parameters_are_the_papers_and_pass_the_prerun_check(kedro_project: Path, tiny_dir: Path):
    from kedro.framework.project import pipelines

    runtime = {
        "base_model": {"name_or_path": str(tiny_dir)},
        "ed_dir": SAMPLE_ED,
        "evaluation": {"generation": {"backend": "transformers"}},
    }
    with paper_session(kedro_project, runtime) as session:
        context = session.load_context()
        params = context.params
        catalog = context.catalog
        for name in ("data_engineering", "sft", "dpo", "evaluation", "__default__"):
            check_parameters(parameters_read(pipelines[name]), params)  # raises on a bad value
    # The setting itself (numbers and sources in conf/paper/*.yml comments).
    assert params["base_model"]["source"] == "pretrained" and params["base_model"]["name_or_path"] == str(tiny_dir)
    assert params["base_model"]["dtype"] == "bfloat16"
    for stage in ("sft", "dpo"):
        assert params[stage]["lora"] == {"r": 1024, "alpha": 256, "dropout": 0.1, "target_modules": "all-linear"}
    assert params["dpo"]["training"]["beta"] == 0.052 and params["dpo"]["training"]["learning_rate"] == 1e-6
    assert params["dpo"]["epochs"] == params["data_engineering"]["preferences"]["n_epochs"] == 3
    assert params["evaluation"]["n_prompts"] is None and params["evaluation"]["split"] == "test"
    assert params["evaluation"]["retention"]["mmlu"]["tasks"] == ["mmlu"]  # the hub task, 5-shot, as the authors
    assert params["evaluation"]["retention"]["mmlu"]["num_fewshot"] == 5
    assert params["evaluation"]["retention"]["mmlu"]["offline_fallback"]["tasks"] == "local"
    assert params["ed_dir"] == SAMPLE_ED
    # The paper's models never replace the embedded default's caches.
    assert "paper" in str(catalog.get("base_model")._describe()["path"])


def test_paper_trainer_settings_build_trl_configs(kedro_project: Path, tiny_dir: Path, tmp_path: Path):
    from trl import DPOConfig, SFTConfig

    with paper_session(kedro_project, {"base_model": {"name_or_path": str(tiny_dir)}}) as session:
        params = session.load_context().params
    on_cpu = {"use_cpu": not torch.cuda.is_available()}  # as training/sft.py and dpo.py set it
    sft = SFTConfig(output_dir=str(tmp_path / "sft"), **params["sft"]["training"], **on_cpu)
    dpo = DPOConfig(output_dir=str(tmp_path / "dpo"), **params["dpo"]["training"], **on_cpu)
    assert sft.learning_rate == 1e-5 and sft.max_grad_norm == 0.3 and sft.activation_checkpointing
    assert dpo.beta == 0.052 and dpo.warmup_steps == 0.1 and dpo.lr_scheduler_type == "cosine"


def test_paper_pipelines_run_a_step_with_a_tiny_model(kedro_project: Path, tiny_dir: Path):
    """data_engineering -> sft -> dpo of the paper env on the sample data, the tiny model standing in for zephyr."""
    quick = {
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 4,
        "max_steps": 1,
        "activation_checkpointing": False,
        "dataloader_num_workers": 0,
        "bf16": False,
        "optim": "adamw_torch",
        "max_length": 1024,
    }  # the tiny byte-level tokenizer needs ~3x the tokens of zephyr's
    runtime = {
        "base_model": {"name_or_path": str(tiny_dir), "dtype": "float32", "device": "cpu"},
        "ed_dir": SAMPLE_ED,
        "sft": {"max_train_conversations": 8, "max_eval_conversations": 4, "training": quick},
        "dpo": {"max_train_prompts": 4, "max_eval_pairs": 4, "training": quick},
    }
    for pipeline in TRAINING_PIPELINES:
        run_kedro(kedro_project, pipeline=pipeline, env="paper", runtime_params=runtime)
    pairs = pd.read_parquet(kedro_project / "data" / "paper" / "03_primary" / "preference_pairs.parquet")
    assert sorted(pairs["epoch"].unique()) == [0, 1, 2]  # the paper's three draws of rejected turns
    models = kedro_project / "data" / "paper" / "06_models"  # the paper env's output root, its own base cache
    assert (models / "dpo" / "adapter_model.safetensors").is_file() and (models / "base" / "config.json").is_file()
    assert not (kedro_project / "data" / "06_models" / "base").exists()  # the shared SmolLM2 cache is untouched
    assert json.loads((models / "dpo" / "adapter_config.json").read_text())["r"] == 1024


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None and torch.cuda.is_available(),
    reason="vllm and a GPU are here: the backend can run",
)
def test_paper_evaluation_is_refused_before_anything_runs_without_vllm_or_a_gpu(kedro_project: Path, tiny_dir: Path):
    with pytest.raises(GenerationBackendError, match=r"backend is 'vllm' but (vllm is not installed|no CUDA GPU)"):
        run_kedro(
            kedro_project,
            pipeline="evaluation",
            env="paper",
            runtime_params={"base_model": {"name_or_path": str(tiny_dir)}, "ed_dir": SAMPLE_ED},
        )
    assert not (kedro_project / "data" / "paper" / "07_model_output" / "generations.parquet").exists()
