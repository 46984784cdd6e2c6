"""Small synthetic prediction files in the three formats score_predictions reads (written here, for the tests)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

SYSTEM = "<|system|>\nYou are a caring, empathetic listener.</s>\n"
ROWS = [  # context (last user turn), generated reply, true reply, emotion
    ("My dog died this morning.", "I am so sorry, that is awful.", "Oh no, I am sorry. How old was he?", "sad"),
    ("I got the job!", "Congratulations! How do you feel?", "That is great news, well done!", "joyful"),
    ('Someone scratched my car, "by accident".', "That must be annoying.", "Ugh~ did they leave a note?", "angry"),
    (
        "I can't stop thinking about the exam.",
        "What is worrying you most?",
        "Exams are stressful, I get it.",
        "anxious",
    ),
]


def zephyr_prompt(context: str) -> str:
    """The prompt in zephyr chat format, as in the EmPO files' ``chat_templates`` (several lines)."""
    return f"{SYSTEM}<|user|>\n{context}</s>\n<|assistant|>\n"


def empo_frame(levels: dict[str, list] | None = None) -> pd.DataFrame:
    """The EmPO authors' columns; ``levels`` adds e.g. ``pred_ER_scores``."""
    frame = pd.DataFrame(
        {
            "chat_templates": [zephyr_prompt(c) for c, _, _, _ in ROWS],
            "gen_targets": [r for _, _, r, _ in ROWS],
            "prevs": [c for c, _, _, _ in ROWS],
            "emotions": [e for _, _, _, e in ROWS],
            "gens": [g for _, g, _, _ in ROWS],
        }
    )
    for column, values in (levels or {}).items():
        frame[column] = values
    return frame


def write_empo(path: Path, frame: pd.DataFrame | None = None) -> Path:
    """Written the way the EmPO scripts write them: ``DataFrame.to_csv(path, sep="~")`` (index included)."""
    (empo_frame() if frame is None else frame).to_csv(path, sep="~")
    return path


def write_plain_csv(path: Path, rows=ROWS, header=("context", "response", "reference", "emotion")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_plain_jsonl(path: Path, rows=ROWS) -> Path:
    lines = [json.dumps(dict(zip(("context", "response", "reference", "emotion"), row, strict=True))) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_generations(path: Path, variants=("base", "sft", "dpo")) -> Path:
    """Our evaluation's generations.parquet: every variant answers the same prompts."""
    frames = []
    for variant in variants:
        frames.append(
            pd.DataFrame(
                {
                    "conv_id": [f"hit:{i}_conv:{i}" for i in range(len(ROWS))],
                    "emotion": [e for _, _, _, e in ROWS],
                    "prompt": [np.array([{"role": "user", "content": c}], dtype=object) for c, _, _, _ in ROWS],
                    "context": [c for c, _, _, _ in ROWS],
                    "reference": [r for _, _, r, _ in ROWS],
                    "variant": variant,
                    "response": [f"{g} ({variant})" for _, g, _, _ in ROWS],
                }
            )
        )
    pd.concat(frames, ignore_index=True).to_parquet(path)
    return path
