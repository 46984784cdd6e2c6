"""docs/results.md rendered from a hand-made sweep record: no MLflow store, no runs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from empo_kedro.reporting.results import render_markdown, trials_plot
from empo_kedro.tracking.sweep_results import SweepRecord

KEY_METRICS = ["diff_mean", "bertscore_f1", "kl_to_base"]
CI_METRICS = ["diff_mean", "bertscore_f1", "kl_to_base"]


def _record() -> SweepRecord:
    trials = pd.DataFrame(
        [
            {
                "index": 0,
                "role": "trial",
                "trial_id": "aaaa1111bbbb",
                "run_id": "run-t0",
                "strategy": "plutchik_basic",
                "dpo.training.beta": "0.1",
                "eval/diff_mean": 0.52,
                "eval/bertscore_f1": 0.71,
                "eval/kl_to_base": 0.020,
                "eval/changed_vs_sft": 0.4,
            },
            {
                "index": 1,
                "role": "trial",
                "trial_id": "cccc2222dddd",
                "run_id": "run-t1",
                "strategy": "plutchik_basic",
                "dpo.training.beta": "0.5",
                "eval/diff_mean": 0.48,
                "eval/bertscore_f1": 0.70,
                "eval/kl_to_base": 0.090,
                "eval/changed_vs_sft": 0.6,
            },
        ]
    )
    cis = pd.DataFrame(
        [
            {"contrast": "dpo-sft", "metric": "diff_mean", "diff": -0.05, "low": -0.09, "high": -0.01},
            {"contrast": "dpo-sft", "metric": "kl_to_base", "diff": 0.01, "low": -0.002, "high": 0.02},
            {"contrast": "dpo-dpo_random", "metric": "diff_mean", "diff": -0.01, "low": -0.04, "high": 0.02},
        ]
    )
    return SweepRecord(
        run_id="parent-run-42",
        experiment="empo_kedro",
        tracking_uri="sqlite:///nowhere.db",
        tags={
            "sweep.best_trial": "cccc2222dddd",
            "sweep.best_run_id": "run-t1",
            "sweep.best.dpo.training.beta": "0.5",
            "sweep.selection_metric": "eval/diff_mean",
            "sweep.selection_split": "valid",
            "env": "shared",
            "base_model": "smollm2-135m",
            "machine.cpu": "Test CPU",
            "sweep.final_split": "test",
        },
        metrics={
            "sweep/sft/diff_mean": 0.55,
            "sweep/sft/bertscore_f1": 0.705,
            "sweep/sft/kl_to_base": 0.0,
            "sweep/n_trials": 2,
            "sweep/trials_wall_s": 600.0,
        },
        params={"seed": "42", "sweep.method": "grid", "sweep.selection.guards.kl_to_base_max_increase": "0.05"},
        trials=trials,
        varied=["dpo.training.beta", "strategy"],
        final={
            "sft": {"diff_mean": 0.55, "bertscore_f1": 0.705, "kl_to_base": 0.0},
            "dpo": {"diff_mean": 0.50, "bertscore_f1": 0.70, "kl_to_base": 0.01},
            "dpo_random": {"diff_mean": 0.51, "bertscore_f1": 0.69, "kl_to_base": 0.012},
        },
        final_tags={"dpo": {"strategy": "plutchik_basic", "train_seed": "42"}, "dpo_random": {"strategy": "random"}},
        cis=cis,
        final_artifact={
            "n_prompts": 50,
            "samples": [
                {
                    "conv_id": "hit:1_conv:2",
                    "emotion": "sad",
                    "context": "My dog died.",
                    "reference": "I'm so sorry.",
                    "replies": {"sft": "Oh no.", "dpo": "I'm so sorry | that hurts."},
                    "diff_mean": {"sft": 1.0, "dpo": 0.0},
                },
            ],
        },
        start_time_ms=1_000_000,
        end_time_ms=1_120_000,
    )


@pytest.fixture
def markdown() -> str:
    return render_markdown(_record(), "plot.png", n_samples=3, key_metrics=KEY_METRICS, ci_metrics=CI_METRICS)


def test_document_names_the_run_and_the_chosen_trial(markdown):
    assert "MLflow sweep run `parent-run-42` (experiment `empo_kedro`)" in markdown
    assert "Chosen: trial `cccc2222dddd` (MLflow run `run-t1`): `dpo.training.beta` = 0.5." in markdown
    assert "| 1 | trial | `cccc2222` **(best)** | 0.5 | plutchik_basic | 0.4800 | 0.7000 | 0.0900 |" in markdown
    assert "the last session took 2.0 min" in markdown and "trials 10.0 min" in markdown


def test_guards_are_recomputed_from_the_record(markdown):
    assert "KL to the base at most 0.05 nats/token above SFT's" in markdown
    trial_rows = [line for line in markdown.splitlines() if line.startswith("| 0 | trial") or line.startswith("| 1 |")]
    assert trial_rows[0].endswith("| ok |") and not trial_rows[1].endswith("| ok |")  # KL 0.09 > 0.0 + 0.05


def test_sentences_follow_the_cis(markdown):
    assert "DPO better than SFT on mean diff-EPITOME, CI excluding 0: **met**" in markdown
    assert "dpo - sft mean diff-EPITOME = -0.0500 [-0.0900, -0.0100]: dpo is better" in markdown
    assert "dpo - sft KL to base (nats/token) = 0.0100 [-0.0020, 0.0200]: no detectable difference" in markdown
    assert "MMLU accuracy no worse than SFT's: **not measured**" in markdown
    assert "no detectable difference between the two choices of rejected turns" in markdown


def test_final_table_and_samples(markdown):
    assert "| dpo | plutchik_basic | 42 | 0.5000 | 0.7000 | 0.0100 |" in markdown
    assert "| dpo_random | random | - | 0.5100 | 0.6900 | 0.0120 |" in markdown
    assert "**hit:1_conv:2** (sad). Speaker: My dog died." in markdown
    assert "| dpo | I'm so sorry \\| that hurts. | 0.00 |" in markdown  # a | inside a cell is escaped


def test_plot_from_the_record():
    figure = trials_plot(_record())
    assert isinstance(figure, plt.Figure) and figure.axes
    plt.close(figure)


def _checked_record() -> SweepRecord:
    """The record with length / seed checks, seed summaries, emotion fit and scorer figures (hand-made CIs)."""
    record = _record()
    record.checks = pd.DataFrame(
        [
            {"kind": "seeds", "contrast": "dpo-sft", "metric": "diff_mean", "diff": -0.04, "low": -0.08, "high": 0.01},
            {
                "kind": "length_adjusted",
                "contrast": "dpo-sft",
                "metric": "diff_mean",
                "diff": -0.03,
                "low": -0.05,
                "high": -0.01,
                "raw_diff": -0.05,
            },
            {
                "kind": "lc_win_rate",
                "contrast": "dpo-sft",
                "metric": "diff_mean",
                "diff": 0.58,
                "low": 0.52,
                "high": 0.66,
                "win_rate": 0.61,
            },
            {
                "kind": "seeds",
                "contrast": "dpo-dpo_random",
                "metric": "emotion_p_opposite",
                "diff": -0.02,
                "low": -0.03,
                "high": -0.005,
            },
            {
                "kind": "seeds",
                "contrast": "dpo-dpo_random",
                "metric": "diff_mean",
                "diff": -0.01,
                "low": -0.07,
                "high": 0.05,
            },
        ]
    )
    record.metrics.update(
        {
            "seeds/dpo/n": 3,
            "seeds/dpo/diff_mean/mean": 0.5,
            "seeds/dpo/diff_mean/sd": 0.02,
            "emotion_classifier/top1_accuracy": 0.17,
            "emotion_classifier/top3_accuracy": 0.33,
            "scorer/IP/accuracy": 0.8,
            "scorer/IP/macro_f1": 0.55,
            "scorer/IP/macro_f1_low": 0.5,
            "scorer/IP/macro_f1_high": 0.6,
            "scorer/IP/mean_level_bias": -0.05,
            "scorer/IP/published_accuracy": 0.84,
            "scorer/IP/published_macro_f1": 0.626,
        }
    )
    record.final["reference"] = {"emotion_p_opposite": 0.02}
    record.final["dpo"]["emotion_p_opposite"] = 0.03
    return record


def test_check_sentences_follow_their_cis():
    markdown = render_markdown(
        _checked_record(), "plot.png", n_samples=1, key_metrics=KEY_METRICS, ci_metrics=CI_METRICS
    )
    assert (
        "Pooled over 3 training seed(s) (prompts and seeds resampled): dpo - sft mean diff-EPITOME = -0.0400 "
        "[-0.0800, 0.0100]: no detectable difference." in markdown
    )
    assert "dpo - sft mean diff-EPITOME = -0.0300 [-0.0500, -0.0100]: dpo is better." in markdown
    assert (
        "length-controlled win rate of dpo over sft = 0.580 [0.520, 0.660] (raw 0.610): dpo is better at equal "
        "length" in markdown
    )
    assert "yes, DPO(plutchik) puts less mass on the opposite emotion than DPO(random)" in markdown
    assert "has a half-width of 0.0600" in markdown
    assert "| mean diff-EPITOME | 0.5000 ± 0.0200 |" in markdown
    assert "| IP | 0.800 | 0.550 | [0.500, 0.600] | -0.050 | 0.840 | 0.626 |" in markdown
    assert "held-out top-1 accuracy 0.170, top-3 0.330" in markdown
