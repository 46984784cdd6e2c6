"""The evaluation stacks the DPO adapter only on the SFT adapter it was trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model

from empo_kedro.errors import UserFacingError
from empo_kedro.io.model_datasets import ADAPTER_METADATA, AdapterDataset, LocalModel, trained_adapter
from empo_kedro.pipelines.evaluation import nodes
from empo_kedro.training.modeling import load_adapted_model, load_causal_lm, load_tokenizer
from tests.tiny_models import make_tiny_causal_lm

MODEL_PARAMS = {"dtype": "float32", "device": "cpu"}


def save_lora(model, path: Path, base: LocalModel, parents: list[Path], seed: int) -> None:
    torch.manual_seed(seed)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    AdapterDataset(str(path)).save(
        trained_adapter("sft" if not parents else "dpo", peft, load_tokenizer(base.path), base, parents, {}, [])
    )


def test_a_dpo_adapter_trained_on_another_sft_adapter_is_refused(tmp_path: Path):
    base = LocalModel(make_tiny_causal_lm(tmp_path / "base"))
    sft_dir, dpo_dir = tmp_path / "sft", tmp_path / "dpo"
    save_lora(load_causal_lm(base.path, MODEL_PARAMS), sft_dir, base, [], seed=1)
    save_lora(load_adapted_model(base.path, MODEL_PARAMS, merged_parents=[sft_dir]), dpo_dir, base, [sft_dir], seed=2)
    nodes._variants(base, AdapterDataset(str(sft_dir)).load(), AdapterDataset(str(dpo_dir)).load(), MODEL_PARAMS)

    save_lora(load_causal_lm(base.path, MODEL_PARAMS), sft_dir, base, [], seed=3)  # SFT re-run, DPO not
    with pytest.raises(UserFacingError, match=r"(?s)trained on another SFT adapter.*--pipeline=dpo"):
        nodes._variants(base, AdapterDataset(str(sft_dir)).load(), AdapterDataset(str(dpo_dir)).load(), MODEL_PARAMS)

    metadata = json.loads((dpo_dir / ADAPTER_METADATA).read_text())  # a DPO adapter saved before lineage was recorded
    del metadata["parent_weights_sha256"]
    (dpo_dir / ADAPTER_METADATA).write_text(json.dumps(metadata))
    with pytest.raises(UserFacingError, match=r"(?s)does not record the SFT adapter.*--pipeline=dpo"):
        nodes._variants(base, AdapterDataset(str(sft_dir)).load(), AdapterDataset(str(dpo_dir)).load(), MODEL_PARAMS)
