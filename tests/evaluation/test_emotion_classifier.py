"""The emotion classifier: trains on a tiny set, round-trips through its Kedro dataset, and scores emotion fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from empo_kedro.evaluation.emotion_classifier import (
    emotion_fit,
    listener_turns,
    topk_accuracy,
    train_emotion_classifier,
)
from empo_kedro.io.emotion_datasets import EmotionClassifierDataset

LABELS = ["sad", "joyful", "afraid", "angry"]
TEXTS = {
    "sad": ["i feel so sad and alone today", "sorry to hear that , it sounds hard", "my dog died today"],
    "joyful": ["that is so good !", "i hope things get better , good luck", "how happy ! yes !"],
}


def _training_set() -> tuple[list[str], list[str]]:
    texts, emotions = [], []
    for emotion, lines in TEXTS.items():
        texts += lines * 3
        emotions += [emotion] * (3 * len(lines))
    return texts, emotions


def test_round_trip_gives_the_same_predictions(tiny_encoder_dir, tmp_path):
    texts, emotions = _training_set()
    classifier = train_emotion_classifier(
        texts, emotions, LABELS, {"inverse_regularization": 100.0}, seed=0, encoder=tiny_encoder_dir
    )
    probe = ["i feel so sad", "good luck !", "what happened ?"]
    before = classifier.predict_proba(probe)
    assert before.shape == (3, 4)
    np.testing.assert_allclose(before.sum(axis=1), 1.0, rtol=1e-5)
    assert before[:, 2:].max() < 1e-6  # labels without training data are never predicted
    assert topk_accuracy(classifier.predict_proba(texts), LABELS, emotions, 1) == 1.0  # it learned the tiny set
    dataset = EmotionClassifierDataset(str(tmp_path / "emotion_classifier"))
    dataset.save(classifier)
    loaded = dataset.load()
    assert loaded.labels == LABELS
    np.testing.assert_allclose(loaded.predict_proba(probe), before, rtol=1e-5, atol=1e-6)


def test_emotion_fit_reads_true_top3_and_opposite_mass():
    proba = np.array([[0.5, 0.1, 0.3, 0.1], [0.1, 0.02, 0.3, 0.58]])
    fit = emotion_fit(proba, LABELS, ["sad", "joyful"], {"sad": "joyful", "joyful": "sad"})
    assert fit["emotion_p_true"].tolist() == [0.5, 0.02]
    assert fit["emotion_top3"].tolist() == [1.0, 0.0]  # joyful is 4th in row 2
    assert fit["emotion_p_opposite"].tolist() == [0.1, 0.1]
    unmapped = emotion_fit(proba, LABELS, ["afraid", "angry"], {"sad": "joyful"})
    assert unmapped["emotion_p_opposite"].isna().all()


def test_listener_turns_carry_their_conversation_emotion():
    turns = [
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"},
    ]
    dialogues = pd.DataFrame(
        [
            {"conv_id": "c1", "split": "train", "emotion": "sad", "turns": turns},
            {"conv_id": "c2", "split": "test", "emotion": "joyful", "turns": turns},
        ]
    )
    frame = listener_turns(dialogues, "train")
    assert frame["text"].tolist() == ["a1", "a2"] and set(frame["emotion"]) == {"sad"}


def test_unknown_training_label_is_refused(tiny_encoder_dir):
    with pytest.raises(ValueError, match="not among the 4 known labels"):
        train_emotion_classifier(["x"], ["bored"], LABELS, {}, seed=0, encoder=tiny_encoder_dir)
