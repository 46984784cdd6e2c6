"""notebooks/empo_walkthrough.ipynb runs headless against a project copy, before and after a pipeline run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_kedro

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = REPO_ROOT / "notebooks" / "empo_walkthrough.ipynb"
CELL_TIMEOUT_S = 300


def execute_in(project: Path):
    """Execute the notebook from the project's notebooks/ folder (as a user would) in a fresh kernel."""
    folder = project / "notebooks"
    folder.mkdir(exist_ok=True)
    shutil.copy(NOTEBOOK, folder)
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    # kernel "python3" is ipykernel's own spec: jupyter_client starts it with this interpreter (the venv's).
    nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def outputs_of(notebook, mime: str = "text") -> list[str]:
    """Every printed or displayed text (``mime="text"``), or the payloads of one MIME type, in cell order."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if mime == "text":
                found.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
            elif mime in output.get("data", {}):
                found.append(output["data"][mime])
    return found


def test_committed_notebook_carries_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(not cell.outputs and cell.execution_count is None for cell in code_cells)


def test_walkthrough_shows_pairs_and_compares_runs_after_data_engineering(kedro_project: Path):
    # Two runs to compare; the catalog then holds the second one's (default) pairs.
    run_kedro(kedro_project, pipeline="data_engineering",
              runtime_params={"data_engineering": {"preferences": {"strategy": "plutchik_basic"}}})
    run_kedro(kedro_project, pipeline="data_engineering")
    notebook = execute_in(kedro_project)
    text = "\n".join(outputs_of(notebook))

    listed = next(line for line in text.splitlines() if line.startswith("pipelines: "))
    assert {"data_engineering", "sft", "dpo", "evaluation"} <= set(listed.removeprefix("pipelines: ").split(", "))
    assert "preference pairs over 32 emotions, DPO epochs [0, 1]" in text
    assert "last_speaker_turn" in text and "rejected_emotion" in text
    assert "2 pipeline runs, 0 evaluation variant runs" in text
    assert "data_engineering-SmolLM2-135M-Instruct-plutchik_basic-seed42" in text
    assert len(outputs_of(notebook, "image/png")) == 1  # the run comparison plot


def test_walkthrough_says_what_to_run_on_a_fresh_project(kedro_project: Path):
    notebook = execute_in(kedro_project)
    text = "\n".join(outputs_of(notebook))
    assert "No preference pairs yet: run `kedro run --pipeline=data_engineering` first" in text
    assert "No MLflow runs in 'empo_kedro' yet" in text
    assert outputs_of(notebook, "image/png") == []
