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


def outputs_of(cells, mime: str = "text") -> list[str]:
    """Every printed or displayed text (``mime="text"``), or the payloads of one MIME type, in cell order."""
    found = []
    for cell in cells:
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


def test_walkthrough_on_a_fresh_project_then_after_two_data_engineering_runs(kedro_project: Path):
    folder = kedro_project / "notebooks"  # run from notebooks/, as a user would; the extension finds the project
    folder.mkdir()
    notebook = nbformat.read(shutil.copy(NOTEBOOK, folder), as_version=4)
    # kernel "python3" is ipykernel's own spec: jupyter_client starts it with this interpreter (the venv's).
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    with client.setup_kernel():  # one kernel (and one project load) for both passes
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        text = "\n".join(outputs_of(notebook.cells))
        assert "No preference pairs yet: run `kedro run --pipeline=data_engineering` first" in text
        assert "No MLflow runs in 'empo_kedro' yet" in text
        assert outputs_of(notebook.cells, "image/png") == []

        # Two runs to compare; the catalog then holds the second one's (default) pairs.
        run_kedro(
            kedro_project,
            pipeline="data_engineering",
            runtime_params={"data_engineering": {"preferences": {"strategy": "plutchik_basic"}}},
        )
        run_kedro(kedro_project, pipeline="data_engineering")
        first_data_cell = next(i for i, cell in enumerate(notebook.cells) if "preference_pairs" in cell.source)
        for index, cell in list(enumerate(notebook.cells))[first_data_cell:]:
            client.execute_cell(cell, index)

    cells = notebook.cells[first_data_cell:]
    text = "\n".join(outputs_of(cells))
    listed = next(line for line in outputs_of(notebook.cells) if line.startswith("pipelines: "))
    assert {"data_engineering", "sft", "dpo", "evaluation"} <= set(listed.strip()[len("pipelines: ") :].split(", "))
    assert "preference pairs over 32 emotions, DPO epochs [0, 1]" in text
    assert "last_speaker_turn" in text and "rejected_emotion" in text
    assert "2 pipeline runs, 0 evaluation variant runs" in text
    assert "data_engineering-SmolLM2-135M-Instruct-plutchik_basic-seed42" in text
    assert len(outputs_of(cells, "image/png")) == 1  # the run comparison plot
