"""Bad input through `kedro run`: each case stops the run with an error that names the culprit (file, line, field,
entry or parameter), is shown without a traceback (a UserFacingError in the chain), and leaves nothing half-written.

Covered elsewhere, at the function level or end to end:
- malformed ED lines are skipped and reported with their line numbers: tests/data/test_ed_reader.py
- hypothesis fuzzing of the ED reader:
  tests/data/test_ed_reader.py::test_fuzzed_lines_are_either_read_or_reported_never_lost
- missing SFT adapter and unreachable MLflow server: tests/pipelines/test_training_pipelines.py
  (test_dpo_without_an_sft_adapter_says_which_pipeline_to_run_first,
  test_unreachable_tracking_server_fails_before_anything_runs)
- every map rule, EPITOME field and parameter rule: tests/data/test_emotions.py, tests/evaluation/test_epitome.py,
  tests/training/test_sft_dpo.py, tests/training/test_base_model.py
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from empo_kedro.errors import find_user_facing
from tests.conftest import run_kedro

ED_DIR = Path("data") / "01_raw" / "empatheticdialogues"
EPITOME_DIR = Path("data") / "01_raw" / "epitome"
EPITOME_ER = EPITOME_DIR / "emotional-reactions-reddit.csv"
TEMPORARY = re.compile(r"(^\..*\.(tmp|new-\w+|old-\w+)$)|(\.tmp$)")


@pytest.fixture(scope="module")
def shared_tracking_db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def one_tracking_store_for_the_module(kedro_project: Path, shared_tracking_db: str, monkeypatch) -> None:
    """The runs here fail early: one SQLite store for all of them spares creating its tables for each."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_tracking_db)


def files_under_data(project: Path) -> set[str]:
    """Every file the project wrote (inputs under 01_raw and the symlinked base model left out)."""
    data = project / "data"
    return {
        p.relative_to(data).as_posix()
        for p in data.rglob("*")
        if p.is_file() and not p.relative_to(data).as_posix().startswith("01_raw/")
    }


def assert_stopped(project: Path, run: Callable[[], object], culprit: str, before: set[str] | None = None) -> None:
    """The run raises an error that names the culprit and reaches the user without a traceback, and no file was
    written (``before``: the files that were there already, which must be unchanged in number and name)."""
    with pytest.raises(Exception) as raised:
        run()
    shown = find_user_facing(raised.value)
    assert shown is not None, f"not a user-facing error: {raised.value!r}"
    assert re.search(culprit, str(shown)), f"{culprit!r} not in: {shown}"
    after = files_under_data(project)
    assert after == (before or set()), f"written despite the error: {sorted(after - (before or set()))}"
    temporary = [p for p in (project / "data").rglob("*") if TEMPORARY.search(p.name)]
    assert not temporary, temporary


# ---- input files, through data_engineering ------------------------------------------------------------------


def empty(path: Path) -> None:
    path.write_text("")


def only_malformed_lines(path: Path) -> None:
    header = path.read_text().splitlines()[0]
    path.write_text(header + "\nhit:1_conv:2,not a number,sad,p,1,hello,5|5|5,\nhit:1_conv:2,2,sad\n")


def wrong_header(path: Path) -> None:
    path.write_text("id,text\n1,hello\n")


def unknown_label(path: Path) -> None:
    lines = path.read_text().splitlines()
    fields = lines[5].split(",")
    fields[2] = "elated"
    lines[5] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "file_name, damage, culprit",
    [
        ("train.csv", empty, r"train\.csv.*empty"),
        ("valid.csv", only_malformed_lines, r"valid\.csv.*no usable rows"),
        ("test.csv", wrong_header, r"test\.csv:1: wrong header"),
        ("train.csv", unknown_label, r"train\.csv:6: unknown emotion label 'elated'"),
    ],
)
def test_bad_ed_file(kedro_project: Path, file_name, damage, culprit):
    damage(kedro_project / ED_DIR / file_name)
    assert_stopped(kedro_project, lambda: run_kedro(kedro_project, pipeline="data_engineering"), culprit)


def broken_map(entry: dict) -> dict:
    return {"emotion_maps": {"plutchik_extended": {"opposites": {"joyful": entry}}}}


@pytest.mark.parametrize(
    "runtime_params, culprit",
    [
        (broken_map({"opposite": None}), r"emotion map 'plutchik_extended', entry 'joyful': missing 'opposite'"),
        (broken_map({"opposite": "joyful"}), r"entry 'joyful': a label cannot be its own opposite"),
        ({"data_engineering": {"preferences": {"strategy": "nearest"}}}, r"Unknown rejected-turn strategy 'nearest'"),
    ],
    ids=["missing_opposite", "self_opposite", "unknown_strategy"],
)
def test_bad_emotion_map_or_strategy_stops_before_anything_is_read(kedro_project: Path, runtime_params, culprit):
    def run():
        return run_kedro(kedro_project, pipeline="data_engineering", runtime_params=runtime_params)

    assert_stopped(kedro_project, run, culprit)


# ---- EPITOME files, through the evaluation node that reads them ----------------------------------------------


def run_epitome_scorer_node(project: Path) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["evaluation"], node_names=["train_epitome_scorer"])


def bad_level(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["level"] = "7"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    "damage, culprit",
    [
        (empty, r"emotional-reactions-reddit\.csv: file is empty"),
        (wrong_header, r"emotional-reactions-reddit\.csv.*(header|column)"),
        (bad_level, r"emotional-reactions-reddit\.csv: line 2, field 'level'"),
    ],
    ids=["empty", "wrong_header", "malformed_level"],
)
def test_bad_epitome_file(kedro_project: Path, damage, culprit):
    damage(kedro_project / EPITOME_ER)
    assert_stopped(kedro_project, lambda: run_epitome_scorer_node(kedro_project), culprit)


# ---- models and parameters, through sft / dpo ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_base_and_adapter(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny base model as the project caches it, and a LoRA adapter saved by the project's adapter dataset."""
    from peft import get_peft_model

    from empo_kedro.io.model_datasets import AdapterDataset, TrainedAdapter
    from empo_kedro.training.base_model.materialize import materialize_base_model
    from empo_kedro.training.base_model.spec import BaseModelSpec
    from empo_kedro.training.modeling import load_causal_lm, load_tokenizer, lora_config
    from tests.tiny_models import make_tiny_causal_lm

    root = tmp_path_factory.mktemp("tiny_models")
    source = make_tiny_causal_lm(root / "source")
    base = materialize_base_model(
        BaseModelSpec(source="pretrained", name_or_path=str(source)), root / "base", root / "wheels"
    )
    model = get_peft_model(
        load_causal_lm(base, {"dtype": "float32", "device": "cpu"}), lora_config({"r": 2, "alpha": 4})
    )
    AdapterDataset(path=str(root / "sft")).save(TrainedAdapter(model, load_tokenizer(base), {"kind": "sft"}))
    return base, root / "sft"


@pytest.fixture
def training_inputs(kedro_project: Path, tiny_base_and_adapter) -> Path:
    """A project copy with every input of the sft and dpo pipelines in place (tiny base model and SFT adapter)."""
    import shutil

    base, adapter = tiny_base_and_adapter
    models = kedro_project / "data" / "06_models"
    models.mkdir(parents=True)
    shutil.copytree(base, models / "base")
    shutil.copytree(adapter, models / "sft")
    conversations = pd.DataFrame(
        {"split": ["train"], "conv_id": ["c0"], "messages": [[{"role": "user", "content": "hi"}]]}
    )
    for name in ("05_model_input/sft_conversations.parquet", "03_primary/preference_pairs.parquet"):
        (kedro_project / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        conversations.to_parquet(kedro_project / "data" / name)
    return kedro_project


def test_missing_base_model_names_it_and_the_pipeline_to_run(training_inputs: Path):
    import shutil

    shutil.rmtree(training_inputs / "data" / "06_models" / "base")
    before = files_under_data(training_inputs)
    assert_stopped(
        training_inputs,
        lambda: run_kedro(training_inputs, pipeline="dpo"),
        r"'base_model'.*kedro run --pipeline=sft",
        before,
    )


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "victim, damage, culprit",
    [
        ("base/model.safetensors", flip_last_byte, r"Base model at .*base is not intact: .*corrupt file model\.safet"),
        (
            "sft/adapter_model.safetensors",
            truncate,
            r"sft/adapter_model\.safetensors is not a readable safetensors file",
        ),
        ("sft/adapter_model.safetensors", flip_last_byte, r"sft/adapter_model\.safetensors does not match the sha256"),
        ("sft/adapter_config.json", truncate, r"sft/adapter_config\.json is corrupt"),
        (
            "sft/adapter_model.safetensors",
            Path.unlink,
            r"sft is incomplete \(missing \['adapter_model\.safetensors'\]\)",
        ),
    ],
    ids=[
        "base_bit_flip",
        "adapter_truncated",
        "adapter_bit_flip",
        "adapter_config_corrupt",
        "adapter_weights_missing",
    ],
)
def test_corrupt_base_model_or_adapter_is_named_and_nothing_is_trained(training_inputs: Path, victim, damage, culprit):
    damage(training_inputs / "data" / "06_models" / victim)
    before = files_under_data(training_inputs)
    assert_stopped(training_inputs, lambda: run_kedro(training_inputs, pipeline="dpo"), culprit, before)


@pytest.mark.parametrize(
    "pipeline, runtime_params, culprit",
    [
        ("dpo", {"dpo": {"training": {"beta": -0.1}}}, r"dpo\.training\.beta must be > 0, got -0\.1"),
        ("dpo", {"dpo": {"lora": {"r": 0}}}, r"dpo\.lora\.r must be >= 1, got 0"),
        ("sft", {"sft": {"lora": {"r": 0}}}, r"sft\.lora\.r must be >= 1, got 0"),
        ("sft", {"base_model": {"dtype": "float8"}}, r"base_model\.dtype must be one of .* got 'float8'"),
        (
            "sft",
            {"base_model": {"source": "pretrained"}},
            r"base_model\.name_or_path is required when source is 'pretr",
        ),
    ],
    ids=["negative_beta", "dpo_rank_0", "sft_rank_0", "unknown_dtype", "incomplete_model_source"],
)
def test_bad_parameters_stop_the_run_before_anything_runs(training_inputs: Path, pipeline, runtime_params, culprit):
    before = files_under_data(training_inputs)

    def run():
        return run_kedro(training_inputs, pipeline=pipeline, runtime_params=runtime_params)

    assert_stopped(training_inputs, run, culprit, before)
