"""Tests for the offline MMLU task built from lm-eval's shipped dev questions."""

from __future__ import annotations

import json
import logging
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from empo_kedro.evaluation.mmlu import (  # noqa: E402
    parse_shipped_mmlu,
    run_mmlu,
    shipped_prompts_path,
    write_local_mmlu_task,
)
from tests.tiny_models import load_tiny, make_tiny_causal_lm  # noqa: E402


@pytest.fixture(scope="module")
def parsed():
    return parse_shipped_mmlu()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_mmlu"))


def test_parser_covers_every_shipped_subject(parsed):
    questions, malformed = parsed
    shipped = json.loads(shipped_prompts_path().read_text(encoding="utf-8"))
    assert len(shipped) == 57
    n_blocks = sum(p.count("\n\nQ: ") for p in shipped.values())
    # nothing dropped silently: every Q: block is either parsed or reported
    assert len(questions) + len(malformed) == n_blocks
    for subject in shipped:
        items = [q for q in questions if q["subject"] == subject]
        assert len(items) >= 1, subject
        for q in items:
            assert len(q["choices"]) == 4, (subject, q["index"])
            assert all(isinstance(c, str) and c for c in q["choices"])
            assert 0 <= q["answer_index"] <= 3
            assert q["question"] and "\nA: " not in q["question"]
    for bad in malformed:
        assert set(bad) == {"subject", "index", "reason"} and bad["reason"]


def test_parser_known_items(parsed):
    questions, malformed = parsed
    # college_chemistry #3 has options (A)..(E): reported, not parsed
    assert {"subject": "college_chemistry", "index": 3, "reason": "5 options (A)..(E), expected 4"} in malformed
    by_key = {(q["subject"], q["index"]): q for q in questions}
    first = by_key[("abstract_algebra", 0)]
    assert first["choices"] == ["True, True", "False, False", "True, False", "False, True"]
    assert first["answer_index"] == 2
    # options given one per line, some spanning two lines
    multi = by_key[("high_school_computer_science", 4)]
    assert multi["choices"][1].startswith("Step 3: Increase the value of position by 1.")
    assert multi["answer_index"] == 1
    assert by_key[("elementary_mathematics", 1)]["choices"] == ["5 thousands", "5 hundreds", "5 tens", "5 ones"]


def test_parser_logs_malformed(tmp_path, caplog):
    prompts = {
        "toy": "The following are multiple choice questions (with answers) about toy.\n\n"
        "Q: Good?\n(A) a (B) b (C) c (D) d\nA: Let's think step by step. The answer is (B).\n\n"
        "Q: Three options?\n(A) a (B) b (C) c\nA: The answer is (A).\n\n"
        "Q: No answer?\n(A) a (B) b (C) c (D) d\nA: I do not know.\n\n"
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(prompts))
    with caplog.at_level(logging.WARNING):
        questions, malformed = parse_shipped_mmlu(path)
    assert [q["answer_index"] for q in questions] == [1]
    assert [m["index"] for m in malformed] == [1, 2]
    assert "3 options" in malformed[0]["reason"] and "answer is" in malformed[1]["reason"]
    assert caplog.text.count("malformed") == 2


def test_local_task_config_is_offline(parsed, tmp_path):
    config = write_local_mmlu_task(parsed[0][:3], tmp_path)
    assert config["dataset_path"] == "json"
    assert config["output_type"] == "multiple_choice"
    assert config["doc_to_choice"] == ["A", "B", "C", "D"]
    lines = (tmp_path / "empo_mmlu_local.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["answer"] == 2


def test_run_mmlu_end_to_end_on_tiny_model(tiny_dir):
    out = run_mmlu(str(tiny_dir), limit=5, batch_size=4, device="cpu", dtype="float32")
    assert 0.0 <= out["accuracy"] <= 1.0
    assert out["n_questions"] == 5
    assert out["n_malformed"] == len(out["malformed"]) >= 1
    assert sum(v["n"] for v in out["per_subject"].values()) == 5
    assert len(out["per_question"]) == 5
    assert all(len(r["loglikelihoods"]) == 4 for r in out["per_question"])
    assert out["accuracy"] == pytest.approx(sum(r["correct"] for r in out["per_question"]) / 5)
    assert out["elapsed_s"] < 60


def test_run_mmlu_with_model_object_and_subjects(tiny_dir):
    model, tok = load_tiny(tiny_dir)
    out = run_mmlu(model=model, tokenizer=tok, subjects=["anatomy"], limit=2, batch_size=2)
    assert out["n_questions"] == 2
    assert list(out["per_subject"]) == ["anatomy"]
    with pytest.raises(ValueError, match="Unknown MMLU subjects"):
        run_mmlu(model=model, tokenizer=tok, subjects=["not_a_subject"], limit=1)
