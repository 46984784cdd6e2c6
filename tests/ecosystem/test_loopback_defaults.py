"""The project's UIs listen on 127.0.0.1 only, unless a user deliberately passes another host."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO_ROOT

LOOPBACK = "127.0.0.1"


def recipe_of(target: str) -> str:
    """The command lines of one Makefile target."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    match = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, flags=re.MULTILINE)
    assert match, f"no `make {target}` target"
    return match.group(1)


def test_make_ui_and_make_viz_bind_to_loopback():
    assert "kedro mlflow ui" in recipe_of("ui") and f"--host {LOOPBACK}" in recipe_of("ui")
    assert "kedro viz run" in recipe_of("viz") and f"--host {LOOPBACK}" in recipe_of("viz")


def test_mlflow_ui_config_binds_to_loopback():
    config = yaml.safe_load((REPO_ROOT / "conf" / "base" / "mlflow.yml").read_text())
    assert config["ui"]["host"] == LOOPBACK
