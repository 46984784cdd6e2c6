"""Per-reply scores shared by the evaluation of our variants and the scoring of other systems' prediction files.

One function, so base/SFT/DPO and any scored system get exactly the same EPITOME levels, diff-EPITOME gaps,
BERTScore and length for the same (context, reply, reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from empo_kedro.evaluation.empathy_metrics import per_prompt_squared_gaps
from empo_kedro.evaluation.epitome_schema import MECHANISMS
from empo_kedro.evaluation.text_metrics import bertscore, response_length_words

REQUIRED_COLUMNS = ("conv_id", "context", "reference", "response")


class LevelScorer(Protocol):
    """What scoring needs of an EPITOME scorer (:class:`~empo_kedro.evaluation.epitome.EpitomeScorer`)."""

    def predict(
        self, seeker_posts: list[str], responses: list[str], batch_size: int | None = None
    ) -> dict[str, np.ndarray]: ...


def score_reply_frame(replies: pd.DataFrame, scorer: LevelScorer, params: Mapping[str, Any]) -> pd.DataFrame:
    """Per reply: EPITOME levels of reply and reference, squared gaps, BERTScore against the reference, length.

    ``replies`` needs ``conv_id``, ``context`` (the seeker turn), ``reference`` and ``response``; other columns
    (``variant``, ``emotion``, ...) are kept, a ``prompt`` column is dropped. References are scored once per
    ``conv_id`` (several variants answer the same prompt), so a ``conv_id`` must always carry the same reference.
    ``params`` is the ``evaluation`` parameter block (``epitome.batch_size`` and ``bertscore``).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in replies.columns]
    if missing:
        raise ValueError(f"replies lack columns {missing} (have {list(replies.columns)})")
    scores = replies.drop(columns=["prompt"], errors="ignore").reset_index(drop=True)
    prompts = scores.drop_duplicates("conv_id")
    batch_size = params["epitome"]["batch_size"]
    per_prompt = scorer.predict(prompts["context"].tolist(), prompts["reference"].tolist(), batch_size)
    row_of = scores["conv_id"].map({conv_id: i for i, conv_id in enumerate(prompts["conv_id"])}).to_numpy()
    reference_levels = {mechanism: np.asarray(levels)[row_of] for mechanism, levels in per_prompt.items()}
    generated_levels = scorer.predict(scores["context"].tolist(), scores["response"].tolist(), batch_size)
    gaps = per_prompt_squared_gaps(generated_levels, reference_levels)
    for m in MECHANISMS:
        scores[f"diff_{m}"] = gaps[f"sq_gap_{m}"].to_numpy()
        scores[f"level_{m}"] = gaps[f"level_{m}_generated"].to_numpy()
        scores[f"level_{m}_reference"] = gaps[f"level_{m}_reference"].to_numpy()
    scores["diff_mean"] = scores[[f"diff_{m}" for m in MECHANISMS]].mean(axis=1)
    bert = bertscore(
        scores["response"].tolist(),
        scores["reference"].tolist(),
        params["bertscore"].get("encoder"),
        params["bertscore"]["num_layers"],
        params["bertscore"]["batch_size"],
    )
    scores["bertscore_precision"], scores["bertscore_recall"] = bert["precision"], bert["recall"]
    scores["bertscore_f1"] = bert["f1"]
    scores["bertscore_backbone"] = f"{bert['backbone']} (layer {bert['num_layers']})"
    scores["length_words"] = response_length_words(scores["response"].tolist())
    return scores
