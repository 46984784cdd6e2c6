"""Chat models registered in MLflow, loaded back offline, and served by the real `mlflow models serve` on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pytest

from empo_kedro.io.model_datasets import AdapterHandle
from empo_kedro.serving.chat import ChatEngine, ChatInputError
from empo_kedro.serving.registry import BASE_WEIGHTS_TAG, RegistryError, register_chat_models, resolve_model_uri
from tests.ecosystem.servers import LOOPBACK, free_port, wait_until_healthy
from tests.serving.conftest import MODEL_PARAMS, REGISTRY, SYSTEM_PROMPT, local_model

CONVERSATION = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "My exam went badly."}]


def register(tiny_stack, aliases=None) -> dict:
    with mlflow.start_run():
        return register_chat_models(
            local_model(tiny_stack["base"]),
            AdapterHandle(tiny_stack["sft"], {}),
            AdapterHandle(tiny_stack["dpo"], {}),
            MODEL_PARAMS,
            REGISTRY,
            SYSTEM_PROMPT,
            aliases=aliases,
        )


def in_process(tiny_stack) -> ChatEngine:
    return ChatEngine.from_folders(
        tiny_stack["base"],
        tiny_stack["sft"],
        tiny_stack["dpo"],
        MODEL_PARAMS,
        REGISTRY["generation"],
        REGISTRY["max_context_tokens"],
        SYSTEM_PROMPT,
    )


def test_registered_models_load_offline_and_store_the_base_weights_once(tiny_stack, mlflow_store):
    first, second = register(tiny_stack), register(tiny_stack, aliases=["champion"])
    assert (first["dpo"]["version"], second["dpo"]["version"]) == ("1", "2")
    assert first["sft"]["name"] == "empo-sft"
    client = mlflow.MlflowClient()
    base_runs = client.search_runs(
        [mlflow.get_experiment_by_name("serving-test").experiment_id], f"tags.`{BASE_WEIGHTS_TAG}` != ''"
    )
    assert len(base_runs) == 1  # the second registration reused the stored base weights
    assert str(client.get_model_version_by_alias("empo-dpo", "champion").version) == "2"
    assert resolve_model_uri("empo-dpo", "champion") == "models:/empo-dpo@champion"
    assert resolve_model_uri("empo-dpo", "missing", fallback_aliases=("latest",)) == "models:/empo-dpo/latest"

    engine = in_process(tiny_stack)
    model = mlflow.pyfunc.load_model("models:/empo-dpo/latest")
    answer = model.predict({"messages": CONVERSATION})
    assert answer["choices"][0]["message"]["content"] == engine.reply(CONVERSATION, "dpo").text
    sft = mlflow.pyfunc.load_model("models:/empo-sft/1").predict({"messages": CONVERSATION})
    assert sft["choices"][0]["message"]["content"] == engine.reply(CONVERSATION, "sft").text
    assert model.metadata.signature.inputs.to_dict()[0]["name"] == "messages"


def test_unknown_names_aliases_and_versions_say_what_exists(tiny_stack, mlflow_store):
    register(tiny_stack)
    with pytest.raises(RegistryError, match=r"no registered model 'empo-dpp'.*\['empo-dpo', 'empo-sft'\]"):
        resolve_model_uri("empo-dpp", "champion")
    with pytest.raises(RegistryError, match=r"no alias \['champion'\]"):
        resolve_model_uri("empo-dpo", "champion")
    with pytest.raises(RegistryError, match=r"no version 7; versions: \['1'\]"):
        resolve_model_uri("empo-dpo", version="7")


def test_empty_and_over_long_conversations(tiny_stack):
    engine = in_process(tiny_stack)
    with pytest.raises(ChatInputError, match="no messages"):
        engine.reply([], "dpo")
    with pytest.raises(ChatInputError, match="message 0: role 'robot'"):
        engine.reply([{"role": "robot", "content": "hi"}], "dpo")
    long = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "word " * 20} for i in range(15)]
    reply = engine.reply(long, "dpo")
    assert reply.dropped_turns > 0 and reply.prompt_tokens <= REGISTRY["max_context_tokens"]
    assert "dropped the" in reply.warning()
    # One message longer than the whole budget keeps its end.
    huge = engine.reply([{"role": "user", "content": "sad " * 400}], "dpo")
    assert huge.dropped_tokens > 0 and huge.prompt_tokens + 8 <= REGISTRY["max_context_tokens"]


def post(url: str, payload) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def serve_cli(project: Path, *args: str, **kwargs) -> list[str]:
    return [sys.executable, "-m", "empo_kedro", "serve", "--project", str(project), *args]


def test_make_serve_answers_a_chat_request_on_loopback_like_the_model_in_process(tiny_stack, mlflow_store, tmp_path):
    register(tiny_stack)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_store,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
        "MLFLOW_MODELS_WORKERS": "1",
    }
    bad = subprocess.run(
        serve_cli(tmp_path, "--alias", "nope", "--model", "empo-dpo"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "no alias ['nope']" in bad.stderr and "Traceback" not in bad.stderr

    port, log_path = free_port(), tmp_path / "serve.log"
    with log_path.open("w") as log:  # the default alias (champion) is missing here: falls back to latest
        process = subprocess.Popen(
            serve_cli(tmp_path, "--port", str(port)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_healthy(f"{url}/ping", process, log_path, timeout_s=240)
        status, answer = post(f"{url}/invocations", {"messages": CONVERSATION})
        assert status == 200, answer
        engine = in_process(tiny_stack)
        assert answer["choices"][0]["message"]["content"] == engine.reply(CONVERSATION, "dpo").text
        assert answer["model"] == "empo-dpo" and answer["object"] == "chat.completion"

        status, error = post(f"{url}/invocations", {"messages": []})
        assert status in (400, 422, 500) and "no messages" in json.dumps(error)
        long = [{"role": "user", "content": "word " * 400}]
        status, answer = post(f"{url}/invocations", {"messages": long})
        assert status == 200 and "dropped" in answer["custom_outputs"]["warning"]
        status, answer = post(f"{url}/invocations", {"messages": CONVERSATION, "max_tokens": 3})
        assert status == 200 and answer["usage"]["completion_tokens"] <= 3  # the server is still up
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
