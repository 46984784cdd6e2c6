"""Names of the sweep's MLflow tags, params and metrics: written by the sweep, read back by the results document.

Parent run (kedro-mlflow's run of the sweep session): tags ``sweep.*`` and ``machine.*``, metrics ``sweep/*`` and
``final/<tuned>-<reference>/<metric>/<bound>``. Trial runs: tags :data:`ROLE`, :data:`TRIAL_ID`, :data:`SPLIT`,
:data:`STRATEGY`. Final runs: tags :data:`ROLE` = :data:`ROLE_FINAL`, :data:`VARIANT`, :data:`SPLIT`.
"""

from __future__ import annotations

# Run roles (tag ROLE).
ROLE_TRIAL, ROLE_ABLATION, ROLE_FINAL = "trial", "ablation", "final"

# Tags of every sweep run.
SWEEP_ID = "sweep.id"
ROLE = "sweep.role"
TRIAL_ID = "sweep.trial_id"
RELOGGED = "sweep.relogged"
SPLIT = "split"
STRATEGY = "strategy"
VARIANT = "variant"

# Tags of the parent run.
STORE = "sweep.store"
SELECTION_PROMPTS = "sweep.selection_prompts"
DATA_DIALOGUES = "sweep.data.dialogues"
BEST_TRIAL = "sweep.best_trial"
BEST_RUN_ID = "sweep.best_run_id"
BEST_SETTING_PREFIX = "sweep.best."  # + a varied setting, or "strategy"
SELECTION_METRIC = "sweep.selection_metric"
SELECTION_GOAL = "sweep.selection_goal"
SELECTION_SPLIT = "sweep.selection_split"
GUARDS_PASSED = "sweep.guards_passed"
ABLATION_TRIAL = "sweep.ablation_trial"
ABLATION_STRATEGY = "sweep.ablation_strategy"
ABLATION_RUN_ID = "sweep.ablation_run_id"
FINAL_DONE = "sweep.final_done"
FINAL_SPLIT = "sweep.final_split"
FINAL_MMLU = "sweep.final_mmlu"
FINAL_RUN_PREFIX = "sweep.final_run."  # + variant: the run id of that variant's final run
# The parent's params (kedro-mlflow flattens the parameters): the selection guards.
GUARD_PARAM_PREFIX = "sweep.selection.guards."

# Metrics of the parent run.
SFT_METRIC_PREFIX = "sweep/sft/"  # + an eval metric without "eval/": SFT on the selection split
BEST_METRIC_PREFIX = "sweep/best/"
N_TRIALS = "sweep/n_trials"
N_REUSED = "sweep/n_reused"
N_PASSING_GUARDS = "sweep/n_passing_guards"
TRIALS_WALL_S = "sweep/trials_wall_s"
SESSION_TRIALS_WALL_S = "sweep/session_trials_wall_s"
ABLATION_WALL_S = "sweep/ablation_wall_s"
SESSION_ABLATION_WALL_S = "sweep/session_ablation_wall_s"
FINAL_WALL_S = "sweep/final_wall_s"


def ci_metric_name(contrast: str, metric: str, bound: str) -> str:
    """``final/<tuned>-<reference>/<metric>/<bound>``: how a CI bound is stored on the parent run."""
    return f"final/{contrast}/{metric}/{bound}"
