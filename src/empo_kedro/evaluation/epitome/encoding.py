"""Turn (seeker post, response) pairs into token ids (the seeker post truncated harder than the response), rationale
labels and padded, length-bucketed batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


def _num_pair_special_tokens(tokenizer: Any) -> int:
    pair = len(tokenizer("a", "b", add_special_tokens=True)["input_ids"])
    single = len(tokenizer("a", add_special_tokens=False)["input_ids"]) + len(
        tokenizer("b", add_special_tokens=False)["input_ids"]
    )
    return pair - single


def _cut_texts(tokenizer: Any, texts: list[str], budgets: Sequence[int]) -> list[str]:
    """Cut each text after its ``budget``-th token (keeps the start), at a token boundary."""
    # verbose=False: texts longer than the model limit are expected here (they get cut)
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    out = []
    for text, offsets, budget in zip(texts, enc["offset_mapping"], budgets, strict=True):
        if len(offsets) > budget:
            out.append(text[: offsets[budget - 1][1]] if budget > 0 else "")
        else:
            out.append(text)
    return out


def _rationale_spans(text: str, rationales: str) -> list[tuple[int, int]]:
    spans = []
    for part in str(rationales).split("|"):
        part = part.strip()
        if not part:
            continue
        start = text.find(part)
        if start < 0:
            start = text.lower().find(part.lower())
        if start >= 0:
            spans.append((start, start + len(part)))
    return spans


def _response_start(sequence_ids: Sequence[int | None]) -> int:
    """Index of the response's first token in an encoded pair (its closing special token for an empty response):
    what comes before is the seeker post with its special tokens, the rest the response (the "epitome" layout)."""
    for j, sequence in enumerate(sequence_ids):
        if sequence == 1:
            return j
    return len(sequence_ids) - 1


def encode_pairs(
    tokenizer: Any,
    seeker_posts: Sequence[str],
    responses: Sequence[str],
    max_length: int,
    max_seeker_tokens: int,
    rationales: Mapping[str, Sequence[str]] | None = None,
    levels: Mapping[str, Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """Tokenise (seeker, response) pairs, truncating the seeker post harder.

    The seeker post keeps at most ``max_seeker_tokens`` tokens, the response the rest of
    ``max_length``. With ``rationales`` (mechanism -> ``|``-separated spans per pair),
    each item also gets ``rationale_labels`` (tokens x mechanisms, 1 inside a span, 0
    elsewhere in the response, -100 on seeker/special tokens and on pairs with a
    positive level but no usable span). Every item has ``response_start``, where the response begins.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"The EPITOME scorer needs a fast (Rust) tokenizer for offset mappings; got {type(tokenizer).__name__}"
        )
    if len(seeker_posts) != len(responses):
        raise ValueError(f"seeker_posts and responses differ in length: {len(seeker_posts)} != {len(responses)}")
    seekers = ["" if s is None else str(s) for s in seeker_posts]
    resps = ["" if r is None else str(r) for r in responses]
    n_special = _num_pair_special_tokens(tokenizer)
    seekers = _cut_texts(tokenizer, seekers, [max_seeker_tokens] * len(seekers))
    seeker_lens = [len(ids) for ids in tokenizer(seekers, add_special_tokens=False, verbose=False)["input_ids"]]
    budgets = [max(1, max_length - n_special - min(n, max_seeker_tokens)) for n in seeker_lens]
    resps = _cut_texts(tokenizer, resps, budgets)
    enc = tokenizer(
        seekers,
        resps,
        truncation="longest_first",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    has_tti = "token_type_ids" in enc
    mechanisms = list(rationales) if rationales is not None else []
    items = []
    for i in range(len(seekers)):
        seq_ids = enc.sequence_ids(i)
        item: dict[str, Any] = {"input_ids": enc["input_ids"][i], "response_start": _response_start(seq_ids)}
        if has_tti:
            item["token_type_ids"] = enc["token_type_ids"][i]
        if rationales is not None:
            offsets = enc["offset_mapping"][i]
            labels = np.full((len(seq_ids), len(mechanisms)), -100, dtype=np.int64)
            response_tok = [j for j, s in enumerate(seq_ids) if s == 1]
            for k, mech in enumerate(mechanisms):
                spans = _rationale_spans(resps[i], rationales[mech][i])
                level = int(levels[mech][i]) if levels is not None else 0
                if level > 0 and not spans:
                    continue  # annotation without a usable span: do not teach "no rationale"
                for j in response_tok:
                    a, b = offsets[j]
                    labels[j, k] = int(any(a < e and b > s for s, e in spans))
            item["rationale_labels"] = labels
        items.append(item)
    return items


def collate(items: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad encoded pairs into one batch of tensors (rationale labels padded with -100)."""
    width = max(len(it["input_ids"]) for it in items)
    n = len(items)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    tti = torch.zeros((n, width), dtype=torch.long) if "token_type_ids" in items[0] else None
    rat = None
    if "rationale_labels" in items[0]:
        n_mech = items[0]["rationale_labels"].shape[1]
        rat = torch.full((n, width, n_mech), -100, dtype=torch.long)
    for i, it in enumerate(items):
        L = len(it["input_ids"])
        ids[i, :L] = torch.tensor(it["input_ids"])
        mask[i, :L] = 1
        if tti is not None:
            tti[i, :L] = torch.tensor(it["token_type_ids"])
        if rat is not None:
            rat[i, :L] = torch.from_numpy(it["rationale_labels"])
    batch = {"input_ids": ids, "attention_mask": mask}
    if "response_start" in items[0]:
        batch["response_start"] = torch.tensor([it["response_start"] for it in items], dtype=torch.long)
    if tti is not None:
        batch["token_type_ids"] = tti
    if rat is not None:
        batch["rationale_labels"] = rat
    return batch


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, bucket_factor: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Row indices of one epoch's batches: shuffled, then sorted by length within chunks of
    ``bucket_factor * batch_size`` rows (less padding), the batches themselves shuffled."""
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    chunk = max(1, bucket_factor) * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        if bucket_factor > 1:
            idx = idx[np.argsort(lengths[idx], kind="stable")]
        batches.extend(idx[i : i + batch_size] for i in range(0, len(idx), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]
