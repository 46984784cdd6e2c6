"""Readers for other systems' prediction files, so they can be scored exactly like our own variants.

Three formats, each turned into one row per reply with ``conv_id``, ``context`` (the last user turn, the EPITOME
seeker post), ``response`` (generated), ``reference`` (ground-truth reply), ``emotion`` and ``source`` (where in
the file the row came from):

``generations``
    The project's own ``generations.parquet`` (written by the evaluation pipeline): ``conv_id``, ``context``,
    ``reference``, ``response``, ``variant``, ``emotion``, ``prompt``.
``plain``
    A CSV (comma, standard quoting) or JSONL (one object per line) with ``context``, ``response``, ``reference``
    and optionally ``emotion`` and ``conv_id`` (or ``id``).
``empo``
    The prediction files published by the EmPO authors: ``~``-separated, written by ``DataFrame.to_csv(sep="~")``
    (so a leading unnamed index column, and quoted fields that may span lines), with ``chat_templates`` (the
    zephyr-format prompt), ``gen_targets`` (ground truth), ``prevs`` (last user turn), ``emotions`` and ``gens``
    (generated). ``pred_<m>_scores`` / ``gt_<m>_scores`` (``m`` in IP, EX, ER), when present, are the levels the
    original EPITOME checkpoints gave the generated / ground-truth reply; they become ``published_level_<m>`` /
    ``published_level_<m>_reference`` (nullable ints; an unreadable value is counted and left missing).

Bad input never disappears silently: a missing column or an unreadable file is a :class:`PredictionsFormatError`
naming the file (and line or column); a record that cannot be used (wrong number of fields, invalid JSON, empty
context or reference) is skipped and listed with its line in :class:`PredictionsReadReport`. Empty generated
replies are kept and flagged (``empty_response``): whether to score or drop them is the caller's choice.
"""

from __future__ import annotations

import csv
import json
import logging
import numbers
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.epitome_schema import LEVELS, MECHANISMS

logger = logging.getLogger(__name__)

FORMATS = ("generations", "plain", "empo")
EMPO_DELIMITER = "~"
# Our column <- the column of each format. conv_id, emotion and variant are optional everywhere.
COLUMNS = {
    "generations": {"context": "context", "response": "response", "reference": "reference"},
    "plain": {"context": "context", "response": "response", "reference": "reference"},
    "empo": {"context": "prevs", "response": "gens", "reference": "gen_targets"},
}
OPTIONAL_COLUMNS = {
    "generations": {"conv_id": "conv_id", "emotion": "emotion", "variant": "variant"},
    "plain": {"conv_id": "conv_id", "emotion": "emotion"},
    "empo": {"emotion": "emotions"},
}
PLAIN_ID_ALIAS = "id"  # taken as conv_id when there is no conv_id column
# Levels the original EPITOME classifiers gave in the EmPO files: file column -> our column.
EMPO_LEVEL_COLUMNS = {
    **{f"pred_{m}_scores": f"published_level_{m}" for m in MECHANISMS},
    **{f"gt_{m}_scores": f"published_level_{m}_reference" for m in MECHANISMS},
}
# pandas names a header-less index column "" when writing and "Unnamed: <i>" when it reads and writes again.
INDEX_COLUMN = re.compile(r"^(|Unnamed: \d+)$")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
MAX_EXAMPLES = 20


class PredictionsFormatError(UserFacingError, ValueError):
    """A predictions file that cannot be used (unreadable, missing columns, no usable row)."""


@dataclass
class SkippedRecord:
    """One record of the file that was not used, and why."""

    location: str
    reason: str


@dataclass
class PredictionsReadReport:
    """What happened to every record of a predictions file."""

    file: str
    format: str
    records: int = 0
    rows: int = 0
    empty_records: int = 0  # blank lines, rows whose fields are all empty: not counted as records
    skipped: list[SkippedRecord] = field(default_factory=list)
    empty_responses: list[str] = field(default_factory=list)
    invalid_levels: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, location: str, reason: str) -> None:
        self.skipped.append(SkippedRecord(location, reason))

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason.split(":")[0] for s in self.skipped))

    def as_dict(self, max_examples: int = MAX_EXAMPLES) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "records": self.records,
            "rows": self.rows,
            "empty_records": self.empty_records,
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason(),
            "skipped_examples": [f"{s.location}: {s.reason}" for s in self.skipped[:max_examples]],
            "empty_responses": len(self.empty_responses),
            "empty_response_examples": self.empty_responses[:max_examples],
            "invalid_levels": {column: len(where) for column, where in self.invalid_levels.items()},
            "invalid_level_examples": {column: where[:max_examples] for column, where in self.invalid_levels.items()},
        }

    def log(self) -> None:
        logger.info(
            "Read %s (%s): %d records, %d rows kept, %d skipped %s, %d empty lines/rows ignored, "
            "%d empty generated replies",
            self.file,
            self.format,
            self.records,
            self.rows,
            len(self.skipped),
            self.skipped_by_reason(),
            self.empty_records,
            len(self.empty_responses),
        )
        for s in self.skipped[:MAX_EXAMPLES]:
            logger.warning("Skipped %s:%s: %s", self.file, s.location, s.reason)
        for column, where in self.invalid_levels.items():
            logger.warning(
                "%s: %d missing or invalid levels in column '%s' (not in %s), e.g. %s",
                self.file,
                len(where),
                column,
                list(LEVELS),
                ", ".join(where[:5]),
            )


@dataclass
class Predictions:
    """The usable rows of a predictions file and the report of how they were read."""

    frame: pd.DataFrame
    report: PredictionsReadReport

    @property
    def has_published_levels(self) -> bool:
        return any(column in self.frame.columns for column in EMPO_LEVEL_COLUMNS.values())


# ---------------------------------------------------------------------------------------------------- detection


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    return line
    except UnicodeDecodeError as error:
        raise PredictionsFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    raise PredictionsFormatError(f"{path}: the file is empty")


def detect_format(path: str | Path) -> str:
    """``generations`` for Parquet, ``empo`` for a ``~``-separated header with ``gens``/``gen_targets``/``prevs``,
    otherwise ``plain`` (CSV, or JSONL for ``.jsonl`` files and files whose first line is a JSON object)."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return "generations"
    if path.suffix.lower() in JSONL_SUFFIXES:
        return "plain"
    first = _first_line(path)
    if EMPO_DELIMITER in first:
        header = next(csv.reader([first], delimiter=EMPO_DELIMITER))
        if set(COLUMNS["empo"].values()) <= set(header):
            return "empo"
    return "plain"


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in JSONL_SUFFIXES or _first_line(path).lstrip().startswith(("{", "["))


# ---------------------------------------------------------------------------------------------------- raw records


def _delimited_records(
    path: Path, delimiter: str, report: PredictionsReadReport
) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """The header and (location, fields by column) of every well-formed record of a delimited file."""
    rows: list[tuple[str, dict[str, str]]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
            duplicated = sorted(name for name, n in Counter(header).items() if n > 1 and not INDEX_COLUMN.match(name))
            if duplicated:
                raise PredictionsFormatError(f"{path}: the header names columns {duplicated} more than once")
            previous_end = reader.line_num
            for fields in reader:
                start, end = previous_end + 1, reader.line_num
                previous_end = end
                location = f"line {start}" if start == end else f"lines {start}-{end}"
                if not any(f.strip() for f in fields):
                    report.empty_records += 1
                    continue
                report.records += 1
                if len(fields) != len(header):
                    report.skip(location, f"wrong field count: {len(fields)} fields, the header has {len(header)}")
                    continue
                rows.append((location, dict(zip(header, fields, strict=True))))
        except StopIteration:
            raise PredictionsFormatError(f"{path}: the file is empty") from None
        except UnicodeDecodeError as error:
            raise PredictionsFormatError(
                f"{path}: not UTF-8 text near line {reader.line_num + 1} ({error.reason})"
            ) from None
        except csv.Error as error:
            raise PredictionsFormatError(f"{path}:{reader.line_num}: unreadable CSV ({error})") from None
    return header, rows


def _jsonl_records(path: Path, report: PredictionsReadReport) -> tuple[list[str], list[tuple[str, dict]]]:
    """All parseable objects of a JSONL file (the header is the union of their keys)."""
    rows: list[tuple[str, dict]] = []
    keys: dict[str, None] = {}
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                location = f"line {number}"
                if not line.strip():
                    report.empty_records += 1
                    continue
                report.records += 1
                if number == 1 and line.lstrip().startswith("["):
                    raise PredictionsFormatError(
                        f"{path}: line 1 starts a JSON array; expected JSONL, one JSON object per line"
                    )
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as error:
                    report.skip(location, f"invalid JSON: {error.msg} at column {error.colno}")
                    continue
                if not isinstance(obj, dict):
                    report.skip(location, f"not a JSON object: {type(obj).__name__}")
                    continue
                keys.update(dict.fromkeys(obj))
                rows.append((location, obj))
    except UnicodeDecodeError as error:
        raise PredictionsFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return list(keys), rows


def _parquet_records(path: Path, report: PredictionsReadReport) -> tuple[list[str], list[tuple[str, dict]]]:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise PredictionsFormatError(
            f"{path}: not a readable Parquet file ({type(error).__name__}: {error})"
        ) from None
    report.records = len(frame)
    records = frame.drop(columns=["prompt"], errors="ignore").to_dict("records")
    return list(frame.columns), [(f"row {i}", row) for i, row in enumerate(records, start=1)]


# ---------------------------------------------------------------------------------------------------- rows


def _text(value: Any) -> str | None:
    """A field as text: ``""`` for missing values, ``None`` for values that are not text or numbers."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    return None


def parse_level(value: Any) -> int | None:
    """An EPITOME level 0/1/2 written as ``1``, ``"1"`` or ``"1.0"``; ``None`` when missing or anything else."""
    text = _text(value)
    if text is None or not text.strip():
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number in LEVELS else None


def _require_columns(path: Path, fmt: str, header: list[str], required: list[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        shown = [c for c in header if not INDEX_COLUMN.match(c)]
        raise PredictionsFormatError(
            f"{path}: missing column(s) {missing} for the '{fmt}' predictions format (found columns {shown})"
        )


def _build_rows(path: Path, fmt: str, header: list[str], records, report: PredictionsReadReport) -> pd.DataFrame:
    """Map a format's columns to ours, skip records without context or reference, flag empty replies."""
    required = COLUMNS[fmt]
    _require_columns(path, fmt, header, list(required.values()))
    optional = {ours: theirs for ours, theirs in OPTIONAL_COLUMNS[fmt].items() if theirs in header}
    if fmt == "plain" and "conv_id" not in optional and PLAIN_ID_ALIAS in header:
        optional["conv_id"] = PLAIN_ID_ALIAS
    index_column = next((c for c in header if INDEX_COLUMN.match(c)), None) if fmt == "empo" else None
    level_columns = {theirs: ours for theirs, ours in EMPO_LEVEL_COLUMNS.items() if theirs in header}
    if fmt == "empo" and level_columns and len(level_columns) < len(EMPO_LEVEL_COLUMNS):
        logger.warning(
            "%s: only %s of the EPITOME level columns are present; agreement covers those only",
            path,
            sorted(level_columns),
        )
    rows = []
    for location, record in records:
        row: dict[str, Any] = {"source": location}
        problem = None
        for ours, theirs in {**required, **optional}.items():
            text = _text(record.get(theirs))
            if text is None:
                problem = f"field '{theirs}' is not text: {type(record.get(theirs)).__name__}"
                break
            row[ours] = text
        if problem is None:
            problem = next(
                (f"empty or missing '{required[c]}'" for c in ("context", "reference") if not row[c].strip()), None
            )
        if problem is not None:
            report.skip(location, problem)
            continue
        if not row["response"].strip():
            report.empty_responses.append(location)
        row["empty_response"] = not row["response"].strip()
        if index_column is not None:
            row["conv_id"] = record[index_column] or location
        row.setdefault("conv_id", location)
        for theirs, ours in level_columns.items():
            level = parse_level(record.get(theirs))
            if level is None:
                report.invalid_levels.setdefault(theirs, []).append(location)
            row[ours] = level
        rows.append(row)
    frame = pd.DataFrame(rows)
    for ours in level_columns.values():
        if ours in frame:
            frame[ours] = frame[ours].astype("Int64")
    return frame


def _check_unique_ids(path: Path, frame: pd.DataFrame) -> None:
    keys = ["variant", "conv_id"] if "variant" in frame.columns else ["conv_id"]
    duplicated = frame[frame.duplicated(keys, keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        where = duplicated.loc[(duplicated[keys] == first[keys]).all(axis=1), "source"].tolist()
        raise PredictionsFormatError(
            f"{path}: {len(duplicated)} rows share an id; e.g. {keys[-1]} {first['conv_id']!r} at "
            f"{', '.join(where)}. Each reply needs its own id (or leave the id column out to number rows by line)"
        )


def read_predictions(path: str | Path, fmt: str = "auto") -> Predictions:
    """Read a predictions file in one of :data:`FORMATS` (``auto``: :func:`detect_format`).

    Raises:
        PredictionsFormatError: the file is missing, unreadable, lacks a required column, repeats an id, or has
            no usable row.
    """
    path = Path(path)
    if not path.is_file():
        raise PredictionsFormatError(f"{path}: no such predictions file")
    if fmt not in ("auto", *FORMATS):
        raise PredictionsFormatError(f"Unknown predictions format {fmt!r}; choose one of {['auto', *FORMATS]}")
    if path.suffix.lower() != ".parquet":
        _first_line(path)  # an empty or non-UTF-8 file fails here, whatever the format
    fmt = detect_format(path) if fmt == "auto" else fmt
    report = PredictionsReadReport(str(path), fmt)
    if fmt == "generations":
        if path.suffix.lower() != ".parquet":
            raise PredictionsFormatError(
                f"{path}: the 'generations' format is the Parquet file the evaluation pipeline writes; use 'plain' "
                "for a CSV or JSONL file"
            )
        header, records = _parquet_records(path, report)
    elif fmt == "plain" and _is_jsonl(path):
        report.format = "plain (JSONL)"
        header, records = _jsonl_records(path, report)
    else:
        header, records = _delimited_records(path, EMPO_DELIMITER if fmt == "empo" else ",", report)
        if fmt == "plain":
            report.format = "plain (CSV)"
    frame = _build_rows(path, fmt, header, records, report)
    report.rows = len(frame)
    report.log()
    if frame.empty:
        raise PredictionsFormatError(
            f"{path}: no usable row ({report.records} records, {len(report.skipped)} skipped: "
            f"{report.skipped_by_reason()}; e.g. {report.as_dict(3)['skipped_examples']})"
        )
    _check_unique_ids(path, frame)
    return Predictions(frame.reset_index(drop=True), report)
