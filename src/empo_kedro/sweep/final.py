"""The sweep's final comparison: base / SFT / DPO(best) / DPO(ablation) on the final (test) split, with paired
bootstrap CIs of the differences, from one copy of the base weights."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.variant_evaluation import (
    confidence_intervals,
    evaluate_variants,
    kl_texts,
    sample_replies,
    scorer_fingerprint,
)
from empo_kedro.evaluation.variants import BASE, DPO, SFT, VariantModel
from empo_kedro.evaluation.vllm_generation import decoding_settings
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.io.sweep_store import TrialStore
from empo_kedro.sweep.space import fingerprint
from empo_kedro.training.modeling import load_tokenizer
from empo_kedro.training.precision import resolved_eval_autocast


def ablation_variant(strategy: str) -> str:
    """The variant name of the ablation: ``dpo_random`` for random rejected turns."""
    return f"{DPO}_{strategy}"


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Records with plain Python values (numpy bools and floats do not pass json.dump)."""
    return json.loads(frame.to_json(orient="records"))


def compare_final(base_model: LocalModel, sft_adapter: AdapterHandle, best_adapter: AdapterHandle,
                  ablation_adapter: AdapterHandle, ablation_strategy: str, prompts: pd.DataFrame,
                  scorer: EpitomeScorer, model_params: Mapping[str, Any], eval_params: Mapping[str, Any],
                  final: Mapping[str, Any], seed: int) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """The per-variant table, the CIs of SFT-base, DPO-SFT, DPO-ablation and ablation-SFT, and sample replies."""
    ablation = ablation_variant(ablation_strategy)
    models = VariantModel(base_model.path, sft_adapter.path, best_adapter.path, model_params,
                          autocast_dtype=model_params.get("eval_autocast"),
                          extra_adapters={ablation: ablation_adapter.path})
    tokenizer = load_tokenizer(sft_adapter.path, model_params.get("trust_remote_code", False))
    variants = [BASE, SFT, DPO, ablation]
    scores, table, per_item = evaluate_variants(
        models, variants, prompts, tokenizer, scorer, eval_params,
        kl_texts(final.get("kl_n_texts") or eval_params["retention"]["kl"]["n_texts"], seed),
        with_mmlu=bool(final.get("mmlu", True)), seed=seed)
    contrasts = [(SFT, BASE), (DPO, SFT), (DPO, ablation), (ablation, SFT)]
    cis = confidence_intervals(scores, per_item, eval_params, contrasts, seed)
    samples = sample_replies(scores, variants, int(final.get("n_samples", 5)), (DPO, SFT))
    return table, cis, samples


def final_key(best_trial: str, ablation_trial: str, prompts: pd.DataFrame, scorer: EpitomeScorer,
              model_params: Mapping[str, Any], eval_params: Mapping[str, Any], final: Mapping[str, Any],
              seed: int) -> str:
    """Everything the final comparison depends on (the trial ids already cover the models and their data)."""
    return fingerprint({
        "trials": [best_trial, ablation_trial], "prompts": prompts[["conv_id", "prompt", "reference"]].to_dict("records"),
        "scorer": scorer_fingerprint(scorer), "autocast": resolved_eval_autocast(model_params), "seed": seed,
        "eval": {**{k: eval_params[k] for k in ("batch_size", "bertscore", "distinct_orders", "retention",
                                                "bootstrap")},
                 "generation": decoding_settings(eval_params["generation"])},
        "final": {"mmlu": bool(final.get("mmlu", True)), "n_samples": final.get("n_samples"),
                  "kl_n_texts": final.get("kl_n_texts")},
    })


class MissingTrialError(UserFacingError, RuntimeError):
    """A trial the final comparison needs is not (or no longer) in the sweep folder."""


def cached_compare_final(store: TrialStore, best: Mapping[str, Any], ablation: Mapping[str, Any],
                         base_model: LocalModel, sft_adapter: AdapterHandle, prompts: pd.DataFrame,
                         scorer: EpitomeScorer, model_params: Mapping[str, Any], eval_params: Mapping[str, Any],
                         final: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """:func:`compare_final` (``table``, ``cis``, ``samples``, ``wall_s``), or its saved result when nothing it
    depends on changed (``reused`` True; ``wall_s`` is then the time it took when it ran)."""
    key = final_key(best["trial_id"], ablation["trial_id"], prompts, scorer, model_params, eval_params, final, seed)
    cached = store.cached("final", key)
    if cached is not None:
        return {"table": pd.DataFrame(cached["table"]).set_index("variant"), "cis": pd.DataFrame(cached["cis"]),
                "samples": cached["samples"], "wall_s": cached.get("wall_s", 0.0), "reused": True}
    adapters = {"best": store.adapter(best["trial_id"]), "ablation": store.adapter(ablation["trial_id"])}
    missing = [name for name, adapter in adapters.items() if adapter is None]
    if missing:
        raise MissingTrialError(f"The sweep folder {store.root} lacks the {missing} adapter(s): run the sweep again")
    started = time.perf_counter()
    table, cis, samples = compare_final(base_model, sft_adapter, adapters["best"], adapters["ablation"],
                                        ablation["strategy"], prompts, scorer, model_params, eval_params, final, seed)
    wall = time.perf_counter() - started
    store.save_cached("final", key, {"table": json_records(table.reset_index()), "cis": json_records(cis),
                                     "samples": samples, "wall_s": wall})
    return {"table": table, "cis": cis, "samples": samples, "wall_s": wall, "reused": False}
