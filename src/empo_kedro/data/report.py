"""The data report: what was read, dropped and built, so nothing is lost without a count."""

from __future__ import annotations

import pandas as pd

from empo_kedro.emotions.opposites import EmotionMap


def build_data_report(
    read_reports: list[dict],
    dialogue_drops: dict[str, int],
    pair_drops: dict[str, int],
    dialogues: pd.DataFrame,
    pairs: pd.DataFrame,
    emotion_map: EmotionMap | None,
    strategy: str,
) -> dict:
    """Counts of dialogues, dropped rows by reason, pairs per emotion and labels without an opposite."""
    if emotion_map is not None and emotion_map.is_random:
        emotion_map = None  # the random ablation
    labels = sorted(dialogues["emotion"].unique())
    without_opposite = (
        [] if emotion_map is None else [label for label in labels if emotion_map.opposite(label) is None]
    )
    pairs_per_emotion = (
        pairs.groupby(["split", "epoch", "emotion"]).size().unstack(fill_value=0)
        if not pairs.empty
        else pd.DataFrame()
    )
    return {
        "strategy": strategy,
        "files": read_reports,
        "rows_read": int(sum(r["rows"] for r in read_reports)),
        "lines_skipped": int(sum(r["skipped"] for r in read_reports)),
        "dialogues_per_split": {k: int(v) for k, v in dialogues.groupby("split").size().items()},
        "dialogues_dropped_or_repaired": dialogue_drops,
        "prompts_without_pair": pair_drops,
        "pairs_per_split_epoch": {
            f"{split}/epoch{epoch}": int(n) for (split, epoch), n in pairs.groupby(["split", "epoch"]).size().items()
        },
        "pairs_per_emotion": {
            f"{split}/epoch{epoch}": {k: int(v) for k, v in row.items() if v}
            for (split, epoch), row in pairs_per_emotion.iterrows()
        },
        "labels_in_data": labels,
        "labels_without_opposite": without_opposite,
        "opposite_map": dict(emotion_map.opposites) if emotion_map else "random (any other emotion)",
    }
