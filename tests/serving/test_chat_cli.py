"""`empo-kedro chat` driven through stdin as a person would type, on a project copy with tiny models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from empo_kedro.serving.chat import ChatEngine
from tests.conftest import copy_project
from tests.serving.conftest import MODEL_PARAMS

CHAT_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def chat_project(tmp_path_factory, tiny_stack) -> Path:
    """A project copy whose data/06_models hold the tiny base (as the project caches it), SFT and DPO."""
    from empo_kedro.training.base_model import BaseModelSpec, materialize_base_model

    project = copy_project(tmp_path_factory.mktemp("chat") / "project")
    models = project / "data" / "06_models"
    materialize_base_model(
        BaseModelSpec(source="pretrained", name_or_path=str(tiny_stack["base"])), models / "base", models / "wheels"
    )
    for variant in ("sft", "dpo"):
        shutil.copytree(tiny_stack[variant], models / variant)
    return project


def run_chat(project: Path, stdin: bytes, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlruns' / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    return subprocess.run(
        [sys.executable, "-m", "empo_kedro", "chat", *args, "--max-new-tokens", "6"],
        input=stdin,
        capture_output=True,
        cwd=project,
        env=env,
        timeout=CHAT_TIMEOUT_S,
    )


def expected_reply(project: Path, history: list[dict], variant: str) -> str:
    import yaml

    params = yaml.safe_load((project / "conf" / "base" / "parameters.yml").read_text())
    models = project / "data" / "06_models"
    engine = ChatEngine.from_folders(
        models / "base",
        models / "sft",
        models / "dpo",
        params["base_model"],
        {"max_new_tokens": 6, "do_sample": False},
        2048,
        params["system_prompt"],
    )
    return engine.reply(history, variant).text


def test_compare_answers_each_message_with_three_models_keeps_history_and_survives_non_utf8(chat_project: Path):
    typed = b"I lost my keys today\nand then my phone\n" + b"caf\xe9 \xff please\n"
    result = run_chat(chat_project, typed, "--compare")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    out, err = result.stdout.decode(), result.stderr.decode()
    replies = [line for line in out.splitlines() if line.lstrip().startswith(("base>", "sft>", "dpo>"))]
    assert [r.split(">")[0].strip() for r in replies] == ["base", "sft", "dpo"] * 3
    assert out.rstrip().endswith("bye") and "Traceback" not in err  # EOF ends the chat cleanly
    assert "not valid UTF-8; 2 byte(s) were replaced" in err
    # The second DPO reply answers the whole conversation (its own first reply included), in the chat template.
    first_dpo = replies[2].split("> ", 1)[1] if "> " in replies[2] else ""
    history = [
        {"role": "user", "content": "I lost my keys today"},
        {"role": "assistant", "content": first_dpo},
        {"role": "user", "content": "and then my phone"},
    ]
    assert replies[5].split(">", 1)[1].strip() == expected_reply(chat_project, history, "dpo")


def test_unknown_registered_model_is_one_clear_line(chat_project: Path, monkeypatch, capsys):
    from empo_kedro.serving.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{chat_project / 'mlruns' / 'mlflow.db'}")
    assert main(["chat", "--model", "models:/no-such-model/latest", "--project", str(chat_project)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load models:/no-such-model/latest") and "Registered models: none" in err


def test_chat_loop_answers_and_stops_on_ctrl_c(tiny_stack):
    """Ctrl-C (KeyboardInterrupt while reading) ends the loop with 'bye', no traceback."""
    import io

    from empo_kedro.serving.cli import chat_loop

    class InterruptedStdin(io.BytesIO):
        def readline(self, *args):
            line = super().readline(*args)
            if not line:
                raise KeyboardInterrupt
            return line

    engine = ChatEngine.from_folders(
        tiny_stack["base"], tiny_stack["sft"], None, MODEL_PARAMS, {"max_new_tokens": 4, "do_sample": False}, 160
    )
    out, err = io.StringIO(), io.StringIO()
    assert chat_loop(engine, ["base", "sft"], InterruptedStdin(b"hello\n"), out, err) == 0
    lines = out.getvalue().splitlines()
    assert sum(line.lstrip().startswith(("base>", "sft>")) for line in lines) == 2 and lines[-1] == "bye"
