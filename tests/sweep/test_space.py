"""Sweep space expansion, trial ids, selection with guards, and the sentences the results document derives."""

from __future__ import annotations

import pytest

from empo_kedro.reporting.results import describe_difference
from empo_kedro.sweep.space import (
    SweepConfigError,
    ablation_spec,
    expand_space,
    plan_trials,
    select_best,
    trial_dpo_params,
    trial_id,
)

DPO = {
    "epochs": 2,
    "max_train_prompts": None,
    "output_dir": "x",
    "lora": {"r": 64, "alpha": 16},
    "training": {"beta": 0.05, "learning_rate": 2e-4, "logging_steps": 1, "loss_type": ["sigmoid"]},
}
SWEEP = {
    "method": "grid",
    "space": {"dpo.training.beta": [0.1, 0.5], "strategy": ["plutchik_extended", "random"]},
    "fixed": {"dpo.training.max_steps": 3},
    "selection": {"split": "valid"},
    "final": {"split": "test", "ablation_strategy": "random", "ablation_counterpart": "plutchik_extended"},
}
LINEAGE = {"base_model": "abc", "parent_adapters": ["def"]}


def test_grid_is_every_combination_with_the_first_key_slowest():
    trials = expand_space({"dpo.x": [1, 2], "dpo.y": ["p", "q", "r"]}, "grid", None, 0)
    assert trials == [
        {"dpo.x": 1, "dpo.y": "p"},
        {"dpo.x": 1, "dpo.y": "q"},
        {"dpo.x": 1, "dpo.y": "r"},
        {"dpo.x": 2, "dpo.y": "p"},
        {"dpo.x": 2, "dpo.y": "q"},
        {"dpo.x": 2, "dpo.y": "r"},
    ]


def test_nested_and_dotted_keys_are_the_same_setting():
    nested = {"dpo": {"training": {"beta": [0.1, 0.2]}}, "strategy": ["random"]}
    assert expand_space(nested, "grid", None, 0) == expand_space(
        {"dpo.training.beta": [0.1, 0.2], "strategy": ["random"]}, "grid", None, 0
    )
    ranged = expand_space({"dpo": {"training": {"beta": {"uniform": [0.1, 0.2]}}}}, "random", 1, 0)
    assert list(ranged[0]) == ["dpo.training.beta"]
    plan = plan_trials(
        {**SWEEP, "fixed": {"dpo": {"training": {"max_steps": 4}, "lora": {"r": None}}, "dpo.epochs": 1}},
        DPO,
        "random",
        0,
    )
    assert plan[0]["fixed"] == {"dpo.training.max_steps": 4, "dpo.epochs": 1}  # null: not fixed
    with pytest.raises(SweepConfigError, match="'dpo.training.beta' is given twice"):
        expand_space({"dpo.training.beta": [0.1], "dpo": {"training": {"beta": [0.2]}}}, "grid", None, 0)


def test_random_search_is_seeded_distinct_and_keeps_earlier_trials_when_extended():
    space = {"dpo.x": [1, 2, 3], "dpo.y": ["p", "q"]}
    four = expand_space(space, "random", 4, seed=7)
    assert four == expand_space(space, "random", 4, seed=7)
    assert expand_space(space, "random", 5, seed=7)[:4] == four
    assert len({tuple(t.items()) for t in four}) == 4
    grid = expand_space(space, "grid", None, 0)
    assert all(t in grid for t in four)
    assert sorted(map(str, expand_space(space, "random", 99, seed=7))) == sorted(map(str, grid))  # capped


def test_random_ranges_are_drawn_within_bounds_at_three_significant_digits():
    trials = expand_space(
        {"dpo.training.learning_rate": {"log_uniform": [1e-5, 1e-3]}, "dpo.training.beta": {"uniform": [0.01, 0.5]}},
        "random",
        6,
        seed=1,
    )
    assert len(trials) == 6
    assert all(
        1e-5 <= t["dpo.training.learning_rate"] <= 1e-3 and 0.01 <= t["dpo.training.beta"] <= 0.5 for t in trials
    )
    assert all(float(f"{t['dpo.training.learning_rate']:.2e}") == t["dpo.training.learning_rate"] for t in trials)
    assert expand_space({"dpo.training.beta": {"uniform": [0.01, 0.5]}}, "random", 3, 1)[:2] == expand_space(
        {"dpo.training.beta": {"uniform": [0.01, 0.5]}}, "random", 2, 1
    )


@pytest.mark.parametrize(
    ("space", "method", "message"),
    [
        ({"beta": [0.1]}, "grid", "neither 'strategy' nor a dpo parameter"),
        ({"dpo.training.beta": []}, "grid", "non-empty list"),
        ({"dpo.training.beta": {"log_uniform": [0, 1]}}, "random", "must be > 0"),
        ({"dpo.training.beta": {"uniform": [0.1, 0.5]}}, "grid", "a grid needs a list"),
        ({"strategy": ["plutchik", "random"]}, "grid", "strategy 'plutchik' is not one of"),
        ({}, "grid", "sweep.space is empty"),
        ({"dpo.training.beta": [0.1]}, "bayes", "sweep.method must be one of"),
    ],
)
def test_bad_spaces_are_named(space, method, message):
    with pytest.raises(SweepConfigError, match=message):
        expand_space(space, method, 2, 0)


def test_trial_params_apply_fixed_then_trial_settings_and_reject_unknown_keys():
    params = trial_dpo_params(DPO, {"dpo.training.max_steps": 5}, {"dpo.lora.alpha": 64, "strategy": "random"})
    assert params["lora"] == {"r": 64, "alpha": 64} and params["training"]["max_steps"] == 5
    assert DPO["lora"]["alpha"] == 16  # the project's parameters are not modified
    unknown = r"'dpo.lora.rank' is not a dpo parameter \(known under it: \['alpha', 'r'\]\)"
    with pytest.raises(SweepConfigError, match=unknown):
        trial_dpo_params(DPO, {}, {"dpo.lora.rank": 8})
    with pytest.raises(SweepConfigError, match="'dpo.epochs' is not a parameter block"):
        trial_dpo_params(DPO, {}, {"dpo.epochs.n": 1})


def test_trial_ids_follow_what_changes_the_adapter_only():
    base = trial_id(DPO, "random", 42, LINEAGE, "pairs1")
    reordered = {
        "training": dict(reversed(list(DPO["training"].items()))),
        **{k: v for k, v in DPO.items() if k != "training"},
    }
    assert trial_id(reordered, "random", 42, LINEAGE, "pairs1") == base
    logging_only = trial_dpo_params(DPO, {}, {"dpo.training.logging_steps": 10, "dpo.output_dir": "elsewhere"})
    assert trial_id(logging_only, "random", 42, LINEAGE, "pairs1") == base
    # a speed switch that is off (its default) names the same adapter as before the switch existed; on, another
    with_speed = {**DPO, "speed": {"prompt_sharing": "auto"}}
    speed_base = trial_id(with_speed, "random", 42, LINEAGE, "pairs1")
    compile_off = {**DPO, "speed": {"prompt_sharing": "auto", "torch_compile": False}}
    compile_on = {**DPO, "speed": {"prompt_sharing": "auto", "torch_compile": True}}
    assert trial_id(compile_off, "random", 42, LINEAGE, "pairs1") == speed_base
    assert trial_id(compile_on, "random", 42, LINEAGE, "pairs1") != speed_base
    assert trial_id({**DPO, "speed": {"prompt_sharing": "off"}}, "random", 42, LINEAGE, "pairs1") != speed_base
    assert (
        len(
            {
                base,
                trial_id(trial_dpo_params(DPO, {}, {"dpo.training.beta": 0.1}), "random", 42, LINEAGE, "pairs1"),
                trial_id(DPO, "plutchik_extended", 42, LINEAGE, "pairs1"),
                trial_id(DPO, "random", 1, LINEAGE, "pairs1"),
                trial_id(DPO, "random", 42, {**LINEAGE, "parent_adapters": ["x"]}, "pairs1"),
                trial_id(DPO, "random", 42, LINEAGE, "pairs2"),
            }
        )
        == 6
    )


def test_plan_checks_the_splits_and_ablation_swaps_only_the_strategy():
    plan = plan_trials(SWEEP, DPO, "plutchik_extended", seed=0)
    assert [(p["settings"]["dpo.training.beta"], p["strategy"]) for p in plan] == [
        (0.1, "plutchik_extended"),
        (0.1, "random"),
        (0.5, "plutchik_extended"),
        (0.5, "random"),
    ]
    assert all(p["dpo_params"]["training"]["max_steps"] == 3 for p in plan)
    ablation = ablation_spec(plan, {"index": 2, "strategy": "plutchik_extended"}, SWEEP["final"])
    assert ablation["strategy"] == "random" and ablation["dpo_params"] == plan[2]["dpo_params"]
    assert ablation_spec(plan, {"index": 1, "strategy": "random"}, SWEEP["final"])["strategy"] == "plutchik_extended"
    with pytest.raises(SweepConfigError, match="both 'test'"):
        plan_trials({**SWEEP, "selection": {"split": "test"}}, DPO, "random", 0)
    with pytest.raises(SweepConfigError, match=r"sweep.fixed and sweep.space both set \['dpo.training.beta'\]"):
        plan_trials({**SWEEP, "fixed": {"dpo.training.beta": 0.1}}, DPO, "random", 0)


def test_random_plan_with_seed_null_uses_the_project_seed_so_reruns_reuse_trials():
    """``sweep.seed: null`` must mean the project seed: an unseeded draw changed the trials on every run."""
    sweep = {
        **SWEEP,
        "method": "random",
        "seed": None,
        "n_trials": 2,
        "space": {"dpo.training.beta": [0.1, 0.2, 0.5, 1.0], "dpo.training.learning_rate": [1e-4, 2e-4, 5e-4]},
    }
    runs = [[p["settings"] for p in plan_trials(sweep, DPO, "random", seed=7)] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    longer = [p["settings"] for p in plan_trials({**sweep, "n_trials": 4}, DPO, "random", seed=7)]
    assert longer[:2] == runs[0]
    assert [p["settings"] for p in plan_trials({**sweep, "seed": 7}, DPO, "random", seed=0)] == runs[0]


def trial(name, diff, bert, kl):
    return {"trial_id": name, "metrics": {"eval/diff_mean": diff, "eval/bertscore_f1": bert, "eval/kl_to_base": kl}}


def test_selection_takes_the_best_trial_within_the_guards():
    reference = {"eval/diff_mean": 0.8, "eval/bertscore_f1": 0.5, "eval/kl_to_base": 0.1}
    trials = [trial("a", 0.7, 0.49, 0.2), trial("b", 0.5, 0.40, 0.2), trial("c", 0.6, 0.5, 0.9)]
    guards = {"bertscore_f1_max_drop": 0.02, "kl_to_base_max_increase": 0.5}
    chosen = select_best(trials, reference, {"metric": "eval/diff_mean", "goal": "min", "guards": guards})
    assert chosen["best_trial"] == "a" and chosen["guards_passed"] and chosen["n_passing"] == 1
    assert set(chosen["guard_failures"]) == {"b", "c"} and "bertscore_f1" in chosen["guard_failures"]["b"][0]
    unguarded = select_best(trials, reference, {"metric": "eval/diff_mean", "goal": "min", "guards": {}})
    assert unguarded["best_trial"] == "b"
    none_pass = select_best(trials, reference, {"metric": "eval/diff_mean", "guards": {"bertscore_f1_max_drop": -1}})
    assert none_pass["best_trial"] == "b" and not none_pass["guards_passed"]
    assert select_best(trials, reference, {"metric": "eval/bertscore_f1", "goal": "max"})["best_trial"] == "c"
    with pytest.raises(SweepConfigError, match="'eval/nope' is not a finite metric of any trial"):
        select_best(trials, reference, {"metric": "eval/nope"})
    diverged = {"trial_id": "d", "metrics": {"eval/diff_mean": 0.1, "eval/bertscore_f1": 0.5}}  # KL not finite
    nan_metric = {"trial_id": "n", "metrics": {"eval/diff_mean": float("nan")}}
    chosen = select_best([*trials, diverged, nan_metric], reference, {"metric": "eval/diff_mean", "guards": guards})
    assert chosen["best_trial"] == "a"
    assert "eval/kl_to_base was not measured" in chosen["guard_failures"]["d"][0]
    assert "eval/diff_mean was not measured" in chosen["guard_failures"]["n"][0]


def test_sentences_follow_the_ci_and_the_metric_direction():
    assert describe_difference("dpo", "sft", "diff_mean", -0.02, -0.08, 0.04).endswith("no detectable difference")
    assert describe_difference("dpo", "sft", "diff_mean", -0.1, -0.2, -0.01).endswith("dpo is better")
    assert describe_difference("dpo", "sft", "kl_to_base", 0.3, 0.1, 0.5).endswith("dpo is worse")
    assert describe_difference("dpo", "sft", "bertscore_f1", 0.03, 0.01, 0.05).endswith("dpo is better")
    assert describe_difference("dpo", "sft", "length_words", 2.0, 1.0, 3.0).endswith("dpo is higher")
    assert "= -0.0200 [-0.0800, 0.0400]" in describe_difference("dpo", "sft", "diff_mean", -0.02, -0.08, 0.04)


@pytest.mark.parametrize(("env", "n_trials"), [("base", 2), ("shared", 6)])
def test_the_shipped_sweep_configurations_plan_cleanly(env, n_trials):
    from kedro.config import OmegaConfigLoader

    from empo_kedro.settings import CONFIG_LOADER_ARGS
    from tests.conftest import REPO_ROOT

    params = OmegaConfigLoader(str(REPO_ROOT / "conf"), env=env, **CONFIG_LOADER_ARGS)["parameters"]
    plan = plan_trials(
        params["sweep"], params["dpo"], params["data_engineering"]["preferences"]["strategy"], params["seed"]
    )
    assert (
        len(plan) == n_trials
        and len({trial_id(p["dpo_params"], p["strategy"], 0, LINEAGE, "") for p in plan}) == n_trials
    )
    assert params["sweep"]["selection"]["split"] != params["sweep"]["final"]["split"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"selection": {"split": "test"}}, "both 'test'"),
        ({"space": {"dpo": {"training": {"beta": [0.1, 0.0]}}}}, r"dpo.training.beta must be > 0, got 0.0"),
    ],
)
def test_bad_sweep_parameters_stop_the_run_before_any_mlflow_run(kedro_project, override, message):
    import mlflow

    from tests.conftest import run_kedro

    with pytest.raises(ValueError, match=message):  # SweepConfigError, TrainingConfigError
        run_kedro(kedro_project, pipeline="sweep", runtime_params={"sweep": override})
    experiment = mlflow.MlflowClient().get_experiment_by_name("empo_kedro")
    assert experiment is None or mlflow.MlflowClient().search_runs([experiment.experiment_id]) == []
