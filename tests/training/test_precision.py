"""Precision `auto`: bf16 where the hardware computes it natively, fp32 elsewhere; explicit values win."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from empo_kedro.training import precision
from empo_kedro.training.config import TrainingConfigError
from empo_kedro.training.precision import (
    FORCE_ENV,
    bf16_support,
    resolve_bf16_flag,
    resolve_dtype_switch,
    resolve_training_block,
    resolved_precision,
    validate_precision_switches,
)
from empo_kedro.training.speed import frozen_dtype_of
from tests.conftest import REPO_ROOT, run_kedro


def shipped_parameters() -> dict:
    """The parameters as shipped in conf/base (one dict, as Kedro merges the files)."""
    params: dict = {}
    for path in sorted((REPO_ROOT / "conf" / "base").glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()) or {})
    return params


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch):
    """Force the probe's answer: ``native(True)`` / ``native(False)``."""

    def force(value: bool) -> None:
        monkeypatch.setenv(FORCE_ENV, "1" if value else "0")
        bf16_support.cache_clear()

    yield force
    bf16_support.cache_clear()


def test_every_shipped_switch_is_auto() -> None:
    resolved = resolved_precision(shipped_parameters())
    assert {key for key in resolved if key.startswith("resolved.") and key.count(".") > 1} == {
        f"resolved.{path}" for path, _ in precision.PRECISION_SWITCHES
    }


def test_no_native_bf16_resolves_every_switch_to_fp32(native) -> None:
    native(False)
    resolved = resolved_precision(shipped_parameters())
    assert resolved["resolved.bf16_native"] is False
    for path, kind in precision.PRECISION_SWITCHES:
        assert resolved[f"resolved.{path}"] == ("float32" if kind == "dtype" else False), path


def test_native_bf16_resolves_every_switch_to_bf16(native) -> None:
    native(True)
    resolved = resolved_precision(shipped_parameters())
    assert resolved["resolved.bf16_native"] is True
    for path, kind in precision.PRECISION_SWITCHES:
        assert resolved[f"resolved.{path}"] == ("bfloat16" if kind == "dtype" else True), path


def test_explicit_values_win_over_the_probe(native) -> None:
    native(True)
    assert resolve_dtype_switch(None, "cpu") is None
    assert resolve_bf16_flag(False, "cpu") is False
    native(False)
    assert resolve_dtype_switch("bfloat16", "cpu") == "bfloat16"
    assert resolve_bf16_flag(True, "cpu") is True


def test_training_paths_follow_the_resolution(native) -> None:
    native(False)
    assert frozen_dtype_of({"speed": {"frozen_weights_dtype": "auto"}, "device": "cpu"}) is None
    assert resolve_training_block({"bf16": "auto", "beta": 0.1}, "cpu") == {"bf16": False, "beta": 0.1}
    native(True)
    assert frozen_dtype_of({"speed": {"frozen_weights_dtype": "auto"}, "device": "cpu"}) == torch.bfloat16
    assert resolve_training_block({"bf16": "auto"}, "cpu") == {"bf16": True}


def test_cpu_probe_needs_the_flag_and_a_fast_bf16_matmul(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORCE_ENV, raising=False)
    measured = []
    monkeypatch.setattr(precision, "matmul_speed_ratio", lambda device: measured.append(device) or ratio)
    try:
        monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: [])
        ratio = 2.0
        bf16_support.cache_clear()
        assert not bf16_support("cpu").native and measured == []  # no flag: emulated, no probe needed
        monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ["AVX512-BF16"])
        ratio = 0.05  # the flag is there but torch's kernels emulate bf16 (as on an AVX2-only oneDNN build)
        bf16_support.cache_clear()
        support = bf16_support("cpu")
        assert not support.native and "0.05x" in support.reason
        ratio = 2.0
        bf16_support.cache_clear()
        assert bf16_support("cpu").native
    finally:
        bf16_support.cache_clear()


def test_probe_compares_the_fastest_matmuls_so_a_busy_machine_does_not_flip_it(monkeypatch) -> None:
    """Another job slowing some matmuls must not make native bf16 look emulated: the probe keeps each dtype's best."""
    # Alternating fp32, bf16 per round: bf16 hit by load in rounds 2-3 (mean 6.8 s vs fp32's 2.3 s: 0.34x).
    durations = iter([5.0, 0.5, 1.0, 10.0, 1.0, 10.0])
    monkeypatch.setattr(precision, "_matmul_seconds", lambda a, b: next(durations))
    assert precision.matmul_speed_ratio("cpu", size=8, seconds=0.0) == pytest.approx(2.0)  # best 1.0 / best 0.5
    # A first round that is clearly emulated stops the probe: the rest would cost ~0.5 s per bf16 matmul.
    durations = iter([0.01, 0.5])
    assert precision.matmul_speed_ratio("cpu", size=8, seconds=10.0) == pytest.approx(0.02)


def test_the_real_probe_measures_both_dtypes() -> None:
    ratio = precision.matmul_speed_ratio("cpu", size=64, seconds=0.01)
    assert ratio > 0


def test_a_bad_switch_value_is_named() -> None:
    params = shipped_parameters()
    params["dpo"]["training"]["bf16"] = "yes"
    with pytest.raises(TrainingConfigError, match=r"dpo\.training\.bf16 must be one of"):
        validate_precision_switches(params, {"dpo"})
    validate_precision_switches(params, {"sft"})  # only the blocks a pipeline reads are checked


def test_the_run_records_the_resolved_precision(kedro_project: Path, native) -> None:
    """The MLflow run of a pipeline holds what every switch resolved to, --params included."""
    import mlflow

    native(False)
    run_kedro(kedro_project, "data_engineering", runtime_params={"dpo": {"training": {"bf16": True}}})
    runs = mlflow.search_runs(experiment_names=["empo_kedro"], output_format="list")
    params = runs[0].data.params
    assert params["resolved.bf16_native"] == "False"
    assert params["resolved.sft.training.bf16"] == "False"
    assert params["resolved.base_model.eval_autocast"] == "float32"
    assert params["resolved.dpo.training.bf16"] == "True"  # an explicit --params value wins
