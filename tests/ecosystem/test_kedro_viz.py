"""Kedro-Viz: `kedro viz build` exports the four pipelines, and headless Chromium renders each of them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, copy_project
from tests.ecosystem.servers import static_site

PIPELINES = ("data_engineering", "sft", "dpo", "evaluation")
# Screenshots of the rendered graphs, kept after the run (data/ is gitignored).
ARTIFACT_DIR = REPO_ROOT / "data" / "08_reporting" / "test_artifacts"
BUILD_TIMEOUT_S = 600
BROWSER_TIMEOUT_S = 120
# As root and with no network: no sandbox, no GPU, nothing that phones home; a fresh profile per call.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
    "--window-size=1920,1200",
]
# The graph's node elements in Kedro-Viz 12 (tasks and datasets; parameters show as a marker on their task).
GRAPH_NODE = re.compile(r'<g [^>]*class="pipeline-node[ "][^>]*data-node-fullname="([^"]+)"')
PIPELINE_OPTION = re.compile(r'class="menu-option__content" title="([^"]+)"')


@pytest.fixture(scope="module")
def expected_graphs() -> dict[str, tuple[set[str], set[str]]]:
    """(task names, dataset names) of each registered pipeline, from the project's own registry."""
    from kedro.framework.project import configure_project, pipelines

    configure_project("empo_kedro")
    return {
        name: (
            {node.name for node in pipelines[name].nodes},
            {ds for ds in pipelines[name].datasets() if not ds.startswith("params:") and ds != "parameters"},
        )
        for name in PIPELINES
    }


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; the browser test skips where it is absent (the build test still runs)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def viz_site(tmp_path_factory) -> Path:
    """The static site `kedro viz build` writes for a copy of the project."""
    project = copy_project(tmp_path_factory.mktemp("viz") / "project")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"],
        cwd=project,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return project / "build"


def test_build_holds_each_pipeline_with_its_tasks_datasets_and_tag(viz_site: Path, expected_graphs):
    main = json.loads((viz_site / "api" / "main").read_text())
    assert set(PIPELINES) <= {pipeline["id"] for pipeline in main["pipelines"]}
    assert set(PIPELINES) <= {tag["id"] for tag in main["tags"]}  # the tag filter offers each pipeline

    for name, (tasks, datasets) in expected_graphs.items():
        graph = json.loads((viz_site / "api" / "pipelines" / name).read_text())
        assert {n["name"] for n in graph["nodes"] if n["type"] == "task"} == tasks
        assert {n["name"] for n in graph["nodes"] if n["type"] == "data"} == datasets
        assert all(name in n["tags"] for n in graph["nodes"] if n["type"] == "task")
        # Every node has a name of its own (Kedro's default is the function signature).
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", task) for task in tasks), tasks


def test_headless_chromium_renders_every_pipeline(chromium: str, viz_site: Path, expected_graphs, tmp_path: Path):
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    with static_site(viz_site) as url:
        for name, (tasks, datasets) in expected_graphs.items():
            screenshot = tmp_path / f"kedro_viz_{name}.png"
            result = subprocess.run(
                [
                    chromium,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={tmp_path / f'profile_{name}'}",
                    f"--screenshot={screenshot}",
                    "--dump-dom",
                    f"{url}/?pid={name}",
                ],
                check=False,
                capture_output=True,
                text=True,
                timeout=BROWSER_TIMEOUT_S,
            )
            dom = result.stdout
            assert result.returncode == 0 and dom, result.stderr[-3000:]

            assert set(GRAPH_NODE.findall(dom)) == tasks | datasets, f"pipeline {name}"
            assert set(PIPELINES) <= set(PIPELINE_OPTION.findall(dom))  # the pipeline picker lists all four
            assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
            shutil.copy(screenshot, ARTIFACT_DIR / screenshot.name)
    print(f"Kedro-Viz screenshots: {ARTIFACT_DIR}")
