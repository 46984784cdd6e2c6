"""Tests for BERTScore (local MiniLM encoder), length and distinct-n."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from empo_kedro.evaluation.encoders import MINILM_NAME, default_encoder_path  # noqa: E402
from empo_kedro.evaluation.text_metrics import (  # noqa: E402
    bertscore,
    distinct_n,
    response_length_words,
)

REF = "I am so sorry to hear about your dog, losing a friend like that really hurts."
UNRELATED = "The quarterly revenue of the semiconductor company exceeded forecasts."


def test_default_encoder_path_is_bundled_minilm():
    path = default_encoder_path()
    assert (path / "config.json").is_file()
    assert (path / "model.safetensors").is_file()


def test_default_encoder_path_missing_package_is_clear():
    with pytest.raises(FileNotFoundError, match="not installed"):
        default_encoder_path(package="no_such_encoder_package_xyz")


def test_bertscore_identical_unrelated_and_empty(caplog):
    cands = [REF, UNRELATED, "", "   "]
    refs = [REF, REF, REF, REF]
    with caplog.at_level(logging.WARNING):
        out = bertscore(cands, refs, num_layers=6, batch_size=8, device="cpu")
    f1 = out["f1"]
    assert f1.shape == (4,)
    assert f1[0] == pytest.approx(1.0, abs=1e-4)
    assert out["precision"][0] == pytest.approx(1.0, abs=1e-4)
    assert f1[1] < f1[0] - 0.2
    # empty / whitespace-only candidates: scored 0, counted and logged, no crash
    assert f1[2] == 0.0 and f1[3] == 0.0
    assert out["n_empty_candidates"] == 2
    assert out["empty_indices"] == [2, 3]
    assert "empty" in caplog.text
    assert out["f1_mean"] == pytest.approx(float(f1.mean()))
    assert out["backbone"] == MINILM_NAME
    assert out["num_layers"] == 6
    assert out["rescaled"] is False and out["baseline"] is None


def test_bertscore_truncates_long_inputs_and_rescales():
    long_text = " ".join(["empathy"] * 1500)
    out = bertscore(
        [long_text, REF],
        [REF, REF],
        num_layers=4,
        max_length=128,
        device="cpu",
        rescale_baseline=(0.2, 0.2, 0.2),
    )
    assert out["n_truncated"] == 1
    assert out["max_length"] == 128
    assert out["rescaled"] is True
    # identical pair: (1 - b) / (1 - b) == 1 after rescaling
    assert out["f1"][1] == pytest.approx(1.0, abs=1e-4)
    assert np.isfinite(out["f1"]).all()


def test_bertscore_all_empty_does_not_load_encoder():
    out = bertscore(["", ""], ["a", ""], num_layers=6)
    assert out["f1"].tolist() == [0.0, 0.0]
    assert out["n_empty_references"] == 1


def test_bertscore_length_mismatch():
    with pytest.raises(ValueError, match="pair up"):
        bertscore(["a"], ["a", "b"], num_layers=6)


def test_response_length_words():
    out = response_length_words(["hello world", "", "  one   two\tthree\n"])
    assert out.tolist() == [2, 0, 3]
    assert out.dtype == np.int64


def test_distinct_n_known_answers():
    texts = ["I am fine", "i AM sad"]
    # unigrams: i, am, fine, i, am, sad -> 4 unique / 6 total
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    # bigrams: (i am), (am fine), (i am), (am sad) -> 3 unique / 4 total
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    # n-grams do not cross texts: one trigram per text, both distinct
    assert distinct_n(texts, 3) == 1.0
    assert distinct_n(["a b"], 3) == 0.0
    assert distinct_n([], 1) == 0.0
    with pytest.raises(ValueError):
        distinct_n(texts, 0)
