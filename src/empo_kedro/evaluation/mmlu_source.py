"""Which MMLU to run: lm-eval's hub task when the dataset hub answers, else the configured offline fallback.

Why: the paper's MMLU is the full 57-subject benchmark (lm-eval's ``mmlu`` task, 5-shot), which lm-eval downloads
from the Hugging Face hub; the project's machines have no hub, where the shipped dev questions (``tasks: local``)
are what can run. ``evaluation.retention.mmlu.offline_fallback`` (e.g. ``{tasks: local, num_fewshot: 0}``) says what
to run instead when the hub cannot be reached; without it a hub task is run as configured (and fails offline).
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

FALLBACK_KEY = "offline_fallback"
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_reachable(timeout_s: float = 5.0) -> bool:
    """False when the hub is switched off (``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``) or does not answer."""
    if any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in OFFLINE_VARIABLES):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    try:
        with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s):
            return True
    except OSError:
        return False


def mmlu_run_settings(mmlu: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``run_mmlu``: the configured task, or the fallback when the hub is out of reach."""
    settings = {key: value for key, value in mmlu.items() if key != FALLBACK_KEY}
    fallback = mmlu.get(FALLBACK_KEY)
    if not fallback or settings.get("tasks", "local") == "local" or hub_reachable():
        return settings
    logger.warning(
        "MMLU: the dataset hub is not reachable, so %s runs instead of tasks=%s (%s)",
        dict(fallback),
        settings.get("tasks"),
        FALLBACK_KEY,
    )
    return {**settings, **dict(fallback)}
