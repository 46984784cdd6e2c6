"""Nodes of the export pipeline: fold SFT and DPO into the base weights, write safetensors (+ GGUF), check both."""

from __future__ import annotations

import logging

from transformers import AutoModelForCausalLM, AutoTokenizer

from empo_kedro.export.merged import greedy_replies, merged_model
from empo_kedro.io.export_datasets import ExportedModel
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel

logger = logging.getLogger(__name__)


def merge_tuned_model(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    dpo_adapter: AdapterHandle,
    base_model_params: dict,
    params: dict,
) -> ExportedModel:
    """Base + SFT + DPO as one model, its logits checked against the adapters applied unmerged."""
    adapters = [*sft_adapter.merged_parents, sft_adapter.path, dpo_adapter.path]
    model, tokenizer, gap = merged_model(
        base_model.path, adapters, base_model_params, params["probe_prompts"], float(params["logit_tolerance"])
    )
    gguf = dict(params["gguf"]) if params["gguf"].get("enabled") else {}
    gguf.pop("enabled", None)
    metadata = {
        "base_model": str(base_model.path),
        "adapters": [str(a) for a in adapters],
        "max_logit_gap": gap,
        "logit_tolerance": float(params["logit_tolerance"]),
    }
    return ExportedModel(model, tokenizer, gguf, metadata)


def check_exported_model(exported_model: LocalModel, params: dict) -> dict:
    """Load the folder as a plain transformers model (and the GGUF file with ``gguf_file=``); same greedy replies."""
    folder, prompts, tokens = exported_model.path, params["probe_prompts"], int(params["greedy_check_tokens"])
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), use_safetensors=True).eval()
    replies = greedy_replies(model, tokenizer, prompts, tokens)
    report = {
        **exported_model.provenance,
        "chat_template": bool(tokenizer.chat_template),
        "probe_replies": dict(zip(prompts, replies, strict=True)),
    }
    gguf_file = exported_model.provenance.get("gguf_file")
    if gguf_file:
        gguf_model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_file).eval()
        gguf_replies = greedy_replies(gguf_model, tokenizer, prompts, tokens)
        report["gguf_same_greedy_replies"] = gguf_replies == replies
        if gguf_replies != replies:
            raise ValueError(
                f"{folder / gguf_file} answers differently from the safetensors export: "
                f"{[(a, b) for a, b in zip(replies, gguf_replies, strict=True) if a != b]}"
            )
    logger.info("Exported model checked: %s", report)
    return report
