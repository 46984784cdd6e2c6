"""Reader and deterministic splitter for the EPITOME empathy-mechanism data.

EPITOME (Sharma et al., EMNLP 2020) ships one CSV file per empathy communication
mechanism, each in the original release format (standard CSV quoting)::

    id,sp_id,rp_id,seeker_post,response_post,level,rationales

- ``level``: 0 = no communication, 1 = weak, 2 = strong.
- ``rationales``: ``|``-separated response spans that justify the level (empty for
  most level-0 rows, and occasionally for other levels).

:func:`read_epitome_dir` validates the three files and joins them on ``id`` into one
*wide* frame with one row per (seeker, response) pair::

    id, sp_id, rp_id, seeker_post, response_post,
    level_ER, level_IP, level_EX, rationales_ER, rationales_IP, rationales_EX

(the mechanism suffixes are the keys of the ``files`` mapping, e.g.
``{"ER": "emotional-reactions-reddit.csv", "IP": ..., "EX": ...}``).

:func:`split_pairs` gives a deterministic train/validation/test split by seeded
shuffle (optionally keeping all pairs of one seeker post on the same side).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from empo_kedro.errors import UserFacingError
from empo_kedro.evaluation.epitome_schema import LEVELS


class EpitomeFormatError(UserFacingError, ValueError):
    """An EPITOME file cannot be used (missing, empty, wrong header, bad level)."""


logger = logging.getLogger(__name__)

EPITOME_COLUMNS: tuple[str, ...] = (
    "id",
    "sp_id",
    "rp_id",
    "seeker_post",
    "response_post",
    "level",
    "rationales",
)
"""The header every EPITOME file must have, in this order."""

DEFAULT_EPITOME_FILES: dict[str, str] = {
    "ER": "emotional-reactions-reddit.csv",
    "IP": "interpretations-reddit.csv",
    "EX": "explorations-reddit.csv",
}
"""Mechanism key -> file name of the original release."""


_REQUIRED_FIELDS: tuple[str, ...] = ("id", "sp_id", "rp_id", "seeker_post", "response_post", "level")
"""Fields that may not be empty (``rationales`` may)."""

_TEXT_FIELDS: tuple[str, ...] = ("sp_id", "rp_id", "seeker_post", "response_post")
"""Fields that must agree across the mechanism files for the same ``id``."""


def _parse_level(raw: str, file: Path, line: int) -> int:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value != int(value) or int(value) not in LEVELS:
        raise EpitomeFormatError(
            f"{file}: line {line}, field 'level': invalid level {raw!r} (expected one of {list(LEVELS)})"
        )
    return int(value)


def read_epitome_file(file: Path | str) -> pd.DataFrame:
    """Read and validate one EPITOME mechanism file.

    Returns a frame with the columns of :data:`EPITOME_COLUMNS` (``level`` as int,
    ``rationales`` as str, empty when absent).

    Raises:
        EpitomeFormatError: (a ``ValueError``) missing file, empty file, wrong header
            (names the expected and actual columns), a row with the wrong number of
            fields, an empty required field, a level not in {0, 1, 2}, or a duplicated
            ``id``; row errors name the file, the physical line number (1-based,
            header = line 1) and the field.
    """
    file = Path(file)
    if not file.is_file():
        raise EpitomeFormatError(f"EPITOME file not found: {file}")
    with file.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise EpitomeFormatError(f"{file}: file is empty (expected header {list(EPITOME_COLUMNS)})") from None
        header = [h.strip().lstrip("\ufeff") for h in header]
        if tuple(header) != EPITOME_COLUMNS:
            raise EpitomeFormatError(f"{file}: wrong header; expected columns {list(EPITOME_COLUMNS)}, got {header}")
        records: list[dict[str, object]] = []
        first_line_of_id: dict[str, int] = {}
        next_line = reader.line_num + 1
        for row in reader:
            line = next_line  # physical line where this record starts (records may span lines)
            next_line = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(EPITOME_COLUMNS):
                raise EpitomeFormatError(
                    f"{file}: line {line}: expected {len(EPITOME_COLUMNS)} fields, got {len(row)}"
                )
            rec = dict(zip(EPITOME_COLUMNS, row, strict=True))
            for field in _REQUIRED_FIELDS:
                if not rec[field].strip():
                    raise EpitomeFormatError(f"{file}: line {line}, field {field!r}: missing value")
            rec["level"] = _parse_level(rec["level"], file, line)
            rid = rec["id"]
            if rid in first_line_of_id:
                raise EpitomeFormatError(
                    f"{file}: line {line}, field 'id': duplicated id {rid!r} "
                    f"(first seen on line {first_line_of_id[rid]})"
                )
            first_line_of_id[rid] = line
            records.append(rec)
    if not records:
        raise EpitomeFormatError(f"{file}: file has a header but no data rows")
    df = pd.DataFrame.from_records(records, columns=list(EPITOME_COLUMNS))
    df["level"] = df["level"].astype("int64")
    return df


def read_epitome_dir(path: Path | str, files: dict[str, str] | None = None) -> pd.DataFrame:
    """Read the EPITOME mechanism files under ``path`` and join them on ``id``.

    Args:
        path: directory holding the files.
        files: mechanism key -> file name; defaults to :data:`DEFAULT_EPITOME_FILES`
            (keys ``ER``, ``IP``, ``EX``).

    Returns:
        One row per pair present in *every* file, in the order of the first file:
        ``id, sp_id, rp_id, seeker_post, response_post`` then ``level_<key>`` (int64)
        and ``rationales_<key>`` (str) for each key.

    Raises:
        ValueError: any per-file validation error (see :func:`read_epitome_file`), no
            files given, ids whose seeker/response text differs between files, or an
            empty intersection of ids.

    Ids present in some files but not all are counted, logged as a warning (also
    stored in ``df.attrs["epitome_dropped_ids"]``) and dropped: the intersection is kept.
    """
    path = Path(path)
    files = dict(DEFAULT_EPITOME_FILES if files is None else files)
    if not files:
        raise EpitomeFormatError("read_epitome_dir: `files` must name at least one mechanism file")
    frames = {key: read_epitome_file(path / name) for key, name in files.items()}

    id_sets = {key: set(df["id"]) for key, df in frames.items()}
    common = set.intersection(*id_sets.values())
    union = set.union(*id_sets.values())
    dropped: dict[str, int] = {}
    if len(common) != len(union):
        for key, ids in id_sets.items():
            dropped[key] = len(ids - common)
        details = ", ".join(
            f"{files[key]}: {len(id_sets[key])} ids, {n} not in every file" for key, n in dropped.items()
        )
        logger.warning(
            "EPITOME files under %s disagree on ids: %d ids in the union, %d in all files; "
            "%d ids dropped (%s). Keeping the intersection.",
            path,
            len(union),
            len(common),
            len(union) - len(common),
            details,
        )
    if not common:
        raise EpitomeFormatError(f"{path}: the EPITOME files share no ids; nothing to join ({list(files.values())})")

    keys = list(files)
    base = frames[keys[0]]
    out = base.loc[base["id"].isin(common), ["id", *_TEXT_FIELDS]].reset_index(drop=True)
    indexed = out.set_index("id")
    for key in keys:
        df = frames[key].set_index("id").loc[out["id"]]
        if key != keys[0]:
            for field in _TEXT_FIELDS:
                differs = df[field].to_numpy() != indexed[field].to_numpy()
                if differs.any():
                    bad = list(out["id"][differs][:5])
                    raise EpitomeFormatError(
                        f"{path / files[key]}: field {field!r} differs from {files[keys[0]]} for "
                        f"{int(differs.sum())} ids (e.g. {bad}); the files do not describe the same pairs"
                    )
        out[f"level_{key}"] = df["level"].to_numpy()
    for key in keys:
        out[f"rationales_{key}"] = frames[key].set_index("id").loc[out["id"], "rationales"].to_numpy()
    out.attrs["epitome_dropped_ids"] = {
        "union": len(union),
        "kept": len(common),
        "not_in_every_file": dropped,
    }
    logger.info("Read %d EPITOME pairs from %s (%s)", len(out), path, ", ".join(keys))
    return out


def split_pairs(
    df: pd.DataFrame,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    group_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Deterministic train/validation/test split by seeded shuffle.

    Args:
        df: frame to split (e.g. the output of :func:`read_epitome_dir`).
        val_fraction: share of rows (or groups) for validation, in [0, 1).
        test_fraction: share of rows (or groups) for the held-out test split, in [0, 1).
        seed: seed of the shuffle; the same inputs and seed give the same split.
        group_column: when given (e.g. ``"sp_id"``), all rows sharing a value of this
            column go to the same split (no seeker post on both sides).

    Returns:
        ``(train, val, test)``, each with a fresh ``RangeIndex``, rows in shuffled order.
        Sizes are ``round(fraction * n)`` (of groups when grouping), at least 1 for a
        positive fraction.
    """
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= frac < 1.0:
            raise EpitomeFormatError(f"split_pairs: {name} must be in [0, 1), got {frac}")
    if val_fraction + test_fraction >= 1.0:
        raise EpitomeFormatError(
            f"split_pairs: val_fraction + test_fraction must be < 1, got {val_fraction + test_fraction}"
        )
    if len(df) == 0:
        raise EpitomeFormatError("split_pairs: cannot split an empty frame")

    if group_column is None:
        units = np.arange(len(df))
        unit_of_row = units
    else:
        if group_column not in df.columns:
            raise EpitomeFormatError(f"split_pairs: group_column {group_column!r} not in columns {list(df.columns)}")
        codes, uniques = pd.factorize(df[group_column], sort=True)
        units = np.arange(len(uniques))
        unit_of_row = codes
    n = len(units)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)

    def _size(frac: float) -> int:
        return 0 if frac == 0 else max(1, int(round(frac * n)))

    n_test, n_val = _size(test_fraction), _size(val_fraction)
    if n_test + n_val >= n:
        raise EpitomeFormatError(
            f"split_pairs: {n} rows/groups are too few for val_fraction={val_fraction}, "
            f"test_fraction={test_fraction} (no training rows left)"
        )
    test_units = order[:n_test]
    val_units = order[n_test : n_test + n_val]
    train_units = order[n_test + n_val :]

    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)

    def _take(selected: np.ndarray) -> pd.DataFrame:
        mask = np.isin(unit_of_row, selected)
        rows = np.flatnonzero(mask)
        rows = rows[np.argsort(rank[unit_of_row[rows]], kind="stable")]
        return df.iloc[rows].reset_index(drop=True)

    return _take(train_units), _take(val_units), _take(test_units)
