"""The sweep's final comparison: base / SFT / DPO(best) / DPO(ablation) (each with its training seeds) and the
length-matched ``sft_len`` on the final (test) split, with paired bootstrap CIs of the differences, length and seed
checks, and the emotion fit of the replies, from one copy of the base weights."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.emotion_classifier import EmotionClassifier, add_emotion_fit, reference_emotion_fit
from empo_kedro.evaluation.epitome import EpitomeScorer
from empo_kedro.evaluation.length_matched import SFT_LEN, length_matched_replies, reply_token_counts
from empo_kedro.evaluation.robustness import groups_of, robustness_cis, seed_summary
from empo_kedro.evaluation.scoring import score_reply_frame
from empo_kedro.evaluation.variant_evaluation import (
    confidence_intervals,
    evaluate_variants,
    kl_texts,
    sample_replies,
    scorer_fingerprint,
    variant_table,
)
from empo_kedro.evaluation.variants import BASE, DPO, SFT, VariantModel
from empo_kedro.evaluation.vllm_generation import replies_fingerprint_settings
from empo_kedro.io.model_datasets import AdapterHandle, LocalModel
from empo_kedro.io.sweep_store import TrialStore
from empo_kedro.sweep.space import fingerprint
from empo_kedro.tracking.reply_tables import reply_table
from empo_kedro.training.modeling import load_tokenizer
from empo_kedro.training.precision import resolved_eval_autocast

#: The row of the final table holding the human reference replies' emotion fit (the ceiling).
REFERENCE = "reference"


def ablation_variant(strategy: str) -> str:
    """The variant name of the ablation: ``dpo_random`` for random rejected turns."""
    return f"{DPO}_{strategy}"


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Records with plain Python values (numpy bools and floats do not pass json.dump)."""
    return json.loads(frame.to_json(orient="records"))


def compare_final(
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    adapters: Mapping[str, AdapterHandle],
    ablation: str,
    prompts: pd.DataFrame,
    scorer: EpitomeScorer,
    classifier: EmotionClassifier | None,
    opposites: Mapping[str, str],
    model_params: Mapping[str, Any],
    eval_params: Mapping[str, Any],
    final: Mapping[str, Any],
    seed: int,
    reply_cache: Any = None,
) -> dict[str, Any]:
    """The per-variant table (every seed a row, ``sft_len``, the reference replies' emotion fit), the CIs of SFT-base,
    DPO-SFT, DPO-ablation, ablation-SFT and DPO-sft_len on seed 0, the length and seed checks pooled over seeds
    (``robust``), the mean and sd across seeds (``seeds``), and sample replies.

    ``adapters``: variant name -> adapter, ``dpo`` first (``dpo``, ``dpo_s1``, ..., ``<ablation>``, ...).
    ``reply_cache`` (the sweep folder) keeps each variant's replies, ``sft_len`` included, so a comparison killed
    midway generates only what is missing when it runs again.
    """
    first, *others = adapters
    models = VariantModel(
        base_model.path,
        sft_adapter.path,
        adapters[first].path,
        model_params,
        autocast_dtype=model_params.get("eval_autocast"),
        extra_adapters={name: adapters[name].path for name in others},
        reply_cache=reply_cache,
    )
    tokenizer = load_tokenizer(sft_adapter.path, model_params.get("trust_remote_code", False))
    variants = [BASE, SFT, *adapters]
    scores, _, per_item = evaluate_variants(
        models,
        variants,
        prompts,
        tokenizer,
        scorer,
        eval_params,
        kl_texts(final.get("kl_n_texts") or eval_params["retention"]["kl"]["n_texts"], seed),
        with_mmlu=bool(final.get("mmlu", True)),
        seed=seed,
    )
    if final.get("length_matched", True):
        dpo_replies = scores.loc[scores["variant"] == DPO].set_index("conv_id").loc[prompts["conv_id"], "response"]
        matched = length_matched_replies(
            models,
            SFT,
            SFT_LEN,
            prompts,
            reply_token_counts(tokenizer, dpo_replies),
            tokenizer,
            eval_params["generation"],
            eval_params["batch_size"],
            seed,
        )
        scores = pd.concat(
            [scores, score_reply_frame(matched.drop(columns=["target_tokens", "reply_tokens"]), scorer, eval_params)],
            ignore_index=True,
        )
        variants.append(SFT_LEN)
    if classifier is not None:
        scores = add_emotion_fit(scores, classifier, opposites)
    table = variant_table(scores, per_item, eval_params["distinct_orders"])
    ceiling = reference_emotion_fit(scores)
    if ceiling:
        table.loc[REFERENCE, list(ceiling)] = list(ceiling.values())
    contrasts = [(SFT, BASE), (DPO, SFT), (DPO, ablation), (ablation, SFT), (DPO, SFT_LEN)]
    cis = confidence_intervals(scores, per_item, eval_params, contrasts, seed)
    groups = groups_of(variants, [DPO, ablation])
    robust_params = {**eval_params["robustness"], "confidence": eval_params["bootstrap"]["confidence"]}
    robust = robustness_cis(scores, groups, contrasts, eval_params["robustness"]["metrics"], robust_params, seed)
    seeds = seed_summary(
        table,
        {g: v for g, v in groups.items() if g in (DPO, ablation)},
        [c for c in table.columns if c != "n_prompts"],
    )
    samples = sample_replies(scores, variants, int(final.get("n_samples", 5)), (DPO, SFT))
    replies = pd.concat(
        [reply_table(scores.loc[scores["variant"] == v], prompts).assign(variant=v) for v in variants],
        ignore_index=True,
    )
    return {"table": table, "cis": cis, "robust": robust, "seeds": seeds, "samples": samples, "replies": replies}


def classifier_fingerprint(classifier: EmotionClassifier | None) -> str | None:
    """sha256 of the emotion classifier's head and labels (the encoder is the frozen, packaged MiniLM)."""
    if classifier is None:
        return None
    digest = hashlib.sha256(
        json.dumps({"labels": classifier.labels, "config": classifier.config}, sort_keys=True, default=str).encode()
    )
    for tensor in (classifier.model.head.weight, classifier.model.head.bias):
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def final_key(
    trials: Sequence[str],
    prompts: pd.DataFrame,
    scorer: EpitomeScorer,
    classifier: EmotionClassifier | None,
    opposites: Mapping[str, str],
    model_params: Mapping[str, Any],
    eval_params: Mapping[str, Any],
    final: Mapping[str, Any],
    seed: int,
) -> str:
    """Everything the final comparison depends on (the trial ids already cover the models and their data)."""
    return fingerprint(
        {
            "trials": list(trials),
            "prompts": prompts[["conv_id", "prompt", "reference"]].to_dict("records"),
            "scorer": scorer_fingerprint(scorer),
            "classifier": classifier_fingerprint(classifier),
            "opposites": dict(sorted(opposites.items())),
            "autocast": resolved_eval_autocast(model_params),
            "seed": seed,
            "eval": {
                **{
                    k: eval_params[k]
                    for k in ("batch_size", "bertscore", "distinct_orders", "retention", "bootstrap", "robustness")
                },
                "generation": replies_fingerprint_settings(eval_params["generation"]),
            },
            "final": {
                "mmlu": bool(final.get("mmlu", True)),
                "n_samples": final.get("n_samples"),
                "kl_n_texts": final.get("kl_n_texts"),
                "length_matched": final.get("length_matched", True),
            },
        }
    )


class MissingTrialError(UserFacingError, RuntimeError):
    """A trial the final comparison needs is not (or no longer) in the sweep folder."""


def cached_compare_final(
    store: TrialStore,
    models: Mapping[str, Sequence[Mapping[str, Any]]],
    ablation: str,
    base_model: LocalModel,
    sft_adapter: AdapterHandle,
    prompts: pd.DataFrame,
    scorer: EpitomeScorer,
    classifier: EmotionClassifier | None,
    opposites: Mapping[str, str],
    model_params: Mapping[str, Any],
    eval_params: Mapping[str, Any],
    final: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """:func:`compare_final` (with ``wall_s``), or its saved result when nothing it depends on changed (``reused``
    True; ``wall_s`` is then the time it took when it ran). ``models``: arm -> its seeds' trial records."""
    records = [record for arm in models.values() for record in arm]
    key = final_key(
        [r["trial_id"] for r in records],
        prompts,
        scorer,
        classifier,
        opposites,
        model_params,
        eval_params,
        final,
        seed,
    )
    cached = store.cached("final", key)
    if cached is not None:
        return {
            "table": pd.DataFrame(cached["table"]).set_index("variant"),
            "cis": pd.DataFrame(cached["cis"]),
            "robust": pd.DataFrame(cached.get("robust", [])),
            "seeds": pd.DataFrame(cached.get("seeds", [])),
            "samples": cached["samples"],
            "replies": pd.DataFrame(cached["replies"]) if cached.get("replies") else None,
            "wall_s": cached.get("wall_s", 0.0),
            "reused": True,
        }
    adapters = {r["variant"]: store.adapter(r["trial_id"]) for r in records}
    missing = [name for name, adapter in adapters.items() if adapter is None]
    if missing:
        raise MissingTrialError(f"The sweep folder {store.root} lacks the {missing} adapter(s): run the sweep again")
    started = time.perf_counter()
    result = compare_final(
        base_model,
        sft_adapter,
        adapters,
        ablation,
        prompts,
        scorer,
        classifier,
        opposites,
        model_params,
        eval_params,
        final,
        seed,
        reply_cache=store,
    )
    wall = time.perf_counter() - started
    store.save_cached(
        "final",
        key,
        {
            "table": json_records(result["table"].reset_index(names="variant")),
            "cis": json_records(result["cis"]),
            "robust": json_records(result["robust"]),
            "seeds": json_records(result["seeds"]),
            "samples": result["samples"],
            "replies": json_records(result["replies"]),
            "wall_s": wall,
        },
    )
    return {**result, "wall_s": wall, "reused": False}
