"""Tests of the EPITOME reader/splitter, the EPITOME scorer and diff-EPITOME."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
import torch

from empo_kedro.data.epitome import read_epitome_dir, read_epitome_file, split_pairs
from empo_kedro.evaluation import epitome_scorer as es
from empo_kedro.evaluation.empathy_metrics import diff_epitome, per_prompt_squared_gaps
from empo_kedro.evaluation.epitome_scorer import (
    EpitomeScorer,
    encode_pairs,
    level_metrics,
    train_epitome_scorer,
)

from .conftest import make_rows

torch.set_num_threads(2)


# ----------------------------------------------------------------------------- reader


def test_read_epitome_dir_joins_files(epitome_dir, epitome_files):
    df = read_epitome_dir(epitome_dir, epitome_files)
    assert list(df.columns) == [
        "id",
        "sp_id",
        "rp_id",
        "seeker_post",
        "response_post",
        "level_ER",
        "level_IP",
        "level_EX",
        "rationales_ER",
        "rationales_IP",
        "rationales_EX",
    ]
    assert df["id"].tolist() == ["s1_r1", "s1_r2", "s2_r3", "s3_r4"]
    assert df["level_ER"].tolist() == [0, 1, 2, 1]
    assert df["level_IP"].tolist() == [2, 0, 0, 1]
    assert df["level_EX"].tolist() == [0, 0, 2, 0]
    assert df["seeker_post"][0] == "seeker post of s1_r1, with a comma"
    assert df["rationales_ER"][1] == "I am sorry|" and df["rationales_ER"][0] == ""
    assert df.attrs["epitome_dropped_ids"]["kept"] == 4


def test_wrong_header_names_file_and_columns(epitome_dir, epitome_files, write_epitome_csv):
    bad_header = ["id", "sp_id", "rp_id", "seeker", "response_post", "level", "rationales"]
    write_epitome_csv(
        epitome_dir / epitome_files["IP"], [list(r.values()) for r in make_rows(["a_b"], [0])], header=bad_header
    )
    with pytest.raises(ValueError) as exc:
        read_epitome_dir(epitome_dir, epitome_files)
    msg = str(exc.value)
    assert "interpretations-reddit.csv" in msg
    assert "seeker_post" in msg and "'seeker'" in msg  # expected and actual columns


def test_bad_level_names_file_line_and_field(tmp_path, write_epitome_csv):
    rows = make_rows(["a_1", "a_2", "b_3"], [0, 1, 3])
    rows[0]["response_post"] = "a quoted response\nspanning two lines, with a comma"
    f = write_epitome_csv(tmp_path / "er.csv", rows)
    # header = line 1, row a_1 = lines 2-3 (embedded newline), a_2 = line 4, b_3 = line 5
    with pytest.raises(ValueError, match=r"er\.csv: line 5, field 'level': invalid level '3'"):
        read_epitome_file(f)


@pytest.mark.parametrize("bad", ["", "x", "1.5", "-1"])
def test_bad_or_missing_level_value(tmp_path, write_epitome_csv, bad):
    rows = make_rows(["a_1", "a_2"], [0, bad])
    f = write_epitome_csv(tmp_path / "ip.csv", rows)
    with pytest.raises(ValueError, match=r"ip\.csv: line 3, field 'level'"):
        read_epitome_file(f)


def test_missing_text_value_names_field(tmp_path, write_epitome_csv):
    rows = make_rows(["a_1", "a_2"], [0, 1])
    rows[1]["seeker_post"] = ""
    f = write_epitome_csv(tmp_path / "ex.csv", rows)
    with pytest.raises(ValueError, match=r"ex\.csv: line 3, field 'seeker_post': missing value"):
        read_epitome_file(f)


def test_integer_like_float_level_accepted(tmp_path, write_epitome_csv):
    f = write_epitome_csv(tmp_path / "er.csv", make_rows(["a_1", "a_2"], ["2.0", "0"]))
    assert read_epitome_file(f)["level"].tolist() == [2, 0]


def test_duplicate_id_is_an_error(tmp_path, write_epitome_csv):
    f = write_epitome_csv(tmp_path / "er.csv", make_rows(["a_1", "a_1"], [0, 1]))
    with pytest.raises(ValueError, match=r"line 3, field 'id': duplicated id 'a_1' \(first seen on line 2\)"):
        read_epitome_file(f)


def test_empty_file_and_header_only(tmp_path, write_epitome_csv):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv: file is empty"):
        read_epitome_file(empty)
    header_only = write_epitome_csv(tmp_path / "header.csv", [])
    with pytest.raises(ValueError, match=r"header\.csv: file has a header but no data rows"):
        read_epitome_file(header_only)


def test_missing_file(tmp_path, epitome_files):
    # a missing file is reported like any other unusable file (EpitomeFormatError, a ValueError)
    with pytest.raises((FileNotFoundError, ValueError), match="not found: .*emotional-reactions-reddit.csv"):
        read_epitome_dir(tmp_path, epitome_files)


def test_mismatched_ids_counted_logged_and_intersection_kept(tmp_path, write_epitome_csv, epitome_files, caplog):
    write_epitome_csv(tmp_path / epitome_files["ER"], make_rows(["a_1", "a_2", "b_3", "c_4"], [0, 1, 2, 0]))
    write_epitome_csv(tmp_path / epitome_files["IP"], make_rows(["a_1", "a_2", "b_3"], [0, 0, 0]))
    write_epitome_csv(tmp_path / epitome_files["EX"], make_rows(["a_1", "b_3", "c_4", "d_5"], [1, 1, 1, 1]))
    with caplog.at_level(logging.WARNING, logger="empo_kedro.data.epitome"):
        df = read_epitome_dir(tmp_path, epitome_files)
    assert df["id"].tolist() == ["a_1", "b_3"]
    assert df["level_ER"].tolist() == [0, 2]
    info = df.attrs["epitome_dropped_ids"]
    assert info == {"union": 5, "kept": 2, "not_in_every_file": {"ER": 2, "IP": 1, "EX": 2}}
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "5 ids in the union, 2 in all files; 3 ids dropped" in warning
    assert "explorations-reddit.csv: 4 ids, 2 not in every file" in warning


def test_no_common_ids_is_an_error(tmp_path, write_epitome_csv):
    write_epitome_csv(tmp_path / "a.csv", make_rows(["a_1"], [0]))
    write_epitome_csv(tmp_path / "b.csv", make_rows(["b_2"], [0]))
    with pytest.raises(ValueError, match="share no ids"):
        read_epitome_dir(tmp_path, {"ER": "a.csv", "IP": "b.csv"})


def test_text_disagreement_between_files_is_an_error(tmp_path, write_epitome_csv):
    write_epitome_csv(tmp_path / "a.csv", make_rows(["a_1", "a_2"], [0, 1]))
    rows = make_rows(["a_1", "a_2"], [0, 1])
    rows[1]["response_post"] = "something else"
    write_epitome_csv(tmp_path / "b.csv", rows)
    with pytest.raises(ValueError, match=r"b\.csv: field 'response_post' differs .* for 1 ids"):
        read_epitome_dir(tmp_path, {"ER": "a.csv", "IP": "b.csv"})


def test_split_is_deterministic_disjoint_and_sized():
    df = pd.DataFrame({"id": [f"p{i}" for i in range(100)], "sp_id": [f"s{i // 2}" for i in range(100)]})
    a = split_pairs(df, val_fraction=0.1, test_fraction=0.2, seed=7)
    b = split_pairs(df, val_fraction=0.1, test_fraction=0.2, seed=7)
    c = split_pairs(df, val_fraction=0.1, test_fraction=0.2, seed=8)
    assert [len(x) for x in a] == [70, 10, 20]
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert a[2]["id"].tolist() != c[2]["id"].tolist()
    ids = [set(x["id"]) for x in a]
    assert ids[0] | ids[1] | ids[2] == set(df["id"])
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    g = split_pairs(df, val_fraction=0.1, test_fraction=0.2, seed=7, group_column="sp_id")
    groups = [set(x["sp_id"]) for x in g]
    assert [len(s) for s in groups] == [35, 5, 10]
    assert not (groups[0] & groups[2]) and not (groups[0] & groups[1])


@pytest.mark.parametrize("val,test", [(-0.1, 0.1), (0.5, 0.5), (0.1, 1.0)])
def test_split_rejects_bad_fractions(val, test):
    with pytest.raises(ValueError):
        split_pairs(pd.DataFrame({"id": range(10)}), val_fraction=val, test_fraction=test)


def test_real_epitome_data_reads(shared_epitome_dir):
    df = read_epitome_dir(shared_epitome_dir)
    assert len(df) == 2721 and df["id"].is_unique
    for m in ("ER", "IP", "EX"):
        assert set(df[f"level_{m}"]) == {0, 1, 2}


# ----------------------------------------------------------------------------- diff-EPITOME


def test_diff_epitome_identical_is_zero():
    lv = {"ER": [0, 1, 2], "IP": [2, 2, 0], "EX": [1, 0, 0]}
    out = diff_epitome(lv, {k: list(v) for k, v in lv.items()})
    assert out["diff_ER"] == out["diff_IP"] == out["diff_EX"] == out["diff_mean"] == 0.0
    assert out["level_ER_generated"] == out["level_ER_reference"] == pytest.approx(1.0)
    assert out["n_prompts"] == 3


def test_diff_epitome_known_gaps():
    gen = {"ER": [2, 0, 1, 1], "IP": [0, 0, 0, 0], "EX": [2, 2, 2, 2]}
    ref = {"ER": [0, 0, 2, 1], "IP": [2, 2, 2, 2], "EX": [2, 1, 2, 0]}
    out = diff_epitome(gen, ref)
    assert out["diff_ER"] == pytest.approx((4 + 0 + 1 + 0) / 4)
    assert out["diff_IP"] == pytest.approx(4.0)
    assert out["diff_EX"] == pytest.approx((0 + 1 + 0 + 4) / 4)
    assert out["diff_mean"] == pytest.approx((1.25 + 4.0 + 1.25) / 3)
    assert out["level_ER_generated"] == pytest.approx(1.0)
    assert out["level_ER_reference"] == pytest.approx(0.75)
    assert out["level_IP_generated"] == 0.0 and out["level_IP_reference"] == 2.0
    assert out["level_EX_generated"] == 2.0 and out["level_EX_reference"] == pytest.approx(1.25)

    gaps = per_prompt_squared_gaps(gen, ref)
    assert len(gaps) == 4
    assert gaps["sq_gap_ER"].tolist() == [4, 0, 1, 0]
    assert gaps["sq_gap_mean"].tolist() == pytest.approx(
        [(4 + 4 + 0) / 3, (0 + 4 + 1) / 3, (1 + 4 + 0) / 3, (0 + 4 + 4) / 3]
    )
    for m in ("ER", "IP", "EX"):
        assert gaps[f"sq_gap_{m}"].mean() == pytest.approx(out[f"diff_{m}"])
    assert gaps["sq_gap_mean"].mean() == pytest.approx(out["diff_mean"])


def test_diff_epitome_accepts_numpy_arrays():
    out = diff_epitome({"ER": np.array([1, 1])}, {"ER": np.array([0, 2])})
    assert out == {
        "diff_ER": 1.0,
        "diff_mean": 1.0,
        "level_ER_generated": 1.0,
        "level_ER_reference": 1.0,
        "n_prompts": 2,
    }


def test_diff_epitome_validation():
    with pytest.raises(ValueError, match=r"same length.*'generated\[ER\]': 3.*'reference\[ER\]': 2"):
        diff_epitome({"ER": [0, 1, 2]}, {"ER": [0, 1]})
    with pytest.raises(ValueError, match="same length"):
        diff_epitome({"ER": [0, 1], "IP": [0]}, {"ER": [0, 1], "IP": [0]})
    with pytest.raises(ValueError, match="different mechanisms"):
        diff_epitome({"ER": [0]}, {"IP": [0]})
    with pytest.raises(ValueError, match=r"generated levels for 'ER' must be in \[0, 1, 2\].*index 1: 3"):
        diff_epitome({"ER": [0, 3]}, {"ER": [0, 1]})
    with pytest.raises(ValueError, match="empty"):
        diff_epitome({"ER": []}, {"ER": []})


# ----------------------------------------------------------------------------- scorer


def test_level_metrics_known_values():
    out = level_metrics({"ER": [0, 0, 1, 2]}, {"ER": [0, 1, 1, 2]})
    assert out["ER"]["accuracy"] == 0.75
    assert out["ER"]["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert out["ER"]["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_encode_pairs_truncates_seeker_harder_and_tags_rationales(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_encoder_dir))
    seeker = " ".join(["sad"] * 50)
    response = "i feel alone . " + " ".join(["good"] * 50)
    [item] = encode_pairs(
        tok,
        [seeker],
        [response],
        max_length=40,
        max_seeker_tokens=8,
        rationales={"ER": ["i feel alone|"]},
        levels={"ER": [1]},
    )
    ids = item["input_ids"]
    assert len(ids) == 40
    assert ids.count(tok.convert_tokens_to_ids("sad")) == 8  # seeker capped at 8 tokens
    assert ids.count(tok.convert_tokens_to_ids("good")) == 40 - 3 - 8 - 4  # response gets the rest
    labels = item["rationale_labels"][:, 0]
    assert labels.tolist()[:10] == [-100] * 10  # [CLS] + 8 seeker tokens + [SEP]
    assert labels.tolist()[10:15] == [1, 1, 1, 0, 0]  # "i feel alone" tagged, "." not
    assert labels[-1] == -100  # final [SEP]


def test_unknown_param_rejected(tiny_pairs, tiny_encoder_dir):
    with pytest.raises(ValueError, match="Unknown EPITOME scorer params.*learning_rat"):
        train_epitome_scorer(tiny_pairs, tiny_encoder_dir, {"learning_rat": 1e-3})


def test_tiny_scorer_trains_predicts_and_round_trips(tiny_pairs, tiny_encoder_dir, tiny_params, tmp_path, monkeypatch):
    scorer, metrics = train_epitome_scorer(tiny_pairs, tiny_encoder_dir, tiny_params, seed=0)
    assert metrics["epochs_run"] == 1 and metrics["best_epoch"] == 1
    assert metrics["n_train"] + metrics["n_val"] == len(tiny_pairs)
    assert set(metrics["val"]) == {"ER", "IP", "EX"}

    seekers, responses = tiny_pairs["seeker_post"].tolist(), tiny_pairs["response_post"].tolist()
    pred = scorer.predict(seekers, responses, batch_size=5)
    proba = scorer.predict_proba(seekers, responses, batch_size=5)
    assert set(pred) == {"ER", "IP", "EX"}
    for m in pred:
        assert pred[m].shape == (len(tiny_pairs),) and pred[m].dtype == np.int64
        assert set(np.unique(pred[m])) <= {0, 1, 2}
        np.testing.assert_allclose(proba[m].sum(1), 1.0, rtol=1e-5)
    # batch size does not change predictions (length-sorted batching keeps row order)
    pred_big = scorer.predict(seekers, responses, batch_size=64)
    for m in pred:
        np.testing.assert_array_equal(pred[m], pred_big[m])
    # nor do the other replies of a batch: a reply scored alone gets the probabilities it got among all of them
    alone = scorer.predict_proba(seekers[:1], responses[:1])
    for m in pred:
        np.testing.assert_allclose(alone[m][0], proba[m][0], atol=1e-5)

    out = scorer.save(tmp_path / "scorer")
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"model.safetensors", "epitome_scorer.json", "encoder/config.json"} <= files
    assert not [f for f in files if re.search(r"\.(bin|pt|pth|pkl|pickle|ckpt)$", f)]

    def _no_torch_load(*a, **k):
        raise AssertionError("EpitomeScorer.load must not call torch.load")

    monkeypatch.setattr(torch, "load", _no_torch_load)
    loaded = EpitomeScorer.load(out)
    pred2 = loaded.predict(seekers, responses, batch_size=7)
    proba2 = loaded.predict_proba(seekers, responses, batch_size=7)
    for m in pred:
        np.testing.assert_array_equal(pred[m], pred2[m])
        np.testing.assert_allclose(proba[m], proba2[m], rtol=1e-5, atol=1e-6)

    ev = loaded.evaluate(seekers, responses, {m: tiny_pairs[f"level_{m}"] for m in ("ER", "IP", "EX")})
    for m in ("ER", "IP", "EX"):
        assert 0.0 <= ev[m]["accuracy"] <= 1.0 and 0.0 <= ev[m]["macro_f1"] <= 1.0
        assert np.array(ev[m]["confusion"]).sum() == len(tiny_pairs)


def test_load_rejects_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="epitome_scorer.json"):
        EpitomeScorer.load(tmp_path)


def test_train_without_rationale_columns_needs_flag(tiny_pairs, tiny_encoder_dir, tiny_params):
    df = tiny_pairs.drop(columns=["rationales_ER", "rationales_IP", "rationales_EX"])
    with pytest.raises(ValueError, match="rationale_loss_weight"):
        train_epitome_scorer(df, tiny_encoder_dir, tiny_params)
    scorer, _ = train_epitome_scorer(df, tiny_encoder_dir, {**tiny_params, "rationale_loss_weight": 0}, seed=1)
    assert scorer.model.rationale_head is None


@pytest.mark.slow
def test_real_minilm_on_shared_data_predicts_valid_levels(shared_epitome_dir, tmp_path):
    df = read_epitome_dir(shared_epitome_dir)
    train, _, test = split_pairs(df, val_fraction=0.0, test_fraction=0.05, seed=3, group_column="sp_id")
    params = {
        "epochs": 1,
        "batch_size": 16,
        "max_length": 128,
        "max_seeker_tokens": 48,
        "num_threads": 2,
        "device": "cpu",
    }
    scorer, metrics = train_epitome_scorer(train.head(60), None, params, seed=0)
    assert metrics["n_train"] + metrics["n_val"] == 60
    sample = test.head(20)
    pred = scorer.predict(sample["seeker_post"].tolist(), sample["response_post"].tolist(), batch_size=8)
    for m in ("ER", "IP", "EX"):
        assert pred[m].shape == (20,) and set(np.unique(pred[m])) <= {0, 1, 2}
    loaded = EpitomeScorer.load(scorer.save(tmp_path / "minilm"))
    pred2 = loaded.predict(sample["seeker_post"].tolist(), sample["response_post"].tolist(), batch_size=8)
    for m in pred:
        np.testing.assert_array_equal(pred[m], pred2[m])


def test_tune_logit_bias_recovers_rare_class():
    # class 1 is never the argmax without an offset, although it is the second choice for its rows
    y = np.array([0] * 10 + [1] * 4 + [2] * 6)
    logp = np.log(np.array([[0.8, 0.1, 0.1]] * 10 + [[0.5, 0.4, 0.1]] * 4 + [[0.2, 0.1, 0.7]] * 6))
    offsets, before, after = es._tune_logit_bias(logp, y, [-1.0, 0.0, 0.5, 1.0], min_gain=0.01)
    assert offsets == [0.0, 0.5, 0.0]  # smallest offset that makes the level-1 rows level 1
    assert after == pytest.approx(1.0) and before < after
    same, b, a = es._tune_logit_bias(logp, y, [0.0, 0.5], min_gain=0.5)  # gain below threshold
    assert same == [0.0, 0.0, 0.0] and a == b


def test_tuned_logit_bias_is_saved_and_applied(tiny_pairs, tiny_encoder_dir, tiny_params, tmp_path):
    scorer, metrics = train_epitome_scorer(
        tiny_pairs, tiny_encoder_dir, {**tiny_params, "tune_logit_bias": True, "logit_bias_min_gain": 0.0}, seed=2
    )
    assert set(metrics["logit_bias"]) == {"ER", "IP", "EX"}
    scorer.config["logit_bias"]["ER"] = [0.0, 0.0, 50.0]  # force level 2 everywhere
    seekers, responses = tiny_pairs["seeker_post"].tolist(), tiny_pairs["response_post"].tolist()
    assert (scorer.predict(seekers, responses)["ER"] == 2).all()
    loaded = EpitomeScorer.load(scorer.save(tmp_path / "biased"))
    assert loaded.config["logit_bias"]["ER"] == [0.0, 0.0, 50.0]
    assert (loaded.predict(seekers, responses)["ER"] == 2).all()
    raw = loaded.predict_proba(seekers, responses, apply_logit_bias=False)["ER"]
    np.testing.assert_array_equal(loaded.predict(seekers, responses, apply_logit_bias=False)["ER"], raw.argmax(1))
