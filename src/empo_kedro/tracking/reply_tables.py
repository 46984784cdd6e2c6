"""Replies as MLflow tables, so the UI's artifact/evaluation view shows base / SFT / DPO answers side by side.

Every variant run logs its table under the same file name (``REPLY_TABLE``): the MLflow UI lines up tables of
the same name across the selected runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import mlflow
import pandas as pd

from empo_kedro.data.dialogues import as_turns

logger = logging.getLogger(__name__)

REPLY_TABLE = "replies.json"
# What a reader compares: the conversation, the true reply, the model's reply and its scores.
TEXT_COLUMNS = ("conv_id", "emotion", "prompt", "context", "reference", "reply")
SCORE_COLUMNS = (
    "level_ER",
    "level_IP",
    "level_EX",
    "level_ER_reference",
    "level_IP_reference",
    "level_EX_reference",
    "diff_ER",
    "diff_IP",
    "diff_EX",
    "diff_mean",
    "bertscore_f1",
)


def conversation_text(prompt) -> str:
    """A prompt's messages as ``role: content`` lines (the system prompt left out: it is the same everywhere)."""
    return "\n".join(f"{turn['role']}: {turn['content']}" for turn in as_turns(prompt) if turn["role"] != "system")


def reply_table(scores: pd.DataFrame, prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One variant's replies with the conversation they answer and their per-reply scores, in a fixed order."""
    table = scores.rename(columns={"response": "reply"})
    if prompts is not None and "prompt" not in table.columns:
        conversations = prompts.set_index("conv_id")["prompt"].map(conversation_text)
        table = table.assign(prompt=table["conv_id"].map(conversations))
    elif "prompt" in table.columns:
        table = table.assign(prompt=table["prompt"].map(conversation_text))
    columns = [c for c in (*TEXT_COLUMNS, *SCORE_COLUMNS) if c in table.columns]
    return table[columns].reset_index(drop=True)


def log_reply_table(table: pd.DataFrame, artifact_file: str = REPLY_TABLE, run_id: str | None = None) -> None:
    """``mlflow.log_table`` with plain values (numpy scalars become Python numbers through pandas' JSON)."""
    mlflow.log_table(data=table, artifact_file=artifact_file, run_id=run_id)
    logger.info("Logged %d replies as the MLflow table %s", len(table), artifact_file)


def sample_reply_table(
    prompts: Sequence[list[dict]], replies: Sequence[str], references: Sequence[str], step: int
) -> pd.DataFrame:
    """Sample replies of a training step (DPO's eval steps), with the chosen reply as the reference."""
    return pd.DataFrame(
        {
            "step": step,
            "prompt": [conversation_text(p) for p in prompts],
            "reply": list(replies),
            "reference": list(references),
        }
    )
