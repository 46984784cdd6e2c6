"""Safety defaults: no remote code unless opted in, weights from safetensors only, no unpickling of files."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO_ROOT

SOURCE_FILES = sorted((REPO_ROOT / "src" / "empo_kedro").rglob("*.py"))
CONFIG_FILES = sorted((REPO_ROOT / "conf").rglob("*.yml"))


def test_remote_code_is_off_by_default():
    params = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters.yml").read_text())
    assert params["base_model"]["trust_remote_code"] is False


@pytest.mark.parametrize("opt_in", [None, True])
def test_model_loading_asks_for_safetensors_and_remote_code_only_on_opt_in(monkeypatch, tmp_path, opt_in):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from empo_kedro.training import modeling

    seen = {}

    def record(kind):
        def from_pretrained(path, **kwargs):
            seen[kind] = kwargs
            raise RuntimeError("recorded")

        return from_pretrained

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", record("model"))
    monkeypatch.setattr(AutoTokenizer, "from_pretrained", record("tokenizer"))
    params = {"dtype": "float32", "device": "cpu"} | ({"trust_remote_code": opt_in} if opt_in else {})
    with pytest.raises(RuntimeError, match="recorded"):
        modeling.load_causal_lm(tmp_path, params)
    with pytest.raises(RuntimeError, match="recorded"):
        modeling.load_tokenizer(tmp_path, **({"trust_remote_code": opt_in} if opt_in else {}))
    assert seen["model"]["use_safetensors"] is True
    assert seen["model"]["trust_remote_code"] is bool(opt_in)
    assert seen["tokenizer"]["trust_remote_code"] is bool(opt_in)


UNSAFE_CALLS = [
    r"\bpickle\.loads?\(",
    r"\bjoblib\.load\(",
    r"\btorch\.load\(",
    r"weights_only\s*=\s*False",
    r"trust_remote_code\s*=\s*True",
    r"use_safetensors\s*=\s*False",
    r"safe_serialization\s*=\s*False",
]


def test_no_source_file_unpickles_or_enables_remote_code():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in SOURCE_FILES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#") and any(re.search(p, line) for p in UNSAFE_CALLS)
    ]
    assert not found


def test_every_weights_load_in_the_source_asks_for_safetensors():
    """Every ``AutoModel*.from_pretrained`` passes ``use_safetensors=True``. Exceptions: GGUF conversion (it reads a
    .gguf, not a pickle) and ``load_causal_lm``'s ``**kwargs`` call, checked in the test above."""
    unchecked = []
    for path in SOURCE_FILES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (
                re.search(r"AutoModel\w*\.from_pretrained\(", line)
                and "use_safetensors=True" not in line
                and "gguf_file=" not in line
                and "**kwargs)" not in line
            ):
                unchecked.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not unchecked


def test_no_pickle_dataset_in_the_configuration():
    assert not [path for path in CONFIG_FILES if re.search(r"Pickle\w*Dataset", path.read_text())]
