"""The data_engineering pipeline through Kedro, on the project's sample and on the real shared ED data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from empo_kedro.data.ed_reader import EdFormatError
from tests.conftest import REPO_ROOT, run_kedro

EMOTIONS = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters_emotions.yml").read_text())
EXTENDED = {k: v["opposite"] for k, v in EMOTIONS["emotion_maps"]["plutchik_extended"]["opposites"].items()}


def test_sample_data_builds_sft_and_preference_sets(kedro_project: Path):
    run_kedro(kedro_project, pipeline="data_engineering")
    pairs = pd.read_parquet(kedro_project / "data" / "03_primary" / "preference_pairs.parquet")
    assert set(pairs.columns) >= {
        "prompt",
        "chosen",
        "rejected",
        "emotion",
        "rejected_emotion",
        "conv_id",
        "rejected_conv_id",
        "epoch",
        "split",
    }
    assert pairs["emotion"].nunique() == 32
    assert sorted(pairs["epoch"].unique()) == [0, 1]
    sft = pd.read_parquet(kedro_project / "data" / "05_model_input" / "sft_conversations.parquet")
    assert {"train", "valid"} <= set(sft["split"])
    report = json.loads((kedro_project / "data" / "08_reporting" / "data_report.json").read_text())
    assert report["dialogues_dropped_or_repaired"] == {"too_few_turns": 1}  # the sample's one-turn conversation
    assert report["labels_without_opposite"] == []


def test_random_ablation_draws_rejected_turns_from_any_other_emotion(kedro_project: Path):
    run_kedro(
        kedro_project,
        pipeline="data_engineering",
        runtime_params={"data_engineering": {"preferences": {"strategy": "random"}}},
    )
    pairs = pd.read_parquet(kedro_project / "data" / "03_primary" / "preference_pairs.parquet")
    assert len(pairs) and (pairs["rejected_emotion"] != pairs["emotion"]).all()
    assert (pairs["rejected_emotion"] != pairs["emotion"].map(EXTENDED)).any()  # not the Plutchik opposite
    report = json.loads((kedro_project / "data" / "08_reporting" / "data_report.json").read_text())
    assert report["opposite_map"] == "random (any other emotion)"


def test_wrong_header_stops_the_run_naming_the_file(kedro_project: Path):
    broken = kedro_project / "data" / "01_raw" / "empatheticdialogues" / "valid.csv"
    broken.write_text("id,text\n1,hello\n")
    with pytest.raises(Exception) as error:
        run_kedro(kedro_project, pipeline="data_engineering")
    assert "valid.csv:1: wrong header" in str(error.value)
    assert not (kedro_project / "data" / "03_primary" / "preference_pairs.parquet").exists()


def test_unknown_label_stops_the_run_naming_file_line_and_value(kedro_project: Path):
    train = kedro_project / "data" / "01_raw" / "empatheticdialogues" / "train.csv"
    lines = train.read_text().splitlines()
    fields = lines[5].split(",")
    fields[2] = "elated"
    lines[5] = ",".join(fields)
    train.write_text("\n".join(lines) + "\n")
    with pytest.raises(EdFormatError, match=r"train\.csv:6: unknown emotion label 'elated'"):
        run_kedro(kedro_project, pipeline="data_engineering")


def test_shared_env_on_real_ed_pairs_every_prompt_with_its_plutchik_opposite(kedro_project: Path, shared_data: Path):
    run_kedro(
        kedro_project,
        pipeline="data_engineering",
        env="shared",
        runtime_params={"ed_dir": str(shared_data / "empatheticdialogues")},
    )
    pairs = pd.read_parquet(kedro_project / "data" / "shared" / "03_primary" / "preference_pairs.parquet")
    assert len(pairs) > 4000
    assert (pairs["rejected_emotion"] == pairs["emotion"].map(EXTENDED)).all()
    assert (pairs["rejected_conv_id"] != pairs["conv_id"]).all()
    assert pairs["emotion"].nunique() == 32 and pairs["epoch"].nunique() >= 2
