"""The opposite-emotion maps in conf/: symmetric, complete where promised, and validated."""

import pytest
import yaml

from empo_kedro.emotions.opposites import EmotionMapError, check_coverage, load_emotion_map, validate_emotion_map
from tests.conftest import REPO_ROOT

CONFIG = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters_emotions.yml").read_text())
LABELS = CONFIG["ed_emotion_labels"]
MAPS = CONFIG["emotion_maps"]
BASIC_PAIRS = {("joyful", "sad"), ("trusting", "disgusted"), ("afraid", "angry"), ("surprised", "anticipating")}


def test_there_are_32_distinct_ed_labels():
    assert len(LABELS) == len(set(LABELS)) == 32


@pytest.mark.parametrize("name", ["plutchik_basic", "plutchik_extended"])
def test_maps_are_symmetric_without_self_opposites(name):
    emotion_map = load_emotion_map(name, MAPS, LABELS)
    for label, opposite in emotion_map.opposites.items():
        assert opposite != label
        assert emotion_map.opposites[opposite] == label
        assert emotion_map.reasons[label].strip()


def test_basic_map_holds_exactly_the_four_basic_pairs():
    emotion_map = load_emotion_map("plutchik_basic", MAPS, LABELS)
    pairs = {tuple(sorted(p)) for p in emotion_map.opposites.items()}
    assert pairs == {tuple(sorted(p)) for p in BASIC_PAIRS}
    assert emotion_map.unmapped | emotion_map.opposites.keys() == set(LABELS)


def test_extended_map_covers_all_32_labels_and_keeps_the_basic_pairs():
    emotion_map = load_emotion_map("plutchik_extended", MAPS, LABELS)
    assert set(emotion_map.opposites) == set(LABELS)
    for a, b in BASIC_PAIRS:
        assert emotion_map.opposite(a) == b


def test_random_strategy_has_no_map_and_unknown_strategy_fails():
    assert load_emotion_map("random", MAPS, LABELS) is None
    with pytest.raises(EmotionMapError, match="Unknown rejected-turn strategy 'nearest'"):
        load_emotion_map("nearest", MAPS, LABELS)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"opposites": {"sad": {"opposite": "sad", "reason": "r"}}}, "its own opposite"),
        ({"opposites": {"sad": {"opposite": "joyful", "reason": "r"}}}, "not symmetric"),
        ({"opposites": {"sad": {"reason": "r"}}}, "missing 'opposite'"),
        (
            {"opposites": {"sad": {"opposite": "joyful"}, "joyful": {"opposite": "sad", "reason": "r"}}},
            "missing 'reason'",
        ),
        ({"opposites": {"sad": {"opposite": "glad", "reason": "r"}}}, "unknown emotion label 'glad'"),
        ({"opposites": {}, "unmapped": ["meh"]}, "unknown labels under 'unmapped'"),
    ],
)
def test_bad_maps_are_refused_with_the_culprit_named(spec, message):
    with pytest.raises(EmotionMapError, match=message):
        validate_emotion_map("bad", spec, LABELS)


def test_labels_neither_mapped_nor_unmapped_are_refused():
    partial = validate_emotion_map(
        "partial",
        {"opposites": {"sad": {"opposite": "joyful", "reason": "r"}, "joyful": {"opposite": "sad", "reason": "r"}}},
        LABELS,
    )
    with pytest.raises(EmotionMapError, match=r"\['angry'\]"):
        check_coverage(partial, ["sad", "angry"])
