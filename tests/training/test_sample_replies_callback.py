"""DPO's sample-replies callback generates under the trainer's autocast: with bf16 frozen weights and fp32 LoRA
adapters (``frozen_weights_dtype: auto`` on a bf16 machine), generating outside it mixes dtypes in one matmul."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
import torch
from peft import LoraConfig, get_peft_model

from empo_kedro.tracking import reply_tables
from empo_kedro.training.callbacks import MlflowSampleReplies
from empo_kedro.training.speed import cast_frozen_weights
from tests.tiny_models import load_tiny, make_tiny_causal_lm


@pytest.fixture()
def bf16_base_fp32_adapter(tmp_path: Path):
    model, tokenizer = load_tiny(make_tiny_causal_lm(tmp_path / "tiny"))
    model = cast_frozen_weights(model, torch.bfloat16)  # as training does with frozen_weights_dtype: bfloat16
    return get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])), tokenizer


def test_sample_replies_of_a_bf16_trained_model_are_generated_and_logged(bf16_base_fp32_adapter, monkeypatch):
    model, tokenizer = bf16_base_fp32_adapter
    logged = []
    monkeypatch.setattr(reply_tables, "log_reply_table", lambda table, name: logged.append(name))
    callback = MlflowSampleReplies(
        tokenizer,
        [[{"role": "user", "content": "I lost my keys"}]],
        ["oh no"],
        {"max_new_tokens": 4, "do_sample": False},
    )
    monkeypatch.setattr(mlflow, "active_run", lambda: SimpleNamespace())  # a run is active; the table is faked
    callback.on_evaluate(
        SimpleNamespace(bf16=True, fp16=False, seed=0),
        SimpleNamespace(is_world_process_zero=True, global_step=3),
        None,
        model=model,
    )
    assert logged == ["dpo_samples/step_00003.json"]
