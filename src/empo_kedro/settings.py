"""Project settings: config loader patterns, custom resolvers and project hooks.

kedro-mlflow registers its own hooks through its entry point; ours only add what it lacks
(a fail-fast reachability check of the tracking server, run names and tags).
"""

from empo_kedro.distributed import MainProcessWrites, plugins_disabled_on_this_process
from empo_kedro.run_checks import ConciseErrors, MissingInputsCheck, ParameterCheck
from empo_kedro.run_lock import ProjectLockHook
from empo_kedro.tracking.hooks import EmpoTrackingHooks
from empo_kedro.tracking.uri import resolve_artifact_location, resolve_tracking_uri

# ProjectLockHook first: among the tryfirst hooks it runs last, so a failed check never leaves a lock behind.
HOOKS = (
    ProjectLockHook(),
    ConciseErrors(),
    MissingInputsCheck(),
    ParameterCheck(),
    EmpoTrackingHooks(),
    MainProcessWrites(),
)

# Under `accelerate launch` every process runs the session; only process 0 tracks to MLflow (one run).
DISABLE_HOOKS_FOR_PLUGINS = plugins_disabled_on_this_process()

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
    # Deep-merge parameters across environments and with --params: an env (or `--params sft.training.max_steps=4`)
    # overrides single keys instead of replacing a whole top-level block.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
    "custom_resolvers": {
        # ${tracking_uri:sqlite_db_path}: $MLFLOW_TRACKING_URI if set, else a SQLite store in the project.
        "tracking_uri": resolve_tracking_uri,
        # ${artifact_location:<tracking uri>,mlruns/artifacts}: a project folder for a local store, None for a server.
        "artifact_location": resolve_artifact_location,
    },
}
