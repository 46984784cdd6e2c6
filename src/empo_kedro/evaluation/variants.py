"""Base, SFT and DPO from one copy of the base weights, by switching LoRA adapters.

The DPO adapter was trained on the SFT-merged weights. LoRA deltas add up, so base + SFT delta + DPO delta (both
adapters active, unmerged) is the DPO model up to float rounding, and "adapters disabled" is the base model. This
lets evaluation compare all three (and compute KL to the base) without ever holding two models in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from empo_kedro.io.atomic import file_sha256
from empo_kedro.io.model_datasets import ADAPTER_METADATA, ADAPTER_WEIGHTS
from empo_kedro.training.base_model import PROVENANCE_FILE
from empo_kedro.training.config import torch_dtype
from empo_kedro.training.modeling import load_causal_lm
from empo_kedro.training.precision import resolve_dtype_switch

BASE, SFT, DPO = "base", "sft", "dpo"
VARIANTS = (BASE, SFT, DPO)


class VariantModel:
    """One base model with the SFT and DPO adapters loaded side by side; ``use(variant)`` selects one.

    ``autocast_dtype`` (e.g. ``bfloat16``) runs everything inside ``use`` under autocast: on AMX CPUs and GPUs
    evaluation forwards are several times faster, and every variant is scored with the same numerics.
    """

    def __init__(
        self,
        base_path: Path | str,
        sft_adapter: Path | str,
        dpo_adapter: Path | str | None,
        model_params: Mapping[str, Any],
        autocast_dtype: str | None = None,
        extra_adapters: Mapping[str, Path | str] | None = None,
        reply_cache: Any = None,
    ) -> None:
        base = load_causal_lm(base_path, model_params)
        autocast_name = resolve_dtype_switch(autocast_dtype, next(base.parameters()).device)
        self.autocast_dtype = torch_dtype(autocast_name) if autocast_name else None
        # Where generated replies are kept per variant (``cached``/``save_cached``, e.g. the sweep's TrialStore).
        self.reply_cache = reply_cache
        self.base_path = Path(base_path)
        self.adapter_paths = {SFT: Path(sft_adapter)}
        self.model = PeftModel.from_pretrained(base, str(sft_adapter), adapter_name=SFT)
        self.variants = [BASE, SFT]
        # Further adapters trained on the SFT-merged weights (sweep trials, ablations) stack on SFT like DPO does.
        stacked = [*([(DPO, dpo_adapter)] if dpo_adapter is not None else []), *(extra_adapters or {}).items()]
        for name, path in stacked:
            if name in self.variants:
                raise ValueError(f"Adapter name '{name}' is taken: variants are {self.variants}")
            self.model.load_adapter(str(path), adapter_name=name)
            self.variants.append(name)
            self.adapter_paths[name] = Path(path)
        self.model.eval()

    def identity(self, variant: str) -> list[str]:
        """What the variant's weights are: the base model's recorded file hashes and each active adapter's sha256."""
        base = json.loads((self.base_path / PROVENANCE_FILE).read_text()).get("files", {})
        parts = [hashlib.sha256(json.dumps(base, sort_keys=True).encode()).hexdigest()]
        for name in [] if variant == BASE else [SFT] if variant == SFT else [SFT, variant]:
            path = self.adapter_paths[name]
            metadata = json.loads((path / ADAPTER_METADATA).read_text()) if (path / ADAPTER_METADATA).is_file() else {}
            parts.append(metadata.get("weights_sha256") or file_sha256(path / ADAPTER_WEIGHTS))
        return parts

    @contextlib.contextmanager
    def use(self, variant: str) -> Iterator[Any]:
        """Yield the model acting as ``variant`` (the same object, with the right adapters switched on)."""
        if variant not in self.variants:
            raise ValueError(f"Unknown model variant '{variant}': expected one of {self.variants}")
        with contextlib.ExitStack() as stack:
            if self.autocast_dtype is not None:
                device_type = next(self.model.parameters()).device.type
                stack.enter_context(torch.autocast(device_type, dtype=self.autocast_dtype))
            if variant == BASE:
                stack.enter_context(self.model.disable_adapter())
            else:
                self.model.base_model.set_adapter([SFT] if variant == SFT else [SFT, variant])
                for parameter in self.model.parameters():
                    parameter.requires_grad_(False)
            yield self.model
