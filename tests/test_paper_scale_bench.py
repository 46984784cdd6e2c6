"""benchmarks/paper_scale.py (make bench-gpu): the CPU smoke test of its plumbing (--tiny), its refusal without a
GPU, and its arithmetic: the LoRA and base parameter counts of zephyr-7b that the README's memory estimate uses."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("paper_scale", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_measures_dpo_and_generation_and_writes_json(bench, tmp_path: Path):
    assert bench.main(["--tiny", "--steps", "1", "--warmup", "1", "--out-dir", str(tmp_path), "--label", "smoke"]) == 0
    report = json.loads((tmp_path / "paper_scale_smoke_tiny.json").read_text())
    dpo, generation = report["dpo"], report["generation"]
    assert dpo["status"] == "ok" and len(dpo["step_times_s"]) == 2 and dpo["tokens_per_s"] > 0
    assert dpo["trainable_parameters"] == report["model"]["lora_parameters"]  # the arithmetic is PEFT's count
    assert dpo["beta"] == 0.052 and dpo["lora"]["dropout"] == 0.1  # conf/paper's settings
    assert dpo["mfu"] is None and report["device"] == "cpu"  # no bf16 peak known for a CPU
    assert generation["transformers"]["new_tokens_per_s"] > 0
    if not torch.cuda.is_available():
        assert generation["vllm"] == {"status": "skipped", "reason": "no CUDA"}


def test_refuses_without_a_gpu_unless_tiny(bench, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(bench.torch.cuda, "is_available", lambda: False)
    assert bench.main(["--out-dir", str(tmp_path)]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_zephyr_7b_parameter_counts_match_the_model_and_peft(bench):
    from peft import LoraConfig, get_peft_model
    from transformers import MistralForCausalLM

    config = bench.mistral_config(tiny=False)
    with torch.device("meta"):  # shapes only, no memory
        model = MistralForCausalLM(config)
        base = sum(p.numel() for p in model.parameters())
        lora = get_peft_model(model, LoraConfig(r=1024, lora_alpha=256, target_modules="all-linear"))
        trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    assert bench.parameter_counts(config)["total"] == base == 7_241_732_096
    assert bench.lora_parameter_count(config, 1024) == trainable == 2_684_354_560
    assert bench.memory_estimate_gib(config, 1024)["static_total"] == pytest.approx(53.49, abs=0.01)
    assert bench.bf16_peak_tflops("NVIDIA H100 PCIe") == 756.0 and bench.bf16_peak_tflops("NVIDIA H200") == 989.4
