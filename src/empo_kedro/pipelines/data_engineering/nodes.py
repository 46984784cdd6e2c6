"""Nodes of the data_engineering pipeline: thin wrappers over ``empo_kedro.data`` and ``empo_kedro.emotions``."""

from __future__ import annotations

import json
import logging

import pandas as pd

from empo_kedro.data.dialogues import build_dialogues, build_sft_conversations
from empo_kedro.data.ed_reader import EdFormatError, EdRelease, check_emotion_labels
from empo_kedro.data.preferences import build_preference_pairs
from empo_kedro.data.report import build_data_report
from empo_kedro.emotions.opposites import RANDOM_REJECTION, EmotionMap, check_coverage, load_emotion_map
from empo_kedro.params import DataEngineeringParams, PreferencesParams

logger = logging.getLogger(__name__)


def make_dialogues(
    ed_release: EdRelease, emotion_labels: list[str], params: DataEngineeringParams
) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Check labels, build dialogues with roles, and stop if a file yields no usable dialogue."""
    check_emotion_labels(ed_release.utterances, emotion_labels)
    dialogues, dropped = build_dialogues(ed_release.utterances, min_turns=params.min_turns)
    for report in ed_release.reports:
        if not (dialogues["split"] == report.split).any():
            raise EdFormatError(f"{report.file}: zero usable dialogues (need >= {params.min_turns} turns each)")
    return dialogues, dropped, [report.as_dict() for report in ed_release.reports]


def make_sft_conversations(dialogues: pd.DataFrame, system_prompt: str) -> pd.DataFrame:
    return build_sft_conversations(dialogues, system_prompt)


def load_opposite_map(params: PreferencesParams, emotion_maps: dict, emotion_labels: list[str]) -> EmotionMap:
    """The validated opposite-emotion map of the chosen strategy (``RANDOM_REJECTION`` for the random ablation)."""
    return load_emotion_map(params.strategy, emotion_maps, emotion_labels) or RANDOM_REJECTION


def make_preference_pairs(
    dialogues: pd.DataFrame, emotion_map: EmotionMap, params: PreferencesParams, system_prompt: str, seed: int
) -> tuple[pd.DataFrame, dict]:
    """Check the map covers the data's labels, then draw rejected turns for every epoch."""
    if not emotion_map.is_random:
        check_coverage(emotion_map, dialogues["emotion"].unique())
    pairs, missing = build_preference_pairs(
        dialogues, emotion_map, system_prompt, params.prompt_turns, params.n_epochs, seed
    )
    if pairs.empty:
        raise ValueError(f"No preference pairs could be built with strategy '{params.strategy}': {missing}")
    return pairs, missing


def make_data_report(
    read_reports: list[dict],
    dialogue_drops: dict,
    pair_drops: dict,
    dialogues: pd.DataFrame,
    pairs: pd.DataFrame,
    emotion_map: EmotionMap,
    params: PreferencesParams,
) -> dict:
    """Assemble the report and print it in the log."""
    report = build_data_report(
        read_reports, dialogue_drops, pair_drops, dialogues, pairs, emotion_map, params.strategy
    )
    summary = {
        k: report[k]
        for k in (
            "rows_read",
            "lines_skipped",
            "dialogues_per_split",
            "dialogues_dropped_or_repaired",
            "prompts_without_pair",
            "pairs_per_split_epoch",
            "labels_without_opposite",
        )
    }
    logger.info("Data report: %s", json.dumps(summary, indent=1))
    return report
