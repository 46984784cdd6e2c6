"""From ED utterance rows to dialogues with chat roles, and from dialogues to SFT conversations.

The first speaker of an ED conversation tells of an experience (the *user*); the other replies (the
*listener*, our *assistant*). Conversations too short to hold one reply are dropped and counted.
"""

from __future__ import annotations

import logging
from collections import Counter

import pandas as pd

logger = logging.getLogger(__name__)

USER, ASSISTANT, SYSTEM = "user", "assistant", "system"
DIALOGUE_COLUMNS = ["conv_id", "split", "emotion", "situation", "turns", "n_turns"]


def build_dialogues(utterances: pd.DataFrame, min_turns: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Group utterances by ``conv_id`` in ``utterance_idx`` order and assign user/assistant roles.

    Returns the dialogues and the number of conversations dropped (or repaired) per reason.
    Consecutive turns by the same speaker are merged into one turn so roles always alternate.
    """
    dropped: Counter[str] = Counter()
    records = []
    ordered = utterances.sort_values(["split", "conv_id", "utterance_idx"], kind="stable")
    for (split, conv_id), rows in ordered.groupby(["split", "conv_id"], sort=True):
        if rows["utterance_idx"].duplicated().any():
            dropped["duplicate_utterance_idx"] += 1
            continue
        first_speaker = rows["speaker_idx"].iloc[0]
        turns: list[dict[str, str]] = []
        for speaker, text in zip(rows["speaker_idx"], rows["utterance"], strict=True):
            role = USER if speaker == first_speaker else ASSISTANT
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"] += " " + text
                dropped["merged_consecutive_turns"] += 1
            else:
                turns.append({"role": role, "content": text})
        if len(turns) < min_turns:
            dropped["too_few_turns"] += 1
            continue
        emotions = rows["emotion"].unique()
        if len(emotions) > 1:
            dropped["mixed_emotion_labels_first_kept"] += 1
        records.append(
            {
                "conv_id": conv_id,
                "split": split,
                "emotion": rows["emotion"].iloc[0],
                "situation": rows["situation"].iloc[0],
                "turns": turns,
                "n_turns": len(turns),
            }
        )
    for reason, count in sorted(dropped.items()):
        logger.info("Dialogues: %d x %s", count, reason)
    return pd.DataFrame(records, columns=DIALOGUE_COLUMNS), dict(dropped)


def as_turns(turns) -> list[dict[str, str]]:
    """Turns as a list of plain dicts (Parquet gives back an array of mappings)."""
    return [{"role": turn["role"], "content": turn["content"]} for turn in turns]


def listener_turn_indices(turns: list[dict[str, str]]) -> list[int]:
    """Positions of the assistant (listener) turns that follow at least one user turn."""
    return [i for i, turn in enumerate(turns) if turn["role"] == ASSISTANT and i > 0]


def build_sft_conversations(dialogues: pd.DataFrame, system_prompt: str) -> pd.DataFrame:
    """Chat messages for supervised fine-tuning: system prompt, then the turns up to the last listener turn.

    A trailing user turn has no reply to learn from, so conversations end on the listener's last turn;
    a dialogue with no listener turn after a user turn contributes nothing.
    """
    records = []
    for row in dialogues.itertuples(index=False):
        turns = as_turns(row.turns)
        listener = listener_turn_indices(turns)
        if not listener:
            continue
        turns = turns[: listener[-1] + 1]
        messages = ([{"role": SYSTEM, "content": system_prompt}] if system_prompt else []) + turns
        records.append({"conv_id": row.conv_id, "split": row.split, "emotion": row.emotion, "messages": messages})
    return pd.DataFrame(records, columns=["conv_id", "split", "emotion", "messages"])
