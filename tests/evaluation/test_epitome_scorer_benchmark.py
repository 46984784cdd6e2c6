"""benchmarks/epitome_scorer.py compares variants side by side in one run (tiny random encoder, tiny EPITOME files;
no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from empo_kedro.evaluation.epitome.report import PUBLISHED_EPITOME

from .conftest import make_rows

REPO = Path(__file__).resolve().parents[2]
TINY = "max_length=32,max_seeker_tokens=12,batch_size=8,eval_batch_size=16,bf16=false,device=cpu,num_threads=1"


def load_benchmark():
    path = REPO / "benchmarks" / "epitome_scorer.py"
    spec = importlib.util.spec_from_file_location("epitome_scorer_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_epitome_dir(tmp_path, write_epitome_csv, epitome_files):
    """36 pairs (9 seeker posts x 4 replies), every level present in every mechanism."""
    ids = [f"s{s}_r{s}{r}" for s in range(9) for r in range(4)]
    rng = np.random.default_rng(0)
    for name in epitome_files.values():
        levels = [int(v) for v in rng.integers(0, 3, len(ids))]
        rationales = ["I am sorry|" if level else "" for level in levels]
        write_epitome_csv(tmp_path / "epitome" / name, make_rows(ids, levels, rationales))
    return tmp_path / "epitome"


def test_parse_variant_keeps_lists_and_names_bad_syntax():
    benchmark = load_benchmark()
    assert benchmark.parse_variant("grid:logit_bias_grid=[0.0, 1.0],epochs=2,pooling=cls") == (
        "grid",
        {"logit_bias_grid": [0.0, 1.0], "epochs": 2, "pooling": "cls"},
    )
    assert benchmark.parse_variant("default:") == ("default", {})
    with pytest.raises(benchmark.VariantError, match="is not key=value"):
        benchmark.parse_variant("x:epochs")
    with pytest.raises(benchmark.VariantError, match=r"variant 'typo'.*learning_rat"):
        benchmark.check_variants({"typo": {"learning_rat": 1e-3}})
    with pytest.raises(benchmark.VariantError, match="ensemble_seeds must be an integer >= 1"):
        benchmark.check_variants({"e": {"ensemble_seeds": 0}})


def test_variants_file_then_flags_in_order_and_a_repeated_name_is_an_error(tmp_path):
    benchmark = load_benchmark()
    variants_file = tmp_path / "variants.yml"
    variants_file.write_text("weighted: {class_weight_power: 1.0}\nplain:\n")
    variants = benchmark.read_variants(["cls:pooling=cls"], variants_file)
    assert variants == {"weighted": {"class_weight_power": 1.0}, "plain": {}, "cls": {"pooling": "cls"}}
    assert benchmark.read_variants([], None) == {"default": {}}
    with pytest.raises(benchmark.VariantError, match="'plain' given twice"):
        benchmark.read_variants(["plain:epochs=2"], variants_file)


def test_ensemble_averages_the_members_probabilities():
    benchmark = load_benchmark()

    class FixedScorer:
        def __init__(self, rows):
            self.rows = np.array(rows, dtype=np.float32)

        def predict_proba(self, seekers, responses, apply_logit_bias=True):
            return {"ER": self.rows}

    frame = pd.DataFrame({"seeker_post": ["a", "b"], "response_post": ["c", "d"], "level_ER": [1, 0]})
    a = FixedScorer([[0.6, 0.4, 0.0], [0.1, 0.1, 0.8]])
    b = FixedScorer([[0.0, 0.9, 0.1], [0.5, 0.0, 0.5]])
    np.testing.assert_allclose(benchmark.ensemble_proba([a, b], frame)["ER"], [[0.3, 0.65, 0.05], [0.3, 0.05, 0.65]])
    # member a alone: levels (0, 2) -> 0 of 2 right; the average: (1, 2) -> 1 of 2 right.
    assert benchmark.evaluate_members([a], frame)["ER"]["accuracy"] == 0.0
    assert benchmark.evaluate_members([a, b], frame)["ER"]["accuracy"] == 0.5


def benchmark_args(data: Path, encoder: Path, out: Path, *variants: str) -> list[str]:
    args = ["--data", str(data), "--encoder", str(encoder), "--threads", "1", "--seed", "5", "--set", TINY]
    for variant in variants:
        args += ["--variant", variant]
    return [*args, "--out", str(out)]


def test_two_variants_run_on_one_split_and_are_written_side_by_side(
    tmp_path, tiny_epitome_dir, tiny_encoder_dir, monkeypatch
):
    benchmark = load_benchmark()
    out = tmp_path / "bench.json"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    variants = ("mean:epochs=1", "cls_ensemble:epochs=1,pooling=cls,ensemble_seeds=2")
    result = benchmark.main(benchmark_args(tiny_epitome_dir, tiny_encoder_dir, out, *variants))
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(result))
    assert list(written["variants"]) == ["mean", "cls_ensemble"]
    n_test = written["split"]["test"]
    assert n_test > 0 and written["split"]["train"] + written["split"]["val"] + n_test == 36
    assert written["published"] == PUBLISHED_EPITOME and written["machine"]["cpu"]
    for variant in written["variants"].values():
        assert set(variant["test"]) == {"ER", "IP", "EX"}
        assert variant["train_wall_seconds"] >= 0 and variant["encoder"] == str(tiny_encoder_dir)
        for m, confusion in variant["test_confusion"].items():
            assert sum(map(sum, confusion)) == n_test == variant["test"][m]["n"]
    assert written["variants"]["mean"]["params"]["pooling"] == "mean"
    ensemble = written["variants"]["cls_ensemble"]
    assert ensemble["params"]["pooling"] == "cls" and ensemble["params"]["max_length"] == 32
    assert ensemble["seeds"] == [5, 6] and [m["seed"] for m in ensemble["members"]] == [5, 6]
    assert written["variants"]["mean"]["seeds"] == [5]
    ranking = written["ranking_by_val_macro_f1_mean"]
    assert sorted(ranking) == ["cls_ensemble", "mean"]
    val_means = [written["variants"][name]["val_macro_f1_mean"] for name in ranking]
    assert val_means == sorted(val_means, reverse=True)

    # The result is logged to MLflow's `benchmarks` experiment: every number a metric, the JSON an artifact.
    client = mlflow.MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("benchmarks").experiment_id])
    assert run.data.metrics["variants.mean.test.ER.macro_f1"] == written["variants"]["mean"]["test"]["ER"]["macro_f1"]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["bench.json"]

    # --resume reuses a variant that trained the same settings (seed, data), however it is named or written, and
    # trains a changed one again.
    rerun = (variants[1], "mean:epochs=2", "mean_written_out:epochs=1,pooling=mean")
    resume = ["--resume", "--no-mlflow"]
    same_data_spelt_otherwise = tiny_epitome_dir / ".." / tiny_epitome_dir.name
    again = benchmark.main([*benchmark_args(same_data_spelt_otherwise, tiny_encoder_dir, out, *rerun), *resume])
    assert again["variants"]["cls_ensemble"] == written["variants"]["cls_ensemble"]  # wall time too: not retrained
    assert again["variants"]["mean"]["params"]["epochs"] == 2
    assert list(again["variants"]) == ["cls_ensemble", "mean", "mean_written_out"]
    reused = again["variants"]["mean_written_out"]
    assert {"epochs": 1, "pooling": "mean"}.items() <= reused["overrides"].items()  # as this run wrote it
    assert {k: v for k, v in reused.items() if k != "overrides"} == {
        k: v for k, v in written["variants"]["mean"].items() if k != "overrides"
    }
