"""kedro run --pipeline=export on tiny models: a folder plain transformers loads, a GGUF file that answers alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gguf
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from empo_kedro.evaluation.variants import VariantModel
from empo_kedro.export.gguf_file import llama_permute
from tests.conftest import run_kedro
from tests.serving.conftest import MODEL_PARAMS


def test_export_writes_a_merged_model_and_a_gguf_file_with_the_same_answers(kedro_project: Path, tiny_stack):
    from empo_kedro.training.base_model import BaseModelSpec, materialize_base_model

    models = kedro_project / "data" / "06_models"
    materialize_base_model(
        BaseModelSpec(source="pretrained", name_or_path=str(tiny_stack["base"])), models / "base", models / "wheels"
    )
    for variant in ("sft", "dpo"):
        shutil.copytree(tiny_stack[variant], models / variant)
    run_kedro(kedro_project, pipeline="export", runtime_params={"export": {"gguf": {"tokenizer_pre": "gpt2"}}})

    folder = models / "export"
    report = json.loads((kedro_project / "data" / "08_reporting" / "export_report.json").read_text())
    assert report["gguf_same_greedy_replies"] is True and report["max_logit_gap"] <= 1e-3
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))

    # Plain transformers, no project code: same logits as base + SFT + DPO adapters, chat template included.
    exported = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "I lost my job."}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    variants = VariantModel(models / "base", models / "sft", models / "dpo", MODEL_PARAMS)
    with torch.no_grad(), variants.use("dpo") as stacked:
        assert (exported(input_ids=ids).logits - stacked(input_ids=ids).logits).abs().max() < 1e-4

    # The GGUF file: llama metadata, the chat template for llama.cpp, same logits when transformers reads it back.
    reader = gguf.GGUFReader(str(folder / "model.gguf"))
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["tokenizer.chat_template"].contents() == tokenizer.chat_template
    from_gguf = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file="model.gguf").eval()
    gguf_tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file="model.gguf")
    assert gguf_tokenizer(text, add_special_tokens=False).input_ids == ids[0].tolist()
    with torch.no_grad():
        assert (from_gguf(input_ids=ids).logits - exported(input_ids=ids).logits).abs().max() < 1e-5


def test_q_and_k_rows_are_permuted_as_transformers_undoes_it():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    weights = torch.arange(8 * 3 * 4, dtype=torch.float32).reshape(8 * 3, 4).numpy()
    undo = LlamaTensorProcessor(config={"num_attention_heads": 6, "num_key_value_heads": 3})
    assert (undo.process(llama_permute(weights, 6, 3), "blk.0.attn_k.weight").weights == weights).all()
    assert not (llama_permute(weights, 6, 3) == weights).all()
