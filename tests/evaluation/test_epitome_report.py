"""The EPITOME scorer's held-out report: known figures from a known confusion matrix, and the pipeline node that
reports on a test split it never trained or selected on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score

from empo_kedro.data.epitome import split_pairs
from empo_kedro.evaluation.epitome.report import PUBLISHED_EPITOME, macro_f1_of_confusions, scorer_heldout_report
from empo_kedro.evaluation.epitome.scorer import level_metrics
from empo_kedro.pipelines.evaluation import nodes


def test_heldout_report_known_recall_gaps_and_an_undefined_recall():
    true = {"ER": [0, 0, 0, 1, 1, 2, 2, 2], "IP": [0, 0, 1, 1]}
    pred = {"ER": [0, 0, 1, 1, 2, 2, 2, 0], "IP": [0, 1, 1, 1]}
    figures, confusion = scorer_heldout_report(level_metrics(true, pred))
    # ER confusion (rows true): [[2,1,0],[0,1,1],[1,0,2]] -> recall 2/3, 1/2, 2/3; accuracy 5/8.
    assert confusion["ER"] == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    er = figures["ER"]
    assert er["recall_level_0"] == pytest.approx(2 / 3) and er["recall_level_1"] == pytest.approx(1 / 2)
    assert er["recall_level_2"] == pytest.approx(2 / 3) and er["n"] == 8
    assert er["accuracy_gap"] == pytest.approx(5 / 8 - PUBLISHED_EPITOME["ER"]["accuracy"])
    assert er["macro_f1_gap"] == pytest.approx(er["macro_f1"] - 0.745)
    # IP has no true level 2: its recall is undefined (None), not 0.
    assert figures["IP"]["recall_level_2"] is None and figures["IP"]["recall_level_0"] == pytest.approx(0.5)
    json.dumps(figures)


def test_macro_f1_from_the_confusion_matrix_is_scikit_learn_s():
    """Every level listed, 0 for a level neither true nor predicted (here level 2 on the last draw)."""
    rng = np.random.default_rng(0)
    for true, pred in [
        (rng.integers(0, 3, 60), rng.integers(0, 3, 60)),
        (rng.integers(0, 2, 40), np.zeros(40, dtype=int)),
    ]:
        confusion = confusion_matrix(true, pred, labels=[0, 1, 2])
        expected = f1_score(true, pred, labels=[0, 1, 2], average="macro", zero_division=0)
        assert macro_f1_of_confusions(confusion) == pytest.approx(expected)
        figures, _ = scorer_heldout_report({"ER": {"confusion": confusion.tolist()}})
        assert figures["ER"]["macro_f1"] == pytest.approx(expected)
        assert figures["ER"]["accuracy"] == pytest.approx(np.mean(true == pred))


def test_mean_level_bias_is_predicted_minus_true_mean_level():
    # true levels 0,0,1,2 (mean 3/4); predicted 1,0,2,2 (mean 5/4): bias +1/2.
    _, confusion = scorer_heldout_report(level_metrics({"IP": [0, 0, 1, 2]}, {"IP": [1, 0, 2, 2]}))
    figures, _ = scorer_heldout_report({"IP": {"confusion": confusion["IP"]}})
    assert figures["IP"]["mean_level_true"] == pytest.approx(0.75)
    assert figures["IP"]["mean_level_predicted"] == pytest.approx(1.25)
    assert figures["IP"]["mean_level_bias"] == pytest.approx(0.5)


def test_macro_f1_interval_holds_the_estimate_narrows_with_more_pairs_and_repeats_with_the_seed():
    small = [[40, 5, 5], [6, 8, 6], [4, 4, 22]]
    large = [[10 * c for c in row] for row in small]  # same shares, ten times the pairs
    interval = {"n_resamples": 2000, "level": 0.95}
    small_figures, _ = scorer_heldout_report({"EX": {"confusion": small}}, interval=interval, seed=1)
    large_figures, _ = scorer_heldout_report({"EX": {"confusion": large}}, interval=interval, seed=1)
    f1 = small_figures["EX"]["macro_f1"]
    assert f1 == pytest.approx(large_figures["EX"]["macro_f1"])
    assert small_figures["EX"]["macro_f1_low"] < f1 < small_figures["EX"]["macro_f1_high"]
    width = {
        k: v["EX"]["macro_f1_high"] - v["EX"]["macro_f1_low"] for k, v in (("s", small_figures), ("l", large_figures))
    }
    # the width of a proportion-like statistic shrinks with sqrt(n): about 1/sqrt(10) of it
    assert 0.2 < width["l"] / width["s"] < 0.45
    again, _ = scorer_heldout_report({"EX": {"confusion": small}}, interval=interval, seed=1)
    assert again == small_figures
    assert "macro_f1_low" not in scorer_heldout_report({"EX": {"confusion": small}})[0]["EX"]


def test_published_figures_are_the_issue_s_macro_f1():
    assert {m: v["macro_f1"] for m, v in PUBLISHED_EPITOME.items()} == {"ER": 0.745, "IP": 0.626, "EX": 0.726}


def test_node_reports_on_a_test_split_never_used_for_training_or_selection(
    monkeypatch, tiny_encoder_dir, tiny_pairs, tiny_params
):
    seen: dict[str, pd.DataFrame] = {}
    real_train = nodes.train_epitome_scorer

    def recording_train(train, encoder, params, seed, val_df=None):
        seen["train"], seen["val"] = train, val_df
        return real_train(train, encoder, params, seed, val_df=val_df)

    monkeypatch.setattr(nodes, "train_epitome_scorer", recording_train)
    params = {
        "encoder": str(tiny_encoder_dir),
        "val_fraction": 0.25,
        "test_fraction": 0.25,
        "group_column": "sp_id",
        "batch_size": 8,
        "heldout_interval": {"n_resamples": 200, "level": 0.9},
        "scorer": tiny_params,
    }
    scorer, report = nodes.train_epitome(tiny_pairs, params, seed=3)

    _, _, test = split_pairs(tiny_pairs, 0.25, 0.25, 3, group_column="sp_id")
    test_groups = set(test["sp_id"])
    assert test_groups
    assert not test_groups & set(seen["train"]["sp_id"]) and not test_groups & set(seen["val"]["sp_id"])
    assert report["n_pairs"] == {"train": len(seen["train"]), "val": len(seen["val"]), "test": len(test)}
    for m in ("ER", "IP", "EX"):
        confusion = report["heldout_confusion"][m]
        true_counts = test[f"level_{m}"].value_counts()
        assert [sum(row) for row in confusion] == [int(true_counts.get(level, 0)) for level in (0, 1, 2)]
        figures = report["heldout_test"][m]
        assert figures["n"] == len(test)
        for level in (0, 1, 2):
            row = confusion[level]
            expected = row[level] / sum(row) if sum(row) else None
            assert figures[f"recall_level_{level}"] == (pytest.approx(expected) if expected is not None else None)
        assert figures["macro_f1_gap"] == pytest.approx(figures["macro_f1"] - PUBLISHED_EPITOME[m]["macro_f1"])
        assert figures["macro_f1_low"] <= figures["macro_f1_high"]
        assert figures["mean_level_true"] == pytest.approx(test[f"level_{m}"].mean())
    assert report["published"] == PUBLISHED_EPITOME and "Sharma" in report["published_source"]
    json.dumps(report)

    metrics = nodes.epitome_metrics(report)
    assert metrics["IP_macro_f1"]["value"] == report["heldout_test"]["IP"]["macro_f1"]
    assert "ER_recall_level_1" in metrics or report["heldout_test"]["ER"]["recall_level_1"] is None
    assert all(v["value"] is not None for v in metrics.values())
