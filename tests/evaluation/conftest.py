"""Shared fixtures for the EPITOME reader / scorer / diff-EPITOME tests."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EPITOME_HEADER = ["id", "sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]

TINY_WORDS = (
    "i feel so sad and alone today my dog died what happened why are you "
    "sorry to hear that it sounds hard do want talk about it here for you "
    "understand how happy good luck hope things get better can me tell "
    "the a is was this not no yes ? . , !"
).split()


@pytest.fixture
def write_epitome_csv():
    """Factory: write rows (lists or dicts) as an EPITOME CSV with standard quoting."""

    def _write(path: Path, rows, header=EPITOME_HEADER) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            if header is not None:
                w.writerow(header)
            for r in rows:
                w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
        return path

    return _write


def make_rows(ids, levels, rationales=None):
    """EPITOME rows for the given ids / levels (seeker and response text derived from the id)."""
    rationales = rationales or [""] * len(ids)
    return [
        {
            "id": i,
            "sp_id": i.split("_")[0],
            "rp_id": i.split("_")[1],
            "seeker_post": f"seeker post of {i}, with a comma",
            "response_post": f"response to {i}. I am sorry",
            "level": lv,
            "rationales": ra,
        }
        for i, lv, ra in zip(ids, levels, rationales, strict=True)
    ]


@pytest.fixture
def epitome_files():
    return {
        "ER": "emotional-reactions-reddit.csv",
        "IP": "interpretations-reddit.csv",
        "EX": "explorations-reddit.csv",
    }


@pytest.fixture
def epitome_dir(tmp_path, write_epitome_csv, epitome_files):
    """A valid 4-pair EPITOME directory (same ids in all three files)."""
    ids = ["s1_r1", "s1_r2", "s2_r3", "s3_r4"]
    levels = {"ER": [0, 1, 2, 1], "IP": [2, 0, 0, 1], "EX": [0, 0, 2, 0]}
    rats = {
        "ER": ["", "I am sorry|", "I am sorry|", "sorry|"],
        "IP": ["response to|", "", "", "response|"],
        "EX": ["", "", "I am|", ""],
    }
    for key, name in epitome_files.items():
        write_epitome_csv(tmp_path / name, make_rows(ids, levels[key], rats[key]))
    return tmp_path


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A TINY random BERT (hidden 32, 2 layers) with a fast WordPiece tokenizer, built offline."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(TINY_WORDS)]
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast.from_pretrained(str(d))
    assert tok.is_fast and tok.convert_tokens_to_ids("sad") != tok.unk_token_id
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(str(d))
    tok.save_pretrained(str(d))
    return d


@pytest.fixture
def tiny_pairs() -> pd.DataFrame:
    """24 hand-made (seeker, response) pairs in the wide read_epitome_dir layout."""
    seekers = [
        "i feel so sad and alone today",
        "my dog died today",
        "i was not happy today , why ?",
        "this is good , i feel better",
    ]
    responses = [
        ("sorry to hear that . it sounds hard", 2, 0, 0, "sorry to hear that|", "", ""),
        ("what happened ? can you tell me about it ?", 0, 0, 2, "", "", "what happened ?|"),
        ("i understand how you feel . i was alone", 1, 2, 0, "i understand|", "i was alone|", ""),
        ("good luck", 1, 0, 0, "good luck|", "", ""),
        (
            "hope things get better , do you want to talk ?",
            1,
            0,
            1,
            "hope things get better|",
            "",
            "do you want to talk ?|",
        ),
        ("no", 0, 0, 0, "", "", ""),
    ]
    rows = []
    for si, s in enumerate(seekers):
        for ri, (r, er, ip, ex, rer, rip, rex) in enumerate(responses):
            rows.append(
                {
                    "id": f"s{si}_r{ri}",
                    "sp_id": f"s{si}",
                    "rp_id": f"r{ri}",
                    "seeker_post": s,
                    "response_post": r,
                    "level_ER": er,
                    "level_IP": ip,
                    "level_EX": ex,
                    "rationales_ER": rer,
                    "rationales_IP": rip,
                    "rationales_EX": rex,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_params() -> dict:
    return {
        "epochs": 1,
        "batch_size": 8,
        "eval_batch_size": 16,
        "max_length": 32,
        "max_seeker_tokens": 12,
        "bf16": False,
        "num_threads": 2,
        "device": "cpu",
    }


@pytest.fixture(scope="session")
def shared_epitome_dir() -> Path:
    d = SHARED_DATA / "epitome"
    if not d.is_dir():
        pytest.skip(f"shared EPITOME data not found at {d.resolve()} (expected ../shared/data from the repo root)")
    return d
