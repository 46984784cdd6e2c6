"""Dialogues with roles, SFT conversations, and emotion-grounded preference pairs drawn per epoch."""

import pandas as pd
import pytest
import yaml

from empo_kedro.data.dialogues import build_dialogues, build_sft_conversations
from empo_kedro.data.preferences import build_preference_pairs
from empo_kedro.emotions.opposites import load_emotion_map
from tests.conftest import REPO_ROOT

CONFIG = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters_emotions.yml").read_text())
LABELS, MAPS = CONFIG["ed_emotion_labels"], CONFIG["emotion_maps"]


def utterances(rows):
    frame = pd.DataFrame(rows, columns=["conv_id", "utterance_idx", "emotion", "speaker_idx", "utterance"])
    frame["situation"], frame["split"], frame["source_file"], frame["source_line"] = "s", "train", "f", 0
    return frame


def synthetic_utterances(n_per_emotion=3, emotions=("sad", "joyful", "afraid", "angry"), turns=4):
    rows = []
    for e in emotions:
        for c in range(n_per_emotion):
            for t in range(1, turns + 1):
                rows.append((f"{e}-{c}", t, e, 1 if t % 2 else 2, f"{e} conv {c} turn {t}"))
    return utterances(rows)


def test_roles_follow_the_first_speaker_and_order_by_index():
    frame = utterances(
        [("c", 2, "sad", 7, "listener reply"), ("c", 1, "sad", 3, "my story"), ("c", 3, "sad", 3, "more")]
    )
    dialogues, dropped = build_dialogues(frame, min_turns=2)
    assert [t["role"] for t in dialogues.iloc[0]["turns"]] == ["user", "assistant", "user"]
    assert dialogues.iloc[0]["turns"][0]["content"] == "my story"
    assert dropped == {}


def test_short_conversations_are_dropped_and_counted():
    frame = utterances([("short", 1, "sad", 3, "alone"), ("ok", 1, "sad", 3, "a"), ("ok", 2, "sad", 4, "b")])
    dialogues, dropped = build_dialogues(frame, min_turns=2)
    assert dialogues["conv_id"].tolist() == ["ok"]
    assert dropped == {"too_few_turns": 1}


def test_same_speaker_twice_is_merged_and_counted():
    frame = utterances([("c", 1, "sad", 3, "a"), ("c", 2, "sad", 3, "b"), ("c", 3, "sad", 4, "c")])
    dialogues, dropped = build_dialogues(frame, min_turns=2)
    assert dialogues.iloc[0]["turns"] == [{"role": "user", "content": "a b"}, {"role": "assistant", "content": "c"}]
    assert dropped == {"merged_consecutive_turns": 1}


def test_sft_conversation_starts_with_system_and_ends_on_the_listener():
    frame = utterances([("c", 1, "sad", 3, "a"), ("c", 2, "sad", 4, "b"), ("c", 3, "sad", 3, "c")])
    dialogues, _ = build_dialogues(frame, min_turns=2)
    sft = build_sft_conversations(dialogues, "be kind")
    assert [m["role"] for m in sft.iloc[0]["messages"]] == ["system", "user", "assistant"]


@pytest.fixture
def dialogues():
    frame, _ = build_dialogues(synthetic_utterances(n_per_emotion=5), min_turns=2)
    return frame


def extended():
    return load_emotion_map("plutchik_extended", MAPS, LABELS)


def test_every_rejected_turn_comes_from_an_opposite_emotion_conversation(dialogues):
    emotion_map = extended()
    pairs, missing = build_preference_pairs(dialogues, emotion_map, "sys", "last", n_epochs=3, seed=1)
    assert not missing
    assert (pairs["rejected_emotion"] == pairs["emotion"].map(emotion_map.opposites)).all()
    assert (pairs["rejected_conv_id"] != pairs["conv_id"]).all()
    assert pairs["rejected_conv_id"].str.split("-").str[0].eq(pairs["rejected_emotion"]).all()
    assert len(pairs) == 3 * len(dialogues)
    first = pairs.iloc[0]
    assert first["prompt"][0] == {"role": "system", "content": "sys"}
    assert first["prompt"][-1]["role"] == "user"
    assert first["chosen"].endswith("turn 4")


def test_all_listener_turns_mode_makes_one_prompt_per_listener_turn(dialogues):
    pairs, _ = build_preference_pairs(dialogues, extended(), "", "all", n_epochs=1, seed=1)
    assert len(pairs) == 2 * len(dialogues)
    assert sorted(pairs["turn_index"].unique()) == [1, 3]


def test_draws_are_deterministic_per_seed_and_differ_between_epochs_and_seeds(dialogues):
    a, _ = build_preference_pairs(dialogues, extended(), "", "last", n_epochs=2, seed=7)
    b, _ = build_preference_pairs(dialogues, extended(), "", "last", n_epochs=2, seed=7)
    c, _ = build_preference_pairs(dialogues, extended(), "", "last", n_epochs=2, seed=8)
    pd.testing.assert_frame_equal(a, b)
    epoch0 = a[a.epoch == 0]["rejected"].tolist()
    assert epoch0 != a[a.epoch == 1]["rejected"].tolist()
    assert epoch0 != c[c.epoch == 0]["rejected"].tolist()


def test_basic_map_leaves_unmapped_labels_without_pairs_and_counts_them():
    frame, _ = build_dialogues(synthetic_utterances(emotions=("sad", "joyful", "lonely")), min_turns=2)
    basic = load_emotion_map("plutchik_basic", MAPS, LABELS)
    pairs, missing = build_preference_pairs(frame, basic, "", "last", n_epochs=2, seed=1)
    assert set(pairs["emotion"]) == {"sad", "joyful"}
    assert missing == {"no_opposite:lonely": 3}


def test_empty_opposite_pool_is_counted_not_silent():
    frame, _ = build_dialogues(synthetic_utterances(emotions=("sad", "angry")), min_turns=2)
    pairs, missing = build_preference_pairs(frame, extended(), "", "last", n_epochs=1, seed=1)
    assert pairs.empty
    assert missing == {"empty_pool:train:joyful": 3, "empty_pool:train:afraid": 3}


def test_random_strategy_picks_any_other_emotion(dialogues):
    pairs, _ = build_preference_pairs(dialogues, None, "", "last", n_epochs=4, seed=3)
    assert (pairs["rejected_emotion"] != pairs["emotion"]).all()
    assert pairs.groupby("emotion")["rejected_emotion"].nunique().max() > 1


def test_bad_parameters_are_refused(dialogues):
    with pytest.raises(ValueError, match="n_epochs"):
        build_preference_pairs(dialogues, extended(), "", "last", n_epochs=0, seed=1)
    with pytest.raises(ValueError, match="prompt_turns"):
        build_preference_pairs(dialogues, extended(), "", "first", n_epochs=1, seed=1)


def test_a_rejected_turn_equal_to_the_chosen_one_or_empty_is_excluded_and_counted():
    rows = []
    for emotion in ("sad", "joyful"):
        for c in range(3):
            rows += [
                (f"{emotion}-{c}", 1, emotion, 1, f"{emotion} story {c}"),
                (f"{emotion}-{c}", 2, emotion, 2, "I am so sorry to hear that."),
            ]
    rows[-1] = ("joyful-2", 2, "joyful", 2, "   ")  # whitespace only: no text
    frame, _ = build_dialogues(utterances(rows), min_turns=2)
    pairs, missing = build_preference_pairs(frame, extended(), "", "last", n_epochs=2, seed=1)
    degenerate = (pairs["rejected"].str.strip() == pairs["chosen"].str.strip()) | (pairs["rejected"].str.strip() == "")
    assert not degenerate.any() and not (pairs["chosen"].str.strip() == "").any()
    assert sum(missing.values()) == 2 * 6 - len(pairs)  # every excluded pair is counted
    assert set(missing) <= {"rejected_equals_chosen:train", "empty_text:train"}
    assert missing.get("rejected_equals_chosen:train", 0) > 0
