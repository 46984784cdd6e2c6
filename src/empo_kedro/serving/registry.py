"""Log the tuned models as MLflow chat models and register them (``empo-sft``, ``empo-dpo``).

Every run adds a version; ``latest`` is MLflow's own name for the newest one (``models:/empo-dpo/latest``: MLflow 3
reserves ``latest`` and refuses it as an alias), other aliases (``registry.aliases``, ``champion`` for the sweep's
chosen trial) point at a version explicitly.

The base weights (~540 MB for the 135M default in fp32) are stored once per base model: the first registration logs
them into a run of their own, tagged with the base model's fingerprint, and every later chat model names that run
(``runs:/<id>/base_model``) instead of copying them again. Each chat model then holds only its adapters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import RunStatus

from empo_kedro.errors import UserFacingError
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.serving.chat_model import BASE_ARTIFACT, DPO_ARTIFACT, SFT_ARTIFACT

logger = logging.getLogger(__name__)

CHAT_MODEL_CODE = Path(__file__).with_name("chat_model_code.py")
BASE_WEIGHTS_TAG = "empo.base_weights_fingerprint"
# Distributions the chat model imports; pinned to what is installed (env-manager local uses this environment).
REQUIREMENTS = ("mlflow", "torch", "transformers", "peft", "safetensors", "empo_kedro")
LATEST = "latest"  # MLflow's reserved name for the newest version of a registered model
INPUT_EXAMPLE = {"messages": [{"role": "user", "content": "I passed my driving test today!"}], "max_tokens": 4}


class RegistryError(UserFacingError, LookupError):
    """An unknown registered model, version or alias (the message lists what the store holds)."""


def requirements() -> list[str]:
    pins = []
    for name in REQUIREMENTS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def base_weights_uri(base_model: LocalModel, experiment_id: str) -> str:
    """``runs:/<id>/base_model`` of a run holding these base weights, logged now if no finished run has them."""
    client = mlflow.MlflowClient()
    fingerprint = base_model.provenance.get("fingerprint")
    if fingerprint:
        found = client.search_runs(
            [experiment_id],
            f"tags.`{BASE_WEIGHTS_TAG}` = '{fingerprint}' and attributes.status = 'FINISHED'",
            max_results=1,
        )
        if found:
            return f"runs:/{found[0].info.run_id}/{BASE_ARTIFACT}"
    started = time.perf_counter()
    run = client.create_run(
        experiment_id, run_name="base-model-weights", tags={BASE_WEIGHTS_TAG: str(fingerprint), "pipeline": "registry"}
    )
    client.log_artifacts(run.info.run_id, str(base_model.path), BASE_ARTIFACT)
    client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FINISHED))
    logger.info("Stored the base weights once in run %s (%.1f s)", run.info.run_id, time.perf_counter() - started)
    return f"runs:/{run.info.run_id}/{BASE_ARTIFACT}"


def log_chat_model(
    registered_name: str, variant: str, artifacts: Mapping[str, str], config: Mapping[str, Any], aliases: list[str]
):
    """Log a chat model into the active run, register it and point the aliases at the new version."""
    started = time.perf_counter()
    info = mlflow.pyfunc.log_model(
        name=f"chat-{variant}",
        python_model=str(CHAT_MODEL_CODE),
        artifacts=dict(artifacts),
        model_config={**config, "variant": variant, "model_name": registered_name},
        input_example=INPUT_EXAMPLE,
        pip_requirements=requirements(),
        registered_model_name=registered_name,
    )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for alias in aliases:
        client.set_registered_model_alias(registered_name, alias, version)
    logger.info(
        "Registered %s version %s (aliases %s) in %.1f s",
        registered_name,
        version,
        aliases,
        time.perf_counter() - started,
    )
    return {
        "name": registered_name,
        "version": version,
        "aliases": aliases,
        "model_uri": info.model_uri,
        "seconds": round(time.perf_counter() - started, 1),
    }


def register_chat_models(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle | None,
    model_params: Mapping[str, Any],
    registry: Mapping[str, Any],
    system_prompt: str | None,
    aliases: list[str] | None = None,
) -> dict[str, Any]:
    """Register SFT and DPO chat models in the active run; returns what was registered (empty without a run)."""
    run = mlflow.active_run()
    if run is None or not registry.get("enabled", True):
        logger.info("No MLflow run (or registry.enabled is false): the chat models are not registered")
        return {}
    aliases = list(registry.get("aliases") or []) if aliases is None else list(aliases)
    config = {
        "model_params": {k: model_params.get(k) for k in ("dtype", "device", "eval_autocast", "trust_remote_code")},
        "generation": dict(registry["generation"]),
        "max_context_tokens": int(registry["max_context_tokens"]),
        "system_prompt": system_prompt,
    }
    if registry.get("base_weights", "store_once") == "store_once":
        config["base_model_uri"] = base_weights_uri(base_model, run.info.experiment_id)
        base = {}
    else:
        base = {BASE_ARTIFACT: str(base_model.path)}
    names = registry["models"]
    registered = (
        {"sft": log_chat_model(names["sft"], "sft", {**base, SFT_ARTIFACT: str(sft_adapter.path)}, config, aliases)}
        if names.get("sft")
        else {}
    )
    if dpo_adapter is not None and names.get("dpo"):
        registered["dpo"] = log_chat_model(
            names["dpo"],
            "dpo",
            {**base, SFT_ARTIFACT: str(sft_adapter.path), DPO_ARTIFACT: str(dpo_adapter.path)},
            config,
            aliases,
        )
    return registered


def resolve_model_uri(
    name: str, alias: str | None = None, version: str | None = None, fallback_aliases: tuple[str, ...] = ()
) -> str:
    """``models:/name@alias`` or ``models:/name/version`` checked against the store; the first of ``alias`` and
    ``fallback_aliases`` that exists wins. Errors list the names / aliases / versions the store holds."""
    client = mlflow.MlflowClient()
    try:
        model = client.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        known = sorted(m.name for m in client.search_registered_models())
        raise RegistryError(
            f"no registered model '{name}' in {mlflow.get_registry_uri()}; registered: "
            f"{known or 'none (run `kedro run` or `kedro run --pipeline=dpo` first)'}"
        ) from None
    if version is not None:
        versions = [str(v.version) for v in client.search_model_versions(f"name='{name}'")]
        if str(version) not in versions:
            raise RegistryError(f"'{name}' has no version {version}; versions: {sorted(versions, key=int)}")
        return f"models:/{name}/{version}"
    for candidate in [a for a in (alias, *fallback_aliases) if a]:
        if candidate in (model.aliases or {}):
            return f"models:/{name}@{candidate}"
        if candidate.lower() == LATEST:
            return f"models:/{name}/{LATEST}"
    raise RegistryError(
        f"'{name}' has no alias {[a for a in (alias, *fallback_aliases) if a]}; aliases: {dict(model.aliases or {})}"
    )
