"""The speed benchmark runs end to end (``--quick`` on a tiny model and the sample ED data); no timing asserted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.tiny_models import make_tiny_causal_lm

REPO = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("training_speed", REPO / "benchmarks" / "training_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_benchmark_reports_every_path_and_the_equal_training_check(tmp_path):
    benchmark = load_benchmark()
    model_dir = make_tiny_causal_lm(tmp_path / "tiny")
    sample_ed = REPO / "data" / "01_raw" / "empatheticdialogues"
    result = benchmark.main(
        [
            "--quick",
            "--no-mlflow",
            "--ed-dir",
            str(sample_ed),
            "--model-dir",
            str(model_dir),
            "--out-dir",
            str(tmp_path / "out"),
            "--peak-size",
            "256",
        ]
    )
    written = json.loads((tmp_path / "out" / "training_speed_quick.json").read_text())
    paths = written["dpo"]["paths"]
    assert set(paths) == {
        "default",
        "best_stock",
        "best_stock_precompute",
        "project",
        "best_stock_fp32",
        "project_fp32",
    }
    assert written["dpo"]["best_stock_variant"] in ("best_stock", "best_stock_precompute")
    for key in ("dpo_speedup_vs_best_stock", "dpo_speedup_vs_default", "peak_rss_project_over_best_stock"):
        assert written[key] > 0
    for path in paths.values():
        assert path["step_s_min"] <= path["step_s_median"] <= path["step_s_max"] and path["timed_steps"] == 7
        assert path["precision"]["autocast"] in ("bf16", "fp32") and path["peak_rss_mib"] > 0
    assert paths["default"]["gradient_checkpointing"] and not paths["best_stock"]["gradient_checkpointing"]
    assert paths["project"]["prompt_sharing"] and paths["project"]["reference_cache"]
    # fewer FLOPs credited to the project: prompts once, only completion positions scored
    assert paths["project"]["flops_per_pair"] < paths["best_stock"]["flops_per_pair"]
    equal = written["dpo"]["equal_training"]
    assert equal["steps"] == 8 and equal["lora_relative_gap"] >= 0
    assert result["dpo"]["equal_training"] == equal
    exact = written["dpo"]["equal_training_fp32"]  # fp32: the project's step is stock's step, up to rounding
    assert exact["within_tolerance"] and exact["max_abs_loss_gap_per_step"] < 1e-4, exact
    assert written["dpo"]["bf16_noise_stock_vs_its_fp32"]["steps"] == 8


def test_dpo_profile_lists_the_top_operators_of_the_profiled_steps_only(tmp_path):
    spec = importlib.util.spec_from_file_location("profile_dpo", REPO / "benchmarks" / "profile_dpo.py")
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    out = tmp_path / "profile.json"
    args = ["--ed-dir", str(REPO / "data" / "01_raw" / "empatheticdialogues"), "--pairs", "16", "--warmup", "1"]
    args += ["--steps", "2", "--top", "5", "--model-dir", str(make_tiny_causal_lm(tmp_path / "tiny"))]
    result = profile.main([*args, "--out", str(out), "--no-mlflow"])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    rows = result["top_operators"]
    shares = [row["share"] for row in rows]
    assert len(rows) == 5 and shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1
    assert any(row["op"] in ("aten::mm", "aten::addmm", "aten::bmm") for row in rows), rows  # matmuls dominate
    assert result["profiled_self_cpu_s"] > 0 and result["settings"]["steps"] == 2

    # The profiler covers exactly steps warmup+1 .. warmup+steps (Trainer: global_step counts finished steps).
    assert result["profiled_steps"] == [2, 3]
