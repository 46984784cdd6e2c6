"""A GGUF file of a merged Llama-architecture model, written with the ``gguf`` package (no llama.cpp needed).

What llama.cpp's ``convert_hf_to_gguf.py`` writes for a Llama model with a byte-level BPE tokenizer: the hyper-
parameters under ``llama.*``, the vocabulary, token types and merges under ``tokenizer.ggml.*``, the chat template,
and the tensors renamed with gguf's tensor map, Q and K rows permuted to llama.cpp's rotary layout (transformers'
GGUF loader undoes it). Unquantised (F32 or F16), so a load back gives the same greedy replies.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gguf
import numpy as np
import torch

logger = logging.getLogger(__name__)

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM",)
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


class GGUFExportError(ValueError):
    """The model cannot be written as GGUF here (architecture or tokenizer this writer does not cover)."""


def llama_permute(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's Q/K row order (``convert_hf_to_gguf.py``: ``LlamaModel.permute``)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _vocabulary(tokenizer) -> tuple[list[str], list[int], list[str]]:
    """Tokens by id, their types (control for special/added tokens) and BPE merges from tokenizer.json."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    if backend["model"]["type"] != "BPE":
        raise GGUFExportError(f"GGUF export covers byte-level BPE tokenizers, not {backend['model']['type']}")
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    size = max(by_id) + 1
    special = {t["id"] for t in backend.get("added_tokens", []) if t.get("special")}
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(size)]
    types = [TOKEN_CONTROL if i in special else TOKEN_NORMAL for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in backend["model"].get("merges", [])]
    return tokens, types, merges


def write_gguf(
    model, tokenizer, path: Path, dtype: str = "f32", tokenizer_pre: str = "gpt2", name: str = "empo"
) -> Path:
    """Write ``model`` (merged, fp32) and its tokenizer as one GGUF file at ``path``."""
    architecture = (model.config.architectures or [type(model).__name__])[0]
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise GGUFExportError(f"GGUF export covers {SUPPORTED_ARCHITECTURES}, not {architecture}")
    config = model.config
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    rope_theta = getattr(config, "rope_theta", None) or (getattr(config, "rope_parameters", None) or {}).get(
        "rope_theta", 10000.0
    )
    writer.add_rope_freq_base(float(rope_theta))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(config.vocab_size)
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}[dtype]
    writer.add_file_type(file_type)

    tokens, types, merges = _vocabulary(tokenizer)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(tokenizer_pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for setter, token_id in (
        (writer.add_bos_token_id, tokenizer.bos_token_id),
        (writer.add_eos_token_id, tokenizer.eos_token_id),
        (writer.add_unk_token_id, tokenizer.unk_token_id),
        (writer.add_pad_token_id, tokenizer.pad_token_id),
    ):
        if token_id is not None:
            setter(int(token_id))
    writer.add_add_bos_token(False)
    writer.add_add_space_prefix(False)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reads tied output weights from token_embd
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise GGUFExportError(f"no GGUF name for tensor {hf_name}")
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = llama_permute(data, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = llama_permute(data, n_head, n_kv)
        if dtype == "f16" and data.ndim > 1:
            data = data.astype(np.float16)
        writer.add_tensor(gguf_name, np.ascontiguousarray(data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    logger.info("Wrote %s (%s, %.0f MB)", path, dtype, path.stat().st_size / 1e6)
    return path
