"""Reading other systems' prediction files: the three formats, and bad files that fail clearly or skip countably."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from empo_kedro.evaluation.predictions import PredictionsFormatError, detect_format, parse_level, read_predictions
from empo_kedro.io.predictions_dataset import PredictionsDataset
from tests.evaluation.prediction_files import (
    ROWS,
    empo_frame,
    write_empo,
    write_generations,
    write_plain_csv,
    write_plain_jsonl,
    zephyr_prompt,
)

LEVELS = {
    "pred_ER_scores": [2, 0, 1, 0],
    "pred_IP_scores": [0, 1, 1, 2],
    "pred_EX_scores": [0, 2, 0, 2],
    "gt_ER_scores": [2, 1, 0, 0],
    "gt_IP_scores": [0, 0, 0, 1],
    "gt_EX_scores": [2, 0, 2, 0],
}


def test_empo_file_as_the_authors_write_it(tmp_path):
    path = write_empo(tmp_path / "preds_zephyr.txt", empo_frame(LEVELS))
    raw = path.read_text()
    assert raw.startswith("~chat_templates~") and raw.count("\n") > len(ROWS) + 1  # prompts span lines

    predictions = read_predictions(path)
    frame = predictions.frame
    assert detect_format(path) == "empo" and predictions.report.format == "empo"
    assert frame["context"].tolist() == [c for c, _, _, _ in ROWS]
    assert frame["response"].tolist() == [g for _, g, _, _ in ROWS]
    assert frame["reference"].tolist() == [r for _, _, r, _ in ROWS]  # '~' and '"' inside fields survive
    assert frame["emotion"].tolist() == [e for _, _, _, e in ROWS]
    assert frame["conv_id"].tolist() == ["0", "1", "2", "3"]  # the unnamed index column
    assert frame["source"].iloc[0] == "lines 2-7"  # a quoted multi-line prompt: where the record sits
    assert frame["published_level_ER"].tolist() == LEVELS["pred_ER_scores"]
    assert frame["published_level_EX_reference"].tolist() == LEVELS["gt_EX_scores"]
    assert predictions.has_published_levels
    assert predictions.report.as_dict()["skipped"] == 0


def test_empo_file_read_and_written_again_keeps_working(tmp_path):
    """pandas adds an 'Unnamed: 0' column each time the file goes through read_csv/to_csv."""
    first = write_empo(tmp_path / "a.txt")
    pd.read_csv(first, sep="~").to_csv(tmp_path / "b.txt", sep="~")
    frame = read_predictions(tmp_path / "b.txt").frame
    assert len(frame) == len(ROWS) and frame["conv_id"].tolist() == ["0", "1", "2", "3"]
    assert "published_level_ER" not in frame  # no level columns: no agreement


def test_plain_csv_and_jsonl_read_the_same_rows(tmp_path):
    from_csv = read_predictions(write_plain_csv(tmp_path / "p.csv")).frame
    from_jsonl = read_predictions(write_plain_jsonl(tmp_path / "p.jsonl")).frame
    columns = ["context", "response", "reference", "emotion"]
    assert from_csv[columns].equals(from_jsonl[columns])
    assert from_csv["context"].tolist() == [c for c, _, _, _ in ROWS]
    assert detect_format(tmp_path / "p.csv") == "plain"
    assert read_predictions(tmp_path / "p.jsonl").report.format == "plain (JSONL)"


def test_plain_file_without_emotion_and_with_ids(tmp_path):
    rows = [(f"id{i}", c, g, r) for i, (c, g, r, _) in enumerate(ROWS)]
    frame = read_predictions(
        write_plain_csv(tmp_path / "p.csv", rows, ("id", "context", "response", "reference")), "plain"
    ).frame
    assert frame["conv_id"].tolist() == ["id0", "id1", "id2", "id3"] and "emotion" not in frame


def test_our_generations_keep_their_variants(tmp_path):
    predictions = read_predictions(write_generations(tmp_path / "generations.parquet"))
    assert predictions.report.format == "generations"
    assert predictions.frame.groupby("variant").size().to_dict() == {"base": 4, "dpo": 4, "sft": 4}
    assert "prompt" not in predictions.frame


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    path = write_empo(tmp_path / "x.txt", empo_frame().drop(columns=["gen_targets"]))
    with pytest.raises(PredictionsFormatError, match=r"x\.txt: missing column\(s\) \['gen_targets'\].*'empo'"):
        read_predictions(path, "empo")
    with pytest.raises(PredictionsFormatError, match=r"missing column\(s\) \['reference'\]"):
        read_predictions(write_plain_csv(tmp_path / "p.csv", [r[:2] for r in ROWS], ("context", "response")))


def test_bad_records_are_skipped_with_their_line_and_counted(tmp_path, caplog):
    path = tmp_path / "p.csv"
    path.write_text(
        "context,response,reference\n"
        "I lost my keys.,Oh no!,That is annoying.\n"
        "\n"  # blank line: ignored, counted
        "only,two\n"  # line 4: wrong field count
        ",A reply.,A reference.\n"  # line 5: empty context
        "I am tired.,,Get some rest.\n"  # line 6: empty generated reply: kept, flagged
        "I passed!,Well done!,Congrats!\n",
        encoding="utf-8",
    )
    predictions = read_predictions(path)
    report = predictions.report.as_dict()
    assert predictions.frame["context"].tolist() == ["I lost my keys.", "I am tired.", "I passed!"]
    assert predictions.frame["empty_response"].tolist() == [False, True, False]
    assert report["records"] == 5 and report["rows"] == 3 and report["empty_records"] == 1
    assert report["skipped_by_reason"] == {"wrong field count": 1, "empty or missing 'context'": 1}
    assert report["skipped_examples"][0] == "line 4: wrong field count: 2 fields, the header has 3"
    assert report["empty_response_examples"] == ["line 6"]
    assert "p.csv:line 5: empty or missing 'context'" in caplog.text


def test_jsonl_bad_lines_are_skipped_with_their_line(tmp_path):
    path = tmp_path / "p.jsonl"
    good = json.dumps({"context": "Hi", "response": "Hello", "reference": "Hey"})
    path.write_text(f"{good}\n{{not json\n[1, 2]\n{json.dumps({'context': 'Hi', 'response': 'x'})}\n{good}\n")
    predictions = read_predictions(path)
    skipped = predictions.report.as_dict()["skipped_examples"]
    assert len(predictions.frame) == 2
    assert skipped[0].startswith("line 2: invalid JSON")
    assert skipped[1] == "line 3: not a JSON object: list"
    assert skipped[2] == "line 4: empty or missing 'reference'"


def test_unreadable_levels_are_counted_and_left_missing(tmp_path):
    levels = {**LEVELS, "pred_ER_scores": ["2", "high", "", "1.0"], "gt_ER_scores": [2, 7, 0, 0]}
    predictions = read_predictions(write_empo(tmp_path / "x.txt", empo_frame(levels)))
    assert predictions.frame["published_level_ER"].tolist()[::3] == [2, 1]
    assert predictions.frame["published_level_ER"].isna().tolist() == [False, True, True, False]
    assert predictions.report.as_dict()["invalid_levels"] == {"pred_ER_scores": 2, "gt_ER_scores": 1}
    assert len(predictions.frame) == 4  # the replies are still scored
    assert [parse_level(v) for v in (0, "2", "1.0", 1.5, "x", None, 3)] == [0, 2, 1, None, None, None, None]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", r"the file is empty"),
        ('[{"context": "a"}]\n', r"line 1 starts a JSON array"),
    ],
)
def test_unusable_files_fail_with_the_file_name(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(PredictionsFormatError, match=rf"bad\.jsonl.*{message}"):
        read_predictions(path)


def test_more_unusable_files(tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("context,response,reference\ncaf\xe9,b,c\n".encode("latin-1"))
    with pytest.raises(PredictionsFormatError, match=r"latin1\.csv: not UTF-8"):
        read_predictions(latin1)
    not_parquet = tmp_path / "g.parquet"
    not_parquet.write_text("context,response\n")
    with pytest.raises(PredictionsFormatError, match=r"g\.parquet: not a readable Parquet file"):
        read_predictions(not_parquet)
    with pytest.raises(PredictionsFormatError, match=r"'generations' format is the Parquet file"):
        read_predictions(write_plain_csv(tmp_path / "p.csv"), "generations")
    with pytest.raises(PredictionsFormatError, match=r"no such predictions file"):
        read_predictions(tmp_path / "missing.csv")
    with pytest.raises(PredictionsFormatError, match=r"Unknown predictions format 'xml'"):
        read_predictions(write_plain_csv(tmp_path / "p.csv"), "xml")


def test_no_usable_row_and_repeated_ids_are_errors(tmp_path):
    empty_refs = write_plain_csv(tmp_path / "e.csv", [(c, g, "", e) for c, g, _, e in ROWS])
    with pytest.raises(PredictionsFormatError, match=r"e\.csv: no usable row .*4 skipped"):
        read_predictions(empty_refs)
    repeated = [("same", c, g, r) for c, g, r, _ in ROWS]
    path = write_plain_csv(tmp_path / "r.csv", repeated, ("conv_id", "context", "response", "reference"))
    with pytest.raises(PredictionsFormatError, match=r"4 rows share an id; e\.g\. conv_id 'same' at line 2, line 3"):
        read_predictions(path)


def test_an_unknown_comma_file_is_not_mistaken_for_an_empo_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("~a~b\n0~x~y\n")
    assert detect_format(path) == "plain"
    assert detect_format(write_empo(tmp_path / "e.txt")) == "empo"
    assert zephyr_prompt("hi").count("\n") == 5


def test_dataset_loads_and_is_read_only(tmp_path):
    from kedro.io import DatasetError

    dataset = PredictionsDataset(str(write_empo(tmp_path / "x.txt")), format="empo")
    assert dataset.exists() and len(dataset.load().frame) == len(ROWS)
    assert not PredictionsDataset(str(tmp_path / "nope.txt")).exists()
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(pd.DataFrame())
