"""Generate the project's small, hand-written sample data under ``data/01_raw``.

This script wrote the sample files that ship with the repository. It is NOT needed at
run time (the pipelines read the files it wrote); it is kept so the sample can be
regenerated or extended. The hand-written text is data beside it, in
``scripts/sample_data/`` (``empatheticdialogues.txt``, ``epitome.txt``; each file starts with a
description of its format); all of it was written for this project, none of it is taken from the
EmpatheticDialogues or EPITOME releases. Only the file *formats* follow the original releases.

Outputs (overwritten on every run; the output is deterministic):

* ``data/01_raw/empatheticdialogues/{train,valid,test}.csv`` - EmpatheticDialogues
  (FAIR release format): header
  ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``, fields
  never quoted, commas inside a field written ``_comma_``. All 32 emotion labels;
  per label 4 conversations in train, 2 in valid, 2 in test. One train conversation
  has a single turn on purpose (the pipeline drops it as too short).
* ``data/01_raw/epitome/{emotional-reactions,interpretations,explorations}-reddit.csv``
  - EPITOME format: header ``id,sp_id,rp_id,seeker_post,response_post,level,rationales``,
  standard CSV quoting, the same 120 (seeker, response) pairs in each file.

Usage::

    python scripts/make_sample_data.py            # writes into ./data/01_raw
    python scripts/make_sample_data.py --out DIR  # writes into DIR
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import string
from pathlib import Path

ED_HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags"
ED_LABELS = (
    "afraid angry annoyed anticipating anxious apprehensive ashamed caring confident content devastated "
    "disappointed disgusted embarrassed excited faithful furious grateful guilty hopeful impressed jealous "
    "joyful lonely nostalgic prepared proud sad sentimental surprised terrified trusting"
).split()
ED_SPLITS = (("train", 4), ("valid", 2), ("test", 2))  # conversations per label, in source order
SELFEVAL_POOL = ["5|5|5_5|5|5"] * 10 + [
    "5|5|5_4|5|5",
    "4|5|5_5|5|5",
    "5|5|5_4|4|4",
    "5|5|5_4|4|5",
    "4|4|4_5|5|5",
    "5|4|5_5|5|5",
    "3|4|5_5|5|4",
]
EPITOME_FILES = {
    "ER": "emotional-reactions-reddit.csv",
    "IP": "interpretations-reddit.csv",
    "EX": "explorations-reddit.csv",
}
EPITOME_HEADER = ["id", "sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]
SPAN = re.compile(r"\[(ER|IP|EX)([12]):(.+?)\]")
SAMPLE_DATA_DIR = Path(__file__).resolve().parent / "sample_data"
ED_SOURCE_FILE = SAMPLE_DATA_DIR / "empatheticdialogues.txt"
EPITOME_SOURCE_FILE = SAMPLE_DATA_DIR / "epitome.txt"


def read_source(path: Path) -> str:
    """A hand-written source file without its ``#`` comment lines (the format description at its top)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


# --------------------------------------------------------------------------------------------------
# EmpatheticDialogues
# --------------------------------------------------------------------------------------------------
def parse_ed_source(source: str) -> dict[str, list[tuple[str, list[str]]]]:
    """``== label`` starts a label; conversations are blank-line separated; ``> `` marks the prompt."""
    conversations: dict[str, list[tuple[str, list[str]]]] = {}
    label = None
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and lines[0].startswith("== "):
            label = lines.pop(0)[3:].strip()
            conversations.setdefault(label, [])
        if not lines:
            continue
        assert label is not None and lines[0].startswith("> "), block
        prompt, turns = lines[0][2:].strip(), lines[1:]
        assert turns, block
        conversations[label].append((prompt, turns))
    return conversations


def ed_field(text: str) -> str:
    assert "_comma_" not in text and "\n" not in text and "\r" not in text, text
    return text.replace(",", "_comma_")


def write_ed(out_dir: Path) -> None:
    conversations = parse_ed_source(read_source(ED_SOURCE_FILE))
    assert sorted(conversations) == sorted(ED_LABELS), sorted(set(conversations) ^ set(ED_LABELS))
    per_label = sum(n for _, n in ED_SPLITS)
    for label, convs in conversations.items():
        assert len(convs) == per_label, (label, len(convs))

    rng = random.Random(20240611)
    total = len(ED_LABELS) * per_label
    hits = rng.sample(range(3, 12000), total)  # unique HIT numbers across all three files
    hit_iter = iter(hits)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for split, n in ED_SPLITS:
        records = []
        for label in ED_LABELS:
            for prompt, turns in conversations[label][start : start + n]:
                hit = next(hit_iter)
                conv_id = f"hit:{hit}_conv:{2 * hit + rng.randint(0, 1)}"
                speaker, listener = rng.sample(range(0, 640), 2)
                selfeval = "" if rng.random() < 0.04 else rng.choice(SELFEVAL_POOL)
                records.append((hit, conv_id, label, prompt, turns, speaker, listener, selfeval))
        start += n
        records.sort(key=lambda r: r[0])  # the release is ordered by HIT
        lines = [ED_HEADER]
        for _, conv_id, label, prompt, turns, speaker, listener, selfeval in records:
            for idx, turn in enumerate(turns, start=1):
                who = speaker if idx % 2 == 1 else listener
                fields = [conv_id, str(idx), label, ed_field(prompt), str(who), ed_field(turn), selfeval, ""]
                assert len(",".join(fields).split(",")) == 8
                lines.append(",".join(fields))
        path = out_dir / f"{split}.csv"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"wrote {path}: {len(records)} conversations, {len(lines) - 1} rows")


# --------------------------------------------------------------------------------------------------
# EPITOME
# --------------------------------------------------------------------------------------------------
def parse_epitome_source(source: str) -> list[tuple[str, str]]:
    """Blank-line separated ``S:``/``R:`` pairs; ``S: =N`` reuses the seeker post of pair N (1-based)."""
    pairs: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        assert len(lines) == 2 and lines[0].startswith("S: ") and lines[1].startswith("R: "), block
        pairs.append((lines[0][3:].strip(), lines[1][3:].strip()))
    return pairs


def _reddit_id(rng: random.Random, length: int, used: set[str]) -> str:
    alphabet = string.digits + string.ascii_lowercase
    while True:
        value = rng.choice(string.digits[1:] + "abcdef") + "".join(rng.choice(alphabet) for _ in range(length - 1))
        if value not in used:
            used.add(value)
            return value


def write_epitome(out_dir: Path) -> None:
    pairs = parse_epitome_source(read_source(EPITOME_SOURCE_FILE))
    rng = random.Random(20240612)
    used: set[str] = set()
    seeker_ids: list[str] = []
    seeker_texts: list[str] = []
    rows = {mech: [] for mech in EPITOME_FILES}
    for seeker, marked in pairs:
        if seeker.startswith("="):
            ref = int(seeker[1:]) - 1
            sp_id, seeker = seeker_ids[ref], seeker_texts[ref]
        else:
            sp_id = _reddit_id(rng, 6, used)
        seeker_ids.append(sp_id)
        seeker_texts.append(seeker)
        rp_id = _reddit_id(rng, 7, used)
        response = re.sub(r"\s+", " ", SPAN.sub(lambda m: m.group(3), marked)).strip()
        assert "[" not in response and "]" not in response, marked
        spans = {mech: [] for mech in EPITOME_FILES}
        levels = {mech: 0 for mech in EPITOME_FILES}
        for match in SPAN.finditer(marked):
            mech, level, text = match.group(1), int(match.group(2)), match.group(3).strip()
            assert text in response
            spans[mech].append(text)
            levels[mech] = max(levels[mech], level)
        for mech in EPITOME_FILES:
            rationale = "".join(span + "|" for span in spans[mech])
            rows[mech].append([f"{sp_id}_{rp_id}", sp_id, rp_id, seeker, response, levels[mech], rationale])
    out_dir.mkdir(parents=True, exist_ok=True)
    for mech, filename in EPITOME_FILES.items():
        path = out_dir / filename
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(EPITOME_HEADER)
            writer.writerows(rows[mech])
        counts = {level: sum(1 for row in rows[mech] if row[5] == level) for level in (0, 1, 2)}
        print(f"wrote {path}: {len(rows[mech])} pairs, levels {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "01_raw")
    args = parser.parse_args()
    write_ed(args.out / "empatheticdialogues")
    write_epitome(args.out / "epitome")


if __name__ == "__main__":
    main()
