"""EmPO's emotion-grounded preference pairs.

For a prompt (system prompt + dialogue history up to a listener turn), *chosen* is the true listener turn and
*rejected* is a listener turn from a different conversation whose emotion is the opposite of this one's
(Plutchik map) or, for the ablation, any other emotion. Rejected turns are drawn anew for each DPO epoch from
a generator seeded by (seed, epoch, split), so a seed fixes every draw and epochs differ.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from empo_kedro.data.dialogues import SYSTEM, as_turns, listener_turn_indices
from empo_kedro.emotions.opposites import EmotionMap

logger = logging.getLogger(__name__)

PROMPT_TURNS = ("last", "all")
PREFERENCE_COLUMNS = [
    "prompt",
    "chosen",
    "rejected",
    "emotion",
    "rejected_emotion",
    "conv_id",
    "rejected_conv_id",
    "epoch",
    "split",
    "turn_index",
]


@dataclass(frozen=True)
class ListenerTurn:
    """A listener turn that can serve as someone else's rejected completion."""

    conv_id: str
    text: str


def listener_pools(dialogues: pd.DataFrame) -> dict[str, list[ListenerTurn]]:
    """All listener turns of a set of dialogues, grouped by the dialogue's emotion (in a fixed order)."""
    pools: dict[str, list[ListenerTurn]] = defaultdict(list)
    for row in dialogues.sort_values("conv_id").itertuples(index=False):
        turns = as_turns(row.turns)
        for index in listener_turn_indices(turns):
            pools[row.emotion].append(ListenerTurn(row.conv_id, turns[index]["content"]))
    return dict(pools)


def _prompts(dialogues: pd.DataFrame, system_prompt: str, prompt_turns: str):
    """Yield (dialogue row, turns, listener index, prompt messages) in a deterministic order."""
    if prompt_turns not in PROMPT_TURNS:
        raise ValueError(f"preferences.prompt_turns must be one of {PROMPT_TURNS}, got '{prompt_turns}'")
    system = [{"role": SYSTEM, "content": system_prompt}] if system_prompt else []
    for row in dialogues.sort_values("conv_id").itertuples(index=False):
        turns = as_turns(row.turns)
        indices = listener_turn_indices(turns)
        if prompt_turns == "last":
            indices = indices[-1:]
        for index in indices:
            yield row, turns, index, system + turns[:index]


def degenerate_pair_reason(chosen: str, rejected: str) -> str | None:
    """Why a pair teaches nothing (``empty_text``: a side has no text; ``rejected_equals_chosen``), or None."""
    if not chosen.strip() or not rejected.strip():
        return "empty_text"
    if rejected.strip() == chosen.strip():
        return "rejected_equals_chosen"
    return None


def _split_seed(split: str) -> int:
    """A stable integer per split name (Python's hash() is salted per process)."""
    return int.from_bytes(split.encode("utf-8"), "little") % (2**31)


def build_preference_pairs(
    dialogues: pd.DataFrame,
    emotion_map: EmotionMap | None,
    system_prompt: str,
    prompt_turns: str,
    n_epochs: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Draw ``n_epochs`` rejected turns per prompt, within each split; ``emotion_map=None`` is the random ablation.

    Returns the pairs and the number of prompts without a pair per reason; a drawn pair whose rejected turn equals
    the chosen one, or with an empty side, is excluded and counted per draw (``rejected_equals_chosen:<split>``,
    ``empty_text:<split>``).
    """
    if emotion_map is not None and emotion_map.is_random:
        emotion_map = None  # the random ablation
    if n_epochs < 1:
        raise ValueError(f"preferences.n_epochs must be >= 1, got {n_epochs}")
    missing: Counter[str] = Counter()
    records = []
    for split, split_dialogues in dialogues.groupby("split", sort=True):
        pools = listener_pools(split_dialogues)
        labels_with_pool = sorted(pools)
        prompts = list(_prompts(split_dialogues, system_prompt, prompt_turns))
        for epoch in range(n_epochs):
            rng = np.random.default_rng([seed, epoch, _split_seed(split)])
            for row, turns, index, prompt in prompts:
                if emotion_map is None:
                    candidates = [label for label in labels_with_pool if label != row.emotion]
                    rejected_emotion = candidates[rng.integers(len(candidates))] if candidates else None
                else:
                    rejected_emotion = emotion_map.opposite(row.emotion)
                    if rejected_emotion is None:
                        missing[f"no_opposite:{row.emotion}"] += epoch == 0
                        continue
                pool = pools.get(rejected_emotion, []) if rejected_emotion else []
                if not pool:
                    missing[f"empty_pool:{split}:{rejected_emotion}"] += epoch == 0
                    continue
                rejected = pool[rng.integers(len(pool))]
                chosen = turns[index]["content"]
                degenerate = degenerate_pair_reason(chosen, rejected.text)
                if degenerate:  # nothing to prefer: excluded (every such draw counted), the rng stream unchanged
                    missing[f"{degenerate}:{split}"] += 1
                    continue
                records.append(
                    {
                        "prompt": prompt,
                        "chosen": chosen,
                        "rejected": rejected.text,
                        "emotion": row.emotion,
                        "rejected_emotion": rejected_emotion,
                        "conv_id": row.conv_id,
                        "rejected_conv_id": rejected.conv_id,
                        "epoch": epoch,
                        "split": split,
                        "turn_index": index,
                    }
                )
    missing = Counter({reason: count for reason, count in missing.items() if count})
    for reason, count in sorted(missing.items()):
        logger.warning("Preference pairs: %d prompts or draws without a pair (%s)", count, reason)
    return pd.DataFrame(records, columns=PREFERENCE_COLUMNS), dict(missing)
