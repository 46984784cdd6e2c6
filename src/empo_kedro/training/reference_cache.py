"""Reference log-probs computed once and kept on disk, reused across epochs, sweep trials and reruns.

DPO's reference is the SFT model (the DPO adapter disabled), which never changes during training; its log-prob of a
completion depends only on the reference weights, how they are computed and the tokens. TRL recomputes it for
every batch (or, with ``precompute_ref_log_probs``, once per run). Here each (prompt, completion) is scored once
and kept: every sweep trial shares the SFT reference, a rerun finds the values on disk, and a later draw's chosen
side (the same in every epoch) is found too once an earlier run has stored it. Within one run, missing pairs are
scored together as pairs (a pair whose chosen side is known but whose rejected side is new is scored whole: the
prompt pass, most of the cost, is needed for the rejected side anyway).

Keys: ``reference_key`` hashes the reference lineage (base model fingerprint + sha256 of each merged SFT adapter) and
every setting that changes the computed value (frozen-weight dtype, autocast, max length, truncation); one file per
reference key, so a changed reference never reads another's values. Inside it, each entry is keyed by the sha256 of
the prompt's and completion's token ids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from datasets import Dataset
from torch.utils.data import DataLoader
from trl import DPOTrainer

from empo_kedro.distributed import is_main_process

logger = logging.getLogger(__name__)

CACHE_COLUMNS = ("key", "log_prob")


def reference_key(lineage: Mapping[str, Any], computation: Mapping[str, Any]) -> str:
    """sha256 of what the reference log-probs depend on besides the tokens: model lineage and how it is run."""
    if not lineage or not lineage.get("base_model"):
        raise ValueError("The reference log-prob cache needs the reference lineage (base model fingerprint)")
    payload = json.dumps({"lineage": lineage, "computation": computation}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def sequence_key(prompt_ids: Sequence[int], completion_ids: Sequence[int]) -> str:
    payload = ",".join(map(str, prompt_ids)) + "|" + ",".join(map(str, completion_ids))
    return hashlib.sha256(payload.encode()).hexdigest()


class ReferenceLogProbCache:
    """``{sequence key: summed reference log-prob}`` of one reference, kept in ``<folder>/<reference key>.parquet``."""

    def __init__(self, folder: Path | str, key: str) -> None:
        self.path = Path(folder) / f"{key}.parquet"
        self.values: dict[str, float] = {}
        if self.path.exists():
            table = pd.read_parquet(self.path)
            if tuple(table.columns) != CACHE_COLUMNS:
                raise ValueError(f"{self.path}: not a reference log-prob cache (columns {list(table.columns)})")
            self.values = dict(zip(table["key"], table["log_prob"].astype(float), strict=True))
        self.loaded = len(self.values)

    def save(self) -> None:
        """Write atomically (temporary file beside the target, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pd.DataFrame({"key": list(self.values), "log_prob": list(self.values.values())}).to_parquet(temporary)
        os.replace(temporary, self.path)


def computation_settings(trainer: DPOTrainer, frozen_weights_dtype: str) -> dict[str, Any]:
    """Settings of the trainer that change a reference log-prob (part of the reference key)."""
    args = trainer.args
    return {
        "frozen_weights_dtype": frozen_weights_dtype,
        "bf16": bool(args.bf16),
        "fp16": bool(args.fp16),
        "max_length": args.max_length,
        "truncation_mode": args.truncation_mode,
        "model_dtype": str(next(trainer.model.parameters()).dtype),
    }


def _missing_log_probs(trainer: DPOTrainer, dataset: Dataset, batch_size: int) -> tuple[list[float], list[float]]:
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=trainer.data_collator, shuffle=False)
    device = trainer.accelerator.device
    chosen, rejected = [], []
    model = trainer.model
    was_training = model.training
    model.eval()
    try:
        for batch in loader:
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            chosen_logps, rejected_logps = trainer.compute_ref_log_probs(model, batch)
            chosen.extend(chosen_logps.float().cpu().tolist())
            rejected.extend(rejected_logps.float().cpu().tolist())
    finally:
        model.train(was_training)
    return chosen, rejected


def attach_reference_log_probs(trainer: DPOTrainer, cache: ReferenceLogProbCache) -> dict[str, float]:
    """Give the trainer's datasets ``ref_chosen_logps``/``ref_rejected_logps`` from the cache, computing the missing
    ones (with the adapter disabled, exactly as TRL's reference forward), and switch the trainer to read them.

    Call before training starts, inside the run's scoring context (``speed_context``). Returns counts and timing.
    """
    if trainer.ld_alpha is not None:
        raise ValueError("The reference log-prob cache stores plain sums; it does not cover ld_alpha weighting")
    started, cpu_started = time.perf_counter(), time.process_time()
    stats = {"reference_cache_hits": 0, "reference_cache_computed": 0}
    batch_size = trainer.args.precompute_ref_batch_size or trainer.args.per_device_train_batch_size
    for name in ("train_dataset", "eval_dataset"):
        dataset = getattr(trainer, name)
        if dataset is None:
            continue
        if not isinstance(dataset, Dataset):
            raise ValueError(f"The reference log-prob cache needs a map-style {name}, got {type(dataset).__name__}")
        rows = dataset.select_columns(["prompt_ids", "chosen_ids", "rejected_ids"]).to_dict()
        keys = [
            (sequence_key(p, c), sequence_key(p, r))
            for p, c, r in zip(rows["prompt_ids"], rows["chosen_ids"], rows["rejected_ids"], strict=True)
        ]
        missing = [i for i, (c, r) in enumerate(keys) if c not in cache.values or r not in cache.values]
        if missing:
            chosen, rejected = _missing_log_probs(trainer, dataset.select(missing), batch_size)
            for i, chosen_logp, rejected_logp in zip(missing, chosen, rejected, strict=True):
                cache.values.setdefault(keys[i][0], chosen_logp)
                cache.values.setdefault(keys[i][1], rejected_logp)
        stats["reference_cache_hits"] += 2 * (len(keys) - len(missing))
        stats["reference_cache_computed"] += 2 * len(missing)
        dataset = dataset.add_column("ref_chosen_logps", [cache.values[c] for c, _ in keys])
        setattr(trainer, name, dataset.add_column("ref_rejected_logps", [cache.values[r] for _, r in keys]))
    if stats["reference_cache_computed"] and is_main_process():
        cache.save()
    trainer.precompute_ref_logps = True
    stats["reference_precompute_s"] = time.perf_counter() - started
    stats["reference_precompute_cpu_s"] = time.process_time() - cpu_started
    logger.info(
        "Reference log-probs: %d from the cache %s, %d computed (%.1f s)",
        stats["reference_cache_hits"],
        cache.path,
        stats["reference_cache_computed"],
        stats["reference_precompute_s"],
    )
    return stats
