"""The ED release reader on tricky lines: unquoted fields, _comma_, quotes, wrong field counts, artifacts."""

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empo_kedro.data.ed_reader import (
    ED_HEADER,
    EdFormatError,
    check_emotion_labels,
    parse_ed_lines,
    read_ed_file,
    read_ed_release,
)


def ed_line(conv, idx, emotion, prompt, speaker, utterance, selfeval="5|5|5_5|5|5", tags=""):
    return ",".join([conv, str(idx), emotion, prompt, str(speaker), utterance, selfeval, tags])


def test_comma_escape_and_quotes_are_read_as_text():
    lines = [
        ED_HEADER,
        ed_line("hit:1_conv:2", 1, "sad", "My dog died_comma_ sadly.", 3, 'She said "never again"_comma_ and left.'),
        ed_line("hit:1_conv:2", 2, "sad", "My dog died_comma_ sadly.", 4, "Oh no_comma_ I'm so sorry."),
    ]
    frame, report = parse_ed_lines(lines, "x.csv", "train")
    assert frame["utterance"].tolist() == ['She said "never again", and left.', "Oh no, I'm so sorry."]
    assert frame["situation"].iloc[0] == "My dog died, sadly."
    assert report.rows == 2 and not report.skipped


def test_a_quote_does_not_swallow_the_next_lines():
    # pandas' default CSV quoting would join these lines into one field.
    lines = [
        ED_HEADER,
        ed_line("hit:1_conv:2", 1, "sad", "p", 3, 'He said "wait'),
        ed_line("hit:1_conv:2", 2, "sad", "p", 4, 'ok" then'),
    ]
    frame, _ = parse_ed_lines(lines, "x.csv", "train")
    assert len(frame) == 2


def test_malformed_lines_are_skipped_and_reported_with_line_numbers(caplog):
    lines = [
        ED_HEADER,
        ed_line("hit:1_conv:2", 1, "sad", "p", 3, "fine line"),
        "hit:1_conv:2,2,sad,p,4,an, unescaped comma,5|5|5,",  # 9 fields
        ed_line("hit:1_conv:2", "x", "sad", "p", 4, "bad index"),  # not an integer
        ed_line("hit:1_conv:2", 4, "sad", "p", 4, "glued hit:9_conv:18 record"),
        ed_line("hit:1_conv:2", 5, "sad", "p", 4, "   "),  # empty utterance
        "",
    ]
    frame, report = parse_ed_lines(lines, "x.csv", "train")
    assert len(frame) == 1
    assert [s.line for s in report.skipped] == [3, 4, 5, 6, 7]
    assert report.skipped_by_reason() == {
        "wrong_field_count": 1,
        "bad_integer": 1,
        "hit_artifact": 1,
        "empty_utterance": 1,
        "blank_line": 1,
    }
    assert "x.csv:3" in caplog.text


def test_wrong_header_names_file_and_line(tmp_path: Path):
    path = tmp_path / "train.csv"
    path.write_text("conv_id,utterance_idx,emotion\nhit:1_conv:2,1,sad\n")
    with pytest.raises(EdFormatError, match=r"train\.csv:1: wrong header"):
        read_ed_file(path, "train")


def test_empty_file_and_no_usable_rows_stop_the_read(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EdFormatError, match="empty"):
        read_ed_file(empty, "train")
    junk = tmp_path / "junk.csv"
    junk.write_text(ED_HEADER + "\na,b,c\n")
    with pytest.raises(EdFormatError, match="no usable rows"):
        read_ed_file(junk, "train")


def test_unknown_label_names_file_line_and_value():
    lines = [
        ED_HEADER,
        ed_line("hit:1_conv:2", 1, "sad", "p", 3, "a"),
        ed_line("hit:1_conv:2", 2, "happyish", "p", 4, "b"),
    ]
    frame, _ = parse_ed_lines(lines, "valid.csv", "valid")
    with pytest.raises(EdFormatError, match=r"valid\.csv:3: unknown emotion label 'happyish'"):
        check_emotion_labels(frame, ["sad"])


def test_missing_folder_says_which_parameter_to_set(tmp_path: Path):
    with pytest.raises(EdFormatError, match="ed_dir"):
        read_ed_release(tmp_path / "nope", {"train": "train.csv"})


def test_windows_line_endings_and_bom(tmp_path: Path):
    path = tmp_path / "train.csv"
    line = ed_line("hit:1_conv:2", 1, "sad", "p", 3, "hi there")
    path.write_bytes(("\ufeff" + ED_HEADER + "\r\n" + line + "\r\n").encode())
    frame, report = read_ed_file(path, "train")
    assert frame["utterance"].tolist() == ["hi there"] and not report.skipped


field_text = st.text(alphabet=st.characters(blacklist_characters=",\n\r", blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(field_text, min_size=8, max_size=8).map(lambda f: ",".join(f)),
            st.lists(field_text, min_size=0, max_size=12).map(lambda f: ",".join(f)),
            st.text(max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
        ),
        max_size=12,
    )
)
def test_fuzzed_lines_are_either_read_or_reported_never_lost(body):
    """Every line after the header is either a row or a skipped line with a reason: nothing disappears."""
    lines = [ED_HEADER, ed_line("hit:1_conv:2", 1, "sad", "p", 3, "anchor"), *body]
    frame, report = parse_ed_lines(lines, "fuzz.csv", "train")
    assert report.rows + len(report.skipped) == len(lines) - 1
    assert len(frame) == report.rows
    assert all(s.reason for s in report.skipped)
    assert not frame["utterance"].str.contains("_comma_").any()


def test_real_shared_files_read_cleanly(shared_data: Path):
    release = read_ed_release(
        shared_data / "empatheticdialogues", {"train": "train.csv", "valid": "valid.csv", "test": "test.csv"}
    )
    assert release.utterances["conv_id"].nunique() > 2000
    assert release.utterances["emotion"].nunique() == 32
    assert isinstance(release.utterances, pd.DataFrame)
