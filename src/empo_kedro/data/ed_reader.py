"""Reader for EmpatheticDialogues in its original FAIR release format.

The release is a comma-separated file whose fields are *never* quoted: commas inside a field are written
``_comma_`` and a double quote is just a character. So each line is split on ``,`` into exactly eight fields
(a CSV reader with default quoting mis-parses lines holding ``"``). Malformed lines are skipped but reported
with file and line number; structural problems (wrong header, nothing usable) stop the read.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from empo_kedro.errors import UserFacingError

logger = logging.getLogger(__name__)

ED_COLUMNS = ("conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance", "selfeval", "tags")
ED_HEADER = ",".join(ED_COLUMNS)
COMMA_ESCAPE = "_comma_"
# A record id glued into another field: the known artifact of the release (two records on one line).
HIT_ARTIFACT = re.compile(r"hit:\d+_conv:\d+")
UTTERANCE_COLUMNS = [
    "conv_id",
    "utterance_idx",
    "emotion",
    "situation",
    "speaker_idx",
    "utterance",
    "split",
    "source_file",
    "source_line",
]


class EdFormatError(UserFacingError, ValueError):
    """The ED file cannot be used at all (wrong header, no usable rows)."""


@dataclass
class SkippedLine:
    """One line that was not read, and why."""

    file: str
    line: int
    reason: str


@dataclass
class EdReadReport:
    """What happened to every line of one ED file."""

    file: str
    split: str
    lines: int = 0
    rows: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason.split(":")[0] for s in self.skipped))

    def as_dict(self, max_examples: int = 20) -> dict:
        return {
            "file": self.file,
            "split": self.split,
            "lines": self.lines,
            "rows": self.rows,
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason(),
            "skipped_examples": [f"{s.file}:{s.line}: {s.reason}" for s in self.skipped[:max_examples]],
        }


def unescape(text: str) -> str:
    """Undo the release's comma escaping."""
    return text.replace(COMMA_ESCAPE, ",")


def _parse_line(fields: list[str]) -> tuple[dict | None, str | None]:
    """Turn the 8 raw fields of a line into a row, or say why the line is unusable."""
    conv_id, utterance_idx, context, prompt, speaker_idx, utterance, _selfeval, _tags = fields
    if any(HIT_ARTIFACT.search(value) for value in fields[1:]):
        return None, "hit_artifact: a record id appears inside another field"
    if not conv_id.strip():
        return None, "missing_conv_id: empty conv_id"
    try:
        turn = int(utterance_idx)
        speaker = int(speaker_idx)
    except ValueError:
        return None, f"bad_integer: utterance_idx='{utterance_idx}', speaker_idx='{speaker_idx}'"
    text = unescape(utterance).strip()
    if not text:
        return None, "empty_utterance: the utterance field is empty"
    return {
        "conv_id": conv_id.strip(),
        "utterance_idx": turn,
        "emotion": context.strip(),
        "situation": unescape(prompt).strip(),
        "speaker_idx": speaker,
        "utterance": text,
    }, None


def parse_ed_lines(lines: Iterable[str], source: str, split: str) -> tuple[pd.DataFrame, EdReadReport]:
    """Parse the lines of one ED file (header first) into one row per utterance plus a read report."""
    report = EdReadReport(file=source, split=split)
    rows: list[dict] = []
    iterator = iter(lines)
    header = next(iterator, None)
    if header is None:
        raise EdFormatError(f"{source}: the file is empty (expected the header '{ED_HEADER}')")
    header = header.rstrip("\r\n").lstrip("\ufeff")
    if header != ED_HEADER:
        raise EdFormatError(f"{source}:1: wrong header '{header}' (expected '{ED_HEADER}')")
    report.lines = 1
    for line_no, raw in enumerate(iterator, start=2):
        report.lines += 1
        line = raw.rstrip("\r\n")
        if not line.strip():
            report.skipped.append(SkippedLine(source, line_no, "blank_line: no content"))
            continue
        fields = line.split(",")
        if len(fields) != len(ED_COLUMNS):
            report.skipped.append(
                SkippedLine(
                    source, line_no, f"wrong_field_count: expected {len(ED_COLUMNS)} fields, found {len(fields)}"
                )
            )
            continue
        row, problem = _parse_line(fields)
        if problem:
            report.skipped.append(SkippedLine(source, line_no, problem))
            continue
        row.update(split=split, source_file=source, source_line=line_no)
        rows.append(row)
    report.rows = len(rows)
    for skipped in report.skipped:
        logger.warning("Skipped %s:%d (%s)", skipped.file, skipped.line, skipped.reason)
    if not rows:
        raise EdFormatError(
            f"{source}: no usable rows ({len(report.skipped)} lines skipped: {report.skipped_by_reason()})"
        )
    return pd.DataFrame(rows, columns=UTTERANCE_COLUMNS), report


def read_ed_file(path: Path, split: str) -> tuple[pd.DataFrame, EdReadReport]:
    """Read one ED release file; the whole file is decoded as UTF-8 and split into lines only on newlines."""
    path = Path(path)
    if not path.is_file():
        raise EdFormatError(f"{path}: no such ED file")
    with path.open(encoding="utf-8", newline="") as handle:
        # newline="" keeps a stray '\r' inside a line from splitting it; lines end at '\n' only
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return parse_ed_lines(lines, str(path), split)


def check_emotion_labels(utterances: pd.DataFrame, known_labels: Iterable[str]) -> None:
    """Stop on an emotion label outside the known set, naming file, line and value."""
    known = set(known_labels)
    unknown = utterances.loc[~utterances["emotion"].isin(known)]
    if not unknown.empty:
        first = unknown.iloc[0]
        raise EdFormatError(
            f"{first['source_file']}:{first['source_line']}: unknown emotion label '{first['emotion']}' "
            f"in field 'context' ({len(unknown)} rows with unknown labels: "
            f"{sorted(unknown['emotion'].unique())[:10]}); "
            f"known labels: {sorted(known)}"
        )


@dataclass
class EdRelease:
    """All utterances of an ED release folder (one file per split) and the read report of each file."""

    utterances: pd.DataFrame
    reports: list[EdReadReport]


def read_ed_release(directory: Path, split_files: dict[str, str]) -> EdRelease:
    """Read every split file of an ED release folder."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EdFormatError(f"{directory}: no such ED folder (set the parameter/runtime param 'ed_dir')")
    frames, reports = [], []
    for split, filename in split_files.items():
        frame, report = read_ed_file(directory / filename, split)
        logger.info(
            "Read %s: %d rows, %d lines skipped %s",
            report.file,
            report.rows,
            len(report.skipped),
            report.skipped_by_reason() or "",
        )
        frames.append(frame)
        reports.append(report)
    return EdRelease(utterances=pd.concat(frames, ignore_index=True), reports=reports)
