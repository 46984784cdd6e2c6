"""A full disk while saving a parquet output, a checkpoint or an adapter: the previous file stays, no temporary file
is left, the error names the path and the free space, and the rerun after space is freed completes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from empo_kedro.errors import find_user_facing
from empo_kedro.io.disk_space import DiskFullError
from empo_kedro.training.checkpoints import checkpoints_in, is_complete_checkpoint
from tests.conftest import run_kedro
from tests.pipelines.test_resume_and_multiprocess import SFT_QUICK, Recorded
from tests.reliability.full_disk import full_disk_under

FREE_SPACE = r"\d+\.\d\d GiB free of \d+\.\d\d GiB"


def run_expecting_full_disk(project: Path, pipeline: str, runtime_params: dict | None = None) -> DiskFullError:
    with pytest.raises(Exception) as raised:
        run_kedro(project, pipeline=pipeline, runtime_params=runtime_params)
    error = find_user_facing(raised.value)
    assert isinstance(error, DiskFullError), repr(raised.value)
    return error


def hidden_leftovers(folder: Path) -> list[Path]:
    """Temporary files and folders of the atomic saves (``.<name>.<id>.tmp``, ``.<name>.new-<id>``)."""
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp") or ".new-" in p.name or ".old-" in p.name]


def test_full_disk_on_a_parquet_output_keeps_the_previous_file(kedro_project: Path, monkeypatch):
    project = kedro_project
    run_kedro(project, pipeline="data_engineering")
    dialogues = project / "data" / "02_intermediate" / "dialogues.parquet"
    before = dialogues.read_bytes()

    with full_disk_under(monkeypatch, lambda path: "dialogues.parquet" in path) as refused:
        error = run_expecting_full_disk(project, "data_engineering")
    assert refused, "the full disk was never hit"
    assert str(dialogues) in str(error)
    assert re.search(FREE_SPACE, str(error)), str(error)
    assert dialogues.read_bytes() == before
    assert hidden_leftovers(project / "data") == []

    run_kedro(project, pipeline="data_engineering")  # space freed
    assert dialogues.is_file()


def test_full_disk_on_a_checkpoint_then_on_the_adapter_keeps_what_was_saved(
    kedro_project_with_tiny_base: Path, monkeypatch
):
    project = kedro_project_with_tiny_base
    run_kedro(project, pipeline="data_engineering")
    sft = {"sft": {**SFT_QUICK, "training": {**SFT_QUICK["training"], "save_steps": 1}}}
    run_kedro(project, pipeline="sft", runtime_params=sft)
    adapter = project / "data" / "06_models" / "sft"
    weights = (adapter / "adapter_model.safetensors").read_bytes()
    scratch = project / "data" / "06_models" / "checkpoints" / "sft"

    # The disk fills up while checkpoint-2 is written: checkpoint-1 stays, the cut one is removed.
    with full_disk_under(monkeypatch, lambda path: "checkpoint-2" in path) as refused:
        error = run_expecting_full_disk(project, "sft", sft)
    assert refused
    assert str((scratch / "checkpoint-2").relative_to(project)) in str(error)
    assert "it resumes from checkpoint-1" in str(error)
    assert [p.name for p in checkpoints_in(scratch)] == ["checkpoint-1"]
    assert is_complete_checkpoint(scratch / "checkpoint-1")
    assert (adapter / "adapter_model.safetensors").read_bytes() == weights

    # The disk fills up while the new adapter is written: the previous adapter stays whole.
    with (
        full_disk_under(monkeypatch, lambda path: f"{adapter.parent}/.sft.new-" in path) as refused,
        Recorded("empo_kedro.training.checkpoints") as log,
    ):
        error = run_expecting_full_disk(project, "sft", sft)
    assert refused and any(m.startswith("SFT: resuming from checkpoint-1") for m in log.messages), log.messages
    assert str(adapter) in str(error)
    assert re.search(FREE_SPACE, str(error)), str(error)
    assert (adapter / "adapter_model.safetensors").read_bytes() == weights
    assert hidden_leftovers(project / "data") == []

    run_kedro(project, pipeline="sft", runtime_params=sft)  # space freed
    metadata = json.loads((adapter / "empo_adapter.json").read_text())
    assert [entry["step"] for entry in metadata["log_history"] if "loss" in entry] == [1, 2]
