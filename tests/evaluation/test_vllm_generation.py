"""The vLLM generation backend without vLLM or a GPU: the pre-run refusal, the exact SFT+DPO stacked adapter, the
lora/merged choice, and the plumbing (same prompts, greedy, LoRA requests, output frame) against a stand-in engine."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import torch
from peft import PeftModel

from empo_kedro.evaluation import vllm_generation
from empo_kedro.evaluation.generation import generate_replies, variant_replies
from empo_kedro.evaluation.variants import VariantModel
from empo_kedro.evaluation.vllm_generation import (
    GenerationBackendError,
    check_generation_backend,
    decoding_settings,
    resolve_adapter_mode,
    stack_lora_adapters,
    vllm_variant_replies,
)
from empo_kedro.training.modeling import load_adapted_model, load_causal_lm, load_tokenizer
from tests.tiny_models import make_tiny_adapter_stack

MODEL_PARAMS = {"dtype": "float32", "device": "cpu"}
GREEDY = {"backend": "vllm", "max_new_tokens": 3, "do_sample": False, "repetition_penalty": 1.0}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> dict[str, Path]:
    """A tiny base, an SFT adapter (all linear layers) and a DPO adapter on the SFT-merged weights (q/v only)."""
    root = tmp_path_factory.mktemp("vllm_stack")
    stack = make_tiny_adapter_stack(
        root, seed=3, dpo_lora={"r": 2, "lora_alpha": 1, "target_modules": ["q_proj", "v_proj"]}
    )
    return {**stack, "root": root}


# ------------------------------------------------------------------------------------------------- pre-run refusal
def test_vllm_is_refused_when_it_is_not_installed(monkeypatch):
    monkeypatch.setattr(vllm_generation.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(GenerationBackendError, match=r"vllm is not installed: pip install '\.\[vllm\]'"):
        check_generation_backend(GREEDY, {}, MODEL_PARAMS)


def test_vllm_is_refused_without_a_gpu(monkeypatch):
    monkeypatch.setattr(vllm_generation.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(vllm_generation.torch.cuda, "is_available", lambda: False)
    with pytest.raises(GenerationBackendError, match="no CUDA GPU is visible"):
        check_generation_backend(GREEDY, {}, {"device": "auto"})


def test_vllm_settings_it_cannot_honour_are_refused(monkeypatch):
    monkeypatch.setattr(vllm_generation.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(vllm_generation.torch.cuda, "is_available", lambda: True)
    check_generation_backend(GREEDY, {"adapters": "auto"}, {"device": "auto"})  # runs where vllm and a GPU are
    with pytest.raises(GenerationBackendError, match="decodes greedily only"):
        check_generation_backend({**GREEDY, "do_sample": True}, {}, {"device": "auto"})
    with pytest.raises(GenerationBackendError, match=r"\['top_k'\] have no vLLM equivalent"):
        check_generation_backend({**GREEDY, "top_k": 5}, {}, {"device": "auto"})
    with pytest.raises(GenerationBackendError, match="base_model.device is 'cpu'"):
        check_generation_backend(GREEDY, {}, {"device": "cpu"})
    with pytest.raises(GenerationBackendError, match="evaluation.vllm.adapters must be one of"):
        check_generation_backend(GREEDY, {"adapters": "stacked"}, {"device": "auto"})
    with pytest.raises(GenerationBackendError, match="backend must be one of"):
        check_generation_backend({"backend": "tgi"}, {}, {"device": "auto"})
    check_generation_backend({"max_new_tokens": 4}, None, {"device": "cpu"})  # no backend key: transformers


def test_transformers_backend_does_not_pass_the_backend_key_to_generate(stack):
    model, tokenizer = load_causal_lm(stack["base"], MODEL_PARAMS).eval(), load_tokenizer(stack["sft"])
    prompts = [[{"role": "user", "content": "I feel so sad"}]]
    with_key = generate_replies(model, tokenizer, prompts, {**GREEDY, "backend": "transformers"}, 4, 0)
    assert with_key == generate_replies(model, tokenizer, prompts, decoding_settings(GREEDY), 4, 0)


# ---------------------------------------------------------------------------------------------- stacked adapter
def test_stacked_adapter_is_sft_and_dpo_applied_together(stack, tmp_path):
    ids = torch.tensor([[1, 5, 9, 14, 2, 7]])
    stacked = stack_lora_adapters([stack["sft"], stack["dpo"]], tmp_path / "stacked")
    with torch.no_grad():
        with VariantModel(stack["base"], stack["sft"], stack["dpo"], MODEL_PARAMS).use("dpo") as model:
            expected = model(input_ids=ids).logits
        one_adapter = PeftModel.from_pretrained(load_causal_lm(stack["base"], MODEL_PARAMS), str(stacked))
        got = one_adapter(input_ids=ids).logits
        sft_only = load_adapted_model(stack["base"], MODEL_PARAMS, adapter_path=stack["sft"])(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got, sft_only, atol=1e-3)  # the DPO part is in there
    assert one_adapter.peft_config["default"].r == 6 and one_adapter.peft_config["default"].lora_alpha == 6


def test_adapters_are_served_as_lora_within_the_rank_limit_else_merged(stack):
    adapters = [stack["sft"], stack["dpo"]]
    assert resolve_adapter_mode("auto", adapters, max_lora_rank=512) == "lora"
    assert resolve_adapter_mode("auto", adapters, max_lora_rank=4) == "merged"  # 4 + 2 > 4, as 1024 + 1024 > 512
    assert resolve_adapter_mode("merged", adapters, max_lora_rank=512) == "merged"
    with pytest.raises(GenerationBackendError, match="stacked SFT\\+DPO adapter has rank 6"):
        resolve_adapter_mode("lora", adapters, max_lora_rank=4)


# ------------------------------------------------------------------------------------- plumbing, stand-in engine
class FakeEngine:
    """Records what the backend asks of vLLM; replies with the prompt's first three token ids."""

    created: list[dict] = []
    calls: list[dict] = []

    def __init__(self, model: str, **kwargs):
        assert (Path(model) / "config.json").is_file() and any(Path(model).glob("*.safetensors"))
        FakeEngine.created.append({"model": model, **kwargs})

    def generate(self, prompts, sampling, lora_request=None, use_tqdm=True):
        FakeEngine.calls.append(
            {"prompts": prompts, "sampling": sampling, "lora": lora_request, "engine": len(FakeEngine.created) - 1}
        )
        out = types.SimpleNamespace
        return [out(outputs=[out(token_ids=p["prompt_token_ids"][:3])]) for p in prompts]


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM = FakeEngine
    vllm.SamplingParams = lambda **kwargs: kwargs
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, int_id, path: {"name": name, "id": int_id, "path": path}
    for name, module in {
        "vllm": vllm,
        "vllm.lora": types.ModuleType("vllm.lora"),
        "vllm.lora.request": request,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    FakeEngine.created, FakeEngine.calls = [], []
    return FakeEngine


def eval_prompts() -> pd.DataFrame:
    texts = ["I feel so sad and alone today", "my dog died", "good luck with the exam!"]
    return pd.DataFrame(
        {
            "conv_id": [f"c{i}" for i in range(3)],
            "emotion": ["sad"] * 3,
            "prompt": [[{"role": "system", "content": "Be kind."}, {"role": "user", "content": t}] for t in texts],
            "context": texts,
            "reference": ["sorry"] * 3,
        }
    )


@pytest.mark.parametrize("max_lora_rank, mode", [(512, "lora"), (4, "merged")])
def test_vllm_backend_frames_replies_like_the_transformers_loop(stack, fake_vllm, tmp_path, max_lora_rank, mode):
    prompts, tokenizer = eval_prompts(), load_tokenizer(stack["sft"])
    vllm_params = {
        "adapters": "auto",
        "max_lora_rank": max_lora_rank,
        "scratch_dir": str(tmp_path / "scratch"),
        "engine": {"gpu_memory_utilization": 0.5},
    }
    frame = vllm_variant_replies(
        stack["base"], stack["sft"], stack["dpo"], prompts, tokenizer, GREEDY, vllm_params, MODEL_PARAMS, seed=7
    )
    models = VariantModel(stack["base"], stack["sft"], stack["dpo"], MODEL_PARAMS)
    reference = variant_replies(models, models.variants, prompts, tokenizer, decoding_settings(GREEDY), 2, 7)
    assert list(frame.columns) == list(reference.columns)
    pd.testing.assert_frame_equal(frame.drop(columns="response"), reference.drop(columns="response"))
    # Same prompts as the transformers loop (its chat-template text, its tokenizer), greedy, one call per variant.
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts["prompt"]]
    expected_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]  # generate_replies' way
    assert len(fake_vllm.calls) == 3
    for call in fake_vllm.calls:
        assert [p["prompt_token_ids"] for p in call["prompts"]] == expected_ids
        assert call["sampling"]["temperature"] == 0.0 and call["sampling"]["max_tokens"] == 3
    assert (
        frame["response"].tolist()
        == [tokenizer.decode(ids[:3], skip_special_tokens=True).strip() for ids in expected_ids] * 3
    )
    if mode == "lora":  # one engine; SFT and the stacked SFT+DPO adapter as LoRA requests
        assert len(fake_vllm.created) == 1 and fake_vllm.created[0]["enable_lora"]
        assert fake_vllm.created[0]["max_lora_rank"] == 8  # vLLM's slot that holds rank 4 + 2
        assert [c["lora"] and c["lora"]["name"] for c in fake_vllm.calls] == [None, "sft", "dpo"]
        assert fake_vllm.created[0]["gpu_memory_utilization"] == 0.5
    else:  # one engine per variant on merged weights
        assert len(fake_vllm.created) == 3 and all(c["lora"] is None for c in fake_vllm.calls)
        assert fake_vllm.created[0]["model"] == str(stack["base"])
        assert [Path(c["model"]).name for c in fake_vllm.created[1:]] == ["sft", "dpo"]
    assert not (tmp_path / "scratch").exists()  # merged weights and the stacked adapter are removed
