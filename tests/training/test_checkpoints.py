"""Resumable training: an interrupted DPO run continues from its newest checkpoint and ends where an
uninterrupted run ends; checkpoints of another configuration, or half-written ones, are never resumed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import TrainerCallback

from empo_kedro.training import modeling
from empo_kedro.training.checkpoints import (
    RESUME_KEY_FILE,
    checkpoints_in,
    prepare_resume,
    resume_key,
    train_resumably,
)
from empo_kedro.training.dpo import build_dpo_trainer, epoch_ordered_pairs, train_dpo
from empo_kedro.training.modeling import load_tokenizer
from tests.tiny_models import make_tiny_causal_lm
from tests.training.test_sft_dpo import MODEL_PARAMS, dpo_params, preference_pairs


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny"))


class Interrupted(Exception):
    """Stands in for the process being killed right after a checkpoint was written."""


class InterruptAfterSave(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Interrupted


def lora_weights(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" in name}


def test_interrupted_dpo_resumes_from_its_last_checkpoint_like_an_uninterrupted_run(tiny_dir, tmp_path, caplog):
    params = dpo_params(max_steps=4, save_strategy="steps", save_steps=1, save_total_limit=2)
    pairs = preference_pairs()
    tokenizer = load_tokenizer(tiny_dir)

    torch.manual_seed(0)
    reference, _, _ = train_dpo(
        modeling.load_causal_lm(tiny_dir, MODEL_PARAMS), tokenizer, pairs, params, 0, tmp_path / "uninterrupted"
    )

    output_dir = tmp_path / "interrupted"
    torch.manual_seed(0)
    trainer = build_dpo_trainer(
        modeling.load_causal_lm(tiny_dir, MODEL_PARAMS),
        tokenizer,
        epoch_ordered_pairs(pairs, "train", 2, None, 0),
        None,
        params,
        0,
        output_dir,
    )
    trainer.add_callback(InterruptAfterSave(step=3))
    with pytest.raises(Interrupted):
        train_resumably(trainer, resume_key(params, 0, trainer.train_dataset), "DPO")
    assert [p.name for p in checkpoints_in(output_dir)] == ["checkpoint-2", "checkpoint-3"]  # save_total_limit 2

    torch.manual_seed(0)
    with caplog.at_level(logging.INFO, logger="empo_kedro.training.checkpoints"):
        resumed, _, log_history = train_dpo(
            modeling.load_causal_lm(tiny_dir, MODEL_PARAMS), tokenizer, pairs, params, 0, output_dir
        )
    assert "DPO: resuming from checkpoint-3 on 1 process(es)" in caplog.text
    assert [entry["step"] for entry in log_history if "loss" in entry] == [1, 2, 3, 4]
    expected, actual = lora_weights(reference), lora_weights(resumed)
    assert expected.keys() == actual.keys() and expected
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-4, atol=1e-6, msg=name)
    assert checkpoints_in(output_dir) == [] and not (output_dir / RESUME_KEY_FILE).exists()


def fake_checkpoint(output_dir: Path, step: int, complete: bool = True) -> Path:
    folder = output_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    if complete:
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    else:
        (folder / "trainer_state.json").write_text('{"global_st')  # killed while writing
    return folder


def test_only_complete_checkpoints_of_the_same_configuration_are_resumed(tmp_path, caplog):
    output_dir = tmp_path / "scratch"
    (output_dir).mkdir()
    (output_dir / RESUME_KEY_FILE).write_text(json.dumps({"resume_key": "A"}))
    fake_checkpoint(output_dir, 2)
    fake_checkpoint(output_dir, 10)  # step 10 > step 2 (numeric, not lexical, order)
    fake_checkpoint(output_dir, 12, complete=False)
    with caplog.at_level(logging.WARNING):
        assert prepare_resume(output_dir, "A", "DPO") == output_dir / "checkpoint-10"
    assert "incomplete checkpoint(s) ['checkpoint-12']" in caplog.text
    assert [p.name for p in checkpoints_in(output_dir)] == ["checkpoint-2", "checkpoint-10"]

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert prepare_resume(output_dir, "B", "DPO") is None
    assert "removing 2 checkpoint(s)" in caplog.text and "a different configuration" in caplog.text
    assert checkpoints_in(output_dir) == []
    assert json.loads((output_dir / RESUME_KEY_FILE).read_text())["resume_key"] == "B"

    (output_dir / RESUME_KEY_FILE).unlink()
    fake_checkpoint(output_dir, 3)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert prepare_resume(output_dir, "B", "DPO") is None
    assert "an unknown configuration" in caplog.text


def test_resume_key_follows_what_changes_the_weights():
    data = Dataset.from_list([{"input_ids": [1, 2, 3]}, {"input_ids": [4, 5]}])
    params = {
        "lora": {"r": 8},
        "lineage": {"base_model": "abc", "parent_adapters": []},
        "training": {"beta": 0.1, "save_steps": 5, "logging_steps": 1},
        "output_dir": "x",
        "device": "cpu",
    }
    key = resume_key(params, 0, data)
    assert key == resume_key(
        {
            **params,
            "output_dir": "y",
            "device": "cuda",
            "training": {**params["training"], "save_steps": 50, "logging_steps": 10},
        },
        0,
        data,
    )
    changed = [
        resume_key({**params, "training": {**params["training"], "beta": 0.2}}, 0, data),
        resume_key({**params, "lineage": {"base_model": "abc", "parent_adapters": ["d1"]}}, 0, data),
        resume_key(params, 1, data),
        resume_key(params, 0, data.select([1, 0])),
        resume_key(params, 0, Dataset.from_list([{"input_ids": [1, 2, 3]}, {"input_ids": [4, 6]}])),
    ]
    assert key not in changed and len(set(changed)) == len(changed)
